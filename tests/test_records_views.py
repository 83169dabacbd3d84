"""The tablet pages through the Flask test client with CSRF protection on: forms write
through the services, bad input comes back beside its field with nothing written, and
pages are guarded by role and organization."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from traceapp import db
from traceapp.ledger.store import LedgerEntry
from traceapp.records.models import Batch, Certification, ComplianceCertificate, Inspection

PASSWORD = "traceapp-demo"


def ledger_size(app) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(LedgerEntry))


def count(app, model) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model))


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html).group(1)


def log_in(client, username: str) -> str:
    """Log in through the form; return a CSRF token for later posts."""
    page = client.get("/login")
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302 and response.location == "/home"
    return csrf_token(client.get("/home").text)


BATCH_FORM = {"product": "黄桃", "category": "fruit", "quantity": "300", "unit": "kg", "harvest_date": "2026-08-01",
              "origin_region": "430225", "base": "鹿原镇九龙村基地"}


def test_pages_need_a_login(demo):
    client = demo.test_client()
    response = client.get("/batches/new")
    assert response.status_code == 302 and "/login" in response.location


def test_a_producer_registers_a_batch_through_the_form_and_gets_its_qr_page(demo):
    client = demo.test_client()
    token = log_in(client, "luyuan")
    before = ledger_size(demo)
    response = client.post("/batches/new", data={"csrf_token": token, **BATCH_FORM,
                                                 "product": "<script>alert(1)</script>黄桃"})
    assert response.status_code == 303
    page = client.get(response.location)
    code = re.search(r"/batches/([A-Z0-9]{13})", response.location).group(1)
    assert f'src="/qr/{code}.svg"' in page.text and "批次已保存" in page.text
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;黄桃" in page.text
    assert ledger_size(demo) == before + 1
    assert client.get(f"/qr/{code}.svg").mimetype == "image/svg+xml"
    assert code in client.get("/home").text


def test_bad_input_comes_back_beside_its_field_and_writes_nothing(demo):
    client = demo.test_client()
    token = log_in(client, "luyuan")
    before, batches = ledger_size(demo), count(demo, Batch)
    response = client.post("/batches/new?lang=en", data={"csrf_token": token, **BATCH_FORM, "quantity": "0",
                                                         "pack_date": "2026-07-01", "inputs-0-code": "ZZZZZZZZZZZZZ",
                                                         "inputs-0-quantity": "5"})
    assert response.status_code == 400
    assert re.search(r'id="e-quantity" role="alert">Quantity must be greater than 0', response.text)
    assert 'id="e-pack_date"' in response.text and "inputs[0].code" not in response.text.split("<main>")[0]
    assert 'value="鹿原镇九龙村基地"' in response.text  # the typed values are kept
    assert ledger_size(demo) == before and count(demo, Batch) == batches


def test_a_post_without_the_csrf_token_is_refused_and_writes_nothing(demo):
    client = demo.test_client()
    log_in(client, "luyuan")
    before = ledger_size(demo)
    response = client.post("/batches/new", data=BATCH_FORM)
    assert response.status_code == 400 and "CSRF" in response.text
    assert ledger_size(demo) == before


def test_roles_and_organizations_guard_the_pages(demo):
    client = demo.test_client()
    token = log_in(client, "inspector")
    assert client.get("/batches/new").status_code == 403
    with demo.app_context():
        other = db.session().scalar(select(Batch.code).order_by(Batch.id))
    producer = demo.test_client()
    token = log_in(producer, "teaco")  # the tea company does not own the peach batches
    assert producer.get(f"/batches/{other}/correct").status_code == 403
    before = ledger_size(demo)
    response = producer.post(f"/batches/{other}/compliance-certificates/new",
                             data={"csrf_token": token, "basis": "quality_control", "quantity": "1",
                                   "contact": "1"})
    assert response.status_code == 403 and ledger_size(demo) == before


def test_an_inspector_records_an_inspection_with_items(demo):
    client = demo.test_client()
    token = log_in(client, "inspector")
    with demo.app_context():
        code = db.session().scalar(select(Batch.code).order_by(Batch.id))
    inspections = count(demo, Inspection)
    data = {"csrf_token": token, "batch": code.lower(), "inspected_on": "2026-08-10", "report_no": "ZZJC-T-1",
            "verdict": "pass", "items-0-name": "毒死蜱", "items-0-method": "GB 23200.113", "items-0-value": "0.01",
            "items-0-limit": "0.02", "items-0-unit": "mg/kg", "items-0-verdict": "fail"}
    refused = client.post("/inspections/new", data=data)
    assert refused.status_code == 400 and 'id="e-verdict"' in refused.text
    assert count(demo, Inspection) == inspections
    response = client.post("/inspections/new", data={**data, "items-0-verdict": "pass"})
    assert response.status_code == 303 and response.location == f"/batches/{code}"
    assert count(demo, Inspection) == inspections + 1
    assert "ZZJC-T-1" in client.get(response.location).text


def test_a_producer_issues_prints_and_voids_a_compliance_certificate(demo):
    client = demo.test_client()
    token = log_in(client, "luyuan")
    created = client.post("/batches/new", data={"csrf_token": token, **BATCH_FORM})
    code = created.location.split("/batches/")[1].split("?")[0]
    response = client.post(f"/batches/{code}/compliance-certificates/new",
                           data={"csrf_token": token, "basis": "self_test", "quantity": "100", "promiser": "producer",
                                 "issued_on": "2026-08-02", "contact": "0731-1"})
    assert response.status_code == 400 and 'id="e-inspection"' in response.text
    response = client.post(f"/batches/{code}/compliance-certificates/new",
                           data={"csrf_token": token, "basis": "quality_control", "quantity": "100",
                                 "promiser": "producer", "issued_on": "2026-08-02", "contact": "0731-1"})
    assert response.status_code == 303
    cert_code = response.location.rsplit("/", 1)[1]
    for size in ("a5", "100x70", "80x60"):
        page = client.get(f"/compliance-certificates/{cert_code}?size={size}")
        assert page.status_code == 200 and f"size-{size}" in page.text and f"/qr/{code}.svg" in page.text
        assert "未使用禁用农药" in page.text
    assert client.get(f"/compliance-certificates/{cert_code}?size=a4").status_code == 400
    response = client.post(f"/compliance-certificates/{cert_code}/void",
                           data={"csrf_token": token, "reason": "打印错误", "confirm": "1"})
    assert response.status_code == 303
    with demo.app_context():
        cert = db.session().scalar(select(ComplianceCertificate).where(ComplianceCertificate.code == cert_code))
        assert cert.void_reason == "打印错误" and cert.voided_on is not None
    assert "作废" in client.get(f"/compliance-certificates/{cert_code}").text


def test_a_correction_through_the_form_shows_in_the_history(demo):
    client = demo.test_client()
    token = log_in(client, "luyuan")
    created = client.post("/batches/new", data={"csrf_token": token, **BATCH_FORM})
    code = created.location.split("/batches/")[1].split("?")[0]
    form = client.get(f"/batches/{code}/correct")
    assert 'value="300"' in form.text
    no_reason = client.post(f"/batches/{code}/correct", data={"csrf_token": token, **BATCH_FORM, "quantity": "280"})
    assert no_reason.status_code == 400 and 'id="e-reason"' in no_reason.text
    response = client.post(f"/batches/{code}/correct",
                           data={"csrf_token": token, **BATCH_FORM, "quantity": "280", "reason": "复秤"})
    assert response.status_code == 303
    page = client.get(f"/batches/{code}").text
    assert "<del>300</del>" in page and "<ins>280</ins>" in page and "复秤" in page


def test_a_certifier_records_and_revokes_a_certificate(demo):
    client = demo.test_client()
    token = log_in(client, "certifier")
    with demo.app_context():
        holder = db.session().scalar(select(Batch.organization_id).order_by(Batch.id))
    data = {"csrf_token": token, "kind": "green_food", "number": "GF123", "holder": str(holder),
            "products": "黄桃，桃子", "valid_from": "2026-01-01", "valid_to": "2028-12-31"}
    refused = client.post("/certifications/new", data=data)
    assert refused.status_code == 400 and "GF" in refused.text and 'id="e-number"' in refused.text
    phased_out = client.post("/certifications/new", data={**data, "kind": "pollution_free", "number": "WNCR-1"})
    assert phased_out.status_code == 400 and 'id="e-kind"' in phased_out.text and "无公害" in phased_out.text
    organic = client.post("/certifications/new", data={**data, "kind": "organic", "number": "12345678901234567"})
    assert organic.status_code == 303
    response = client.post("/certifications/new", data={**data, "number": "GF430225269999"})
    assert response.status_code == 303
    with demo.app_context():
        cert = db.session().scalar(select(Certification).where(Certification.number == "GF430225269999"))
        assert cert.products == ["黄桃", "桃子"]
    response = client.post(f"/certifications/{cert.id}/revoke", data={"csrf_token": token, "reason": "抽检不合格",
                                                                       "confirm": "1"})
    assert response.status_code == 303
    listing = client.get("/certifications").text
    assert "已撤销" in listing and "抽检不合格" in listing

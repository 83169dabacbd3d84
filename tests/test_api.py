"""The JSON API under /api/v1 through the test client: every endpoint on its happy path, every
class of error (and that an error writes nothing), the request's language, Idempotency-Key,
hostile text stored verbatim, and the OpenAPI document. SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest

from tests.factories import (
    batch_data,
    certification_data,
    compliance_data,
    count,
    fetch,
    inspection_data,
    item,
    make_batch,
    make_certification,
    make_compliance,
    make_inspection,
    make_world,
    org_data,
    projection_differences,
)
from traceapp import clock, db
from traceapp.auth.services import issue_token
from traceapp.ledger.store import LedgerEntry
from traceapp.records.compliance import PROMISES
from traceapp.records.models import Batch, Certification, ComplianceCertificate, Inspection, Organization

API = "/api/v1"
USERS = ("producer", "rival", "inspector", "certifier", "admin", "regulator")


@pytest.fixture
def world(app):
    """Users with API tokens, a batch of 1000 kg with a passed and a failed inspection, a 合格证 for
    100 kg of it, and a green food certificate held by its producer."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["tokens"] = {name: issue_token(s, world[name].username) for name in USERS}
        batch = world["batch"] = make_batch(s, world["producer"], quantity="1000")
        world["passed"] = make_inspection(s, world["inspector"], batch)
        world["failed"] = make_inspection(s, world["inspector"], batch, verdict="fail",
                                          items=[item(value="0.35", verdict="fail")])
        world["compliance"] = make_compliance(s, world["producer"], batch)
        world["cert"] = make_certification(s, world["certifier"], world["producer_org"].id)
        return world


def auth(world, who: str, **headers) -> dict:
    return {"Authorization": f"Bearer {world['tokens'][who]}", **headers}


def ledger_size(app) -> int:
    with app.app_context():
        return count(LedgerEntry)


def rows(app, model) -> int:
    with app.app_context():
        return count(model)


def assert_error(response, status: int, code: str, field: str | None = None, case=None) -> dict:
    assert response.status_code == status, (case, response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json", case
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"], (case, error)
    if field is not None:
        assert field in error["fields"], (case, error)
    return error


# -- happy paths ---------------------------------------------------------------------------

def test_organizations_are_registered_by_an_admin_listed_and_read(app, client, world):
    data = org_data(name="炎陵县鹿原镇黄桃合作社")
    response = client.post(f"{API}/organizations", json=data, headers=auth(world, "admin"))
    assert response.status_code == 201, response.get_json()
    org = response.get_json()
    assert (org["name"], org["kind"], org["uscc"], org["region"], org["demo"]) == (
        "炎陵县鹿原镇黄桃合作社", "cooperative", data["uscc"], "430225", False)
    assert "炎陵县" in org["region_name"] and isinstance(org["ledger_seq"], int)
    assert client.get(f"{API}/organizations/{org['id']}", headers=auth(world, "regulator")).get_json() == org
    # Another organization's staff do not get its contact and address: they may reach a person.
    assert client.get(f"{API}/organizations/{org['id']}", headers=auth(world, "producer")).get_json() == {
        **org, "address": "", "contact": ""}
    listed = client.get(f"{API}/organizations?kind=cooperative", headers=auth(world, "regulator"))
    assert listed.status_code == 200
    assert [o["id"] for o in listed.get_json()["items"]] == [world["producer_org"].id, org["id"]]
    page = client.get(f"{API}/organizations?limit=2&offset=1", headers=auth(world, "regulator")).get_json()
    assert [o["id"] for o in page["items"]] == [world["rival_org"].id, world["inspector_org"].id]
    with app.app_context():
        assert projection_differences() == []


def test_a_batch_is_registered_listed_and_read_with_its_records(app, client, world):
    before = ledger_size(app)
    response = client.post(f"{API}/batches", json=batch_data(quantity="500", gtin="06901234567892", lot="A1"),
                           headers=auth(world, "producer"))
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTWXYZ]{13}", created["code"])
    assert created["url"] == f"http://traceapp.test/t/{created['code']}"
    assert (created["quantity"], created["unit"], created["organization"], created["gtin"], created["lot"]) == (
        "500", "kg", f"org:{world['producer_org'].id}", "06901234567892", "A1")
    assert created["registered_by"] == world["producer"].username and created["inputs"] == []
    assert ledger_size(app) == before + 1

    listed = client.get(f"{API}/batches?organization={world['producer_org'].id}", headers=auth(world, "regulator"))
    assert [b["code"] for b in listed.get_json()["items"]] == [created["code"], world["batch"].code]
    assert client.get(f"{API}/batches?product=绿茶", headers=auth(world, "regulator")).get_json() == {"items": []}

    detail = client.get(f"{API}/batches/{world['batch'].code.lower()}", headers=auth(world, "inspector"))
    assert detail.status_code == 200
    body = detail.get_json()
    assert body["code"] == world["batch"].code and body["producer"]["id"] == world["producer_org"].id
    assert [i["id"] for i in body["inspections"]] == [world["passed"].id, world["failed"].id]
    assert [(c["id"], c["status"]) for c in body["certifications"]] == [(world["cert"].id, "valid")]
    assert [c["code"] for c in body["compliance_certificates"]] == [world["compliance"].code]
    assert body["corrections"] == []


def test_an_inspection_is_recorded(app, client, world):
    data = inspection_data(world["batch"].code.lower(), report_no="ZZJC-API-1")
    response = client.post(f"{API}/inspections", json=data, headers=auth(world, "inspector"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["batch"], body["body"], body["report_no"], body["verdict"], body["inspected_on"]) == (
        world["batch"].code, f"org:{world['inspector_org'].id}", "ZZJC-API-1", "pass", "2026-08-03")
    assert body["items"][1]["name"] == "克百威" and body["items"][1]["limit"] == ""
    assert rows(app, Inspection) == 3


def test_a_certificate_is_recorded_listed_read_and_revoked(app, client, world):
    holder = world["producer_org"].id
    response = client.post(f"{API}/certifications", json=certification_data(holder, number="GF430225269999"),
                           headers=auth(world, "certifier"))
    assert response.status_code == 201, response.get_json()
    cert = response.get_json()
    assert (cert["kind"], cert["number"], cert["holder"], cert["issuer"], cert["revoked_on"]) == (
        "green_food", "GF430225269999", f"org:{holder}", "certifier组织", None)
    listed = client.get(f"{API}/certifications?holder={holder}", headers=auth(world, "regulator")).get_json()
    assert [c["id"] for c in listed["items"]] == [world["cert"].id, cert["id"]]
    assert client.get(f"{API}/certifications?holder={world['rival_org'].id}",
                      headers=auth(world, "regulator")).get_json() == {"items": []}
    assert client.get(f"{API}/certifications/{cert['id']}", headers=auth(world, "producer")).get_json() == cert

    before = ledger_size(app)
    revoked = client.post(f"{API}/certifications/{cert['id']}/revoke", json={"reason": "抽检不合格"},
                          headers=auth(world, "certifier"))
    assert revoked.status_code == 200, revoked.get_json()
    assert (revoked.get_json()["revoked_on"], revoked.get_json()["revoke_reason"]) == (
        clock.today().isoformat(), "抽检不合格")
    assert ledger_size(app) == before + 1
    shown = client.get(f"{API}/batches/{world['batch'].code}", headers=auth(world, "regulator")).get_json()
    assert {c["id"]: c["status"] for c in shown["certifications"]} == {world["cert"].id: "valid",
                                                                        cert["id"]: "revoked"}


def test_a_compliance_certificate_is_issued_listed_and_voided(app, client, world):
    code = world["batch"].code
    data = compliance_data(basis="self_test", inspection=world["passed"].id, quantity="900")
    response = client.post(f"{API}/batches/{code}/compliance-certificates", json=data,
                           headers=auth(world, "producer"))
    assert response.status_code == 201, response.get_json()
    cert = response.get_json()
    assert (cert["batch"], cert["basis"], cert["inspection"], cert["quantity"], cert["unit"], cert["status"]) == (
        code, "self_test", f"inspection:{world['passed'].id}", "900", "kg", "valid")
    assert cert["promise"] == PROMISES["producer"] and cert["voided_on"] is None
    listed = client.get(f"{API}/batches/{code}/compliance-certificates", headers=auth(world, "regulator"))
    assert [c["code"] for c in listed.get_json()["items"]] == [world["compliance"].code, cert["code"]]

    voided = client.post(f"{API}/batches/{code}/compliance-certificates/{cert['code'].lower()}/void",
                         json={"reason": "数量开错"}, headers=auth(world, "producer"))
    assert voided.status_code == 200, voided.get_json()
    assert (voided.get_json()["status"], voided.get_json()["voided_on"], voided.get_json()["void_reason"]) == (
        "voided", clock.today().isoformat(), "数量开错")
    with app.app_context():
        assert projection_differences() == []


def test_a_batch_is_corrected(app, client, world):
    code = world["batch"].code
    response = client.post(f"{API}/batches/{code}/corrections", json={"fields": {"quantity": "950"},
                                                                       "reason": "复核称重"},
                           headers=auth(world, "producer"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["fields"], body["previous"], body["reason"], body["corrected_by"]) == (
        {"quantity": "950"}, {"quantity": "1000"}, "复核称重", world["producer"].username)
    assert body["corrected_at"].endswith("Z")
    detail = client.get(f"{API}/batches/{code}", headers=auth(world, "regulator")).get_json()
    assert detail["quantity"] == "950" and detail["corrections"] == [body]
    with app.app_context():
        assert projection_differences() == []


# -- errors ----------------------------------------------------------------------------------

def concrete_routes(app, world) -> list[tuple[str, str]]:
    """Every (method, path) of the API blueprint but the OpenAPI document, with real ids filled in."""
    values = {"code": world["batch"].code, "org_id": str(world["producer_org"].id), "cert_id": str(world["cert"].id),
              "cert_code": world["compliance"].code, "slug": "no-such-brand", "license_id": "1",
              "name": "failed_inspection", "attachment_id": "1", "seq": "0"}
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi":
            path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], rule.rule)
            routes.extend((method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return routes


def test_every_endpoint_refuses_a_missing_or_unknown_token(app, client, world):
    routes = concrete_routes(app, world)
    assert len(routes) == 37
    before = ledger_size(app)
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer ta_nonsense"}, {"Authorization": world["tokens"]["admin"]},
                        {"Authorization": f"Basic {world['tokens']['admin']}"}):
            response = client.open(path, method=method, json={"reason": "x"}, headers=headers)
            assert_error(response, 401, "unauthorized", case=(method, path, headers))
            assert response.headers["WWW-Authenticate"].startswith("Bearer"), (method, path)
            assert ledger_size(app) == before, (method, path)


def test_an_inactive_users_token_is_refused(app, client, world):
    from traceapp.auth.models import User

    with app.app_context(), db.write_session() as s:
        s.get(User, world["producer"].id).active = False
    assert_error(client.get(f"{API}/batches", headers=auth(world, "producer")), 401, "unauthorized")


def test_wrong_roles_and_other_organizations_are_forbidden(app, client, world):
    code, cert_code = world["batch"].code, world["compliance"].code
    cases = [
        ("producer", "/organizations", org_data()),
        ("inspector", "/batches", batch_data()),
        ("producer", "/batches", batch_data(organization=world["rival_org"].id)),
        ("producer", "/inspections", inspection_data(code)),
        ("inspector", "/inspections", inspection_data(code, body=world["producer_org"].id)),
        ("inspector", "/certifications", certification_data(world["producer_org"].id)),
        ("producer", f"/certifications/{world['cert'].id}/revoke", {"reason": "x"}),
        ("certifier", f"/batches/{code}/compliance-certificates", compliance_data()),
        ("rival", f"/batches/{code}/compliance-certificates", compliance_data()),
        ("inspector", f"/batches/{code}/compliance-certificates/{cert_code}/void", {"reason": "x"}),
        ("rival", f"/batches/{code}/compliance-certificates/{cert_code}/void", {"reason": "x"}),
        ("regulator", f"/batches/{code}/corrections", {"fields": {"quantity": "900"}, "reason": "x"}),
        ("rival", f"/batches/{code}/corrections", {"fields": {"quantity": "900"}, "reason": "x"}),
    ]
    before, batches = ledger_size(app), rows(app, Batch)
    for who, path, body in cases:
        response = client.post(API + path, json=body, headers=auth(world, who))
        assert_error(response, 403, "forbidden", case=(who, path))
        assert ledger_size(app) == before, (who, path)
    assert rows(app, Batch) == batches
    with app.app_context():
        assert fetch(Certification, world["cert"].id).revoked_on is None


def test_unknown_records_are_404(app, client, world):
    code, cert_code = world["batch"].code, world["compliance"].code
    unknown = "ZZZZZZZZZZZZZ"
    cases = [
        ("GET", f"/batches/{unknown}", None), ("GET", "/batches/not-a-code", None),
        ("GET", f"/batches/{unknown}/compliance-certificates", None),
        ("GET", "/organizations/999999", None), ("GET", "/certifications/999999", None),
        ("POST", f"/batches/{unknown}/corrections", {"fields": {"quantity": "900"}, "reason": "x"}),
        ("POST", f"/batches/{unknown}/compliance-certificates", compliance_data()),
        ("POST", f"/batches/{unknown}/compliance-certificates/{cert_code}/void", {"reason": "x"}),
        ("POST", f"/batches/{code}/compliance-certificates/{unknown}/void", {"reason": "x"}),
        ("POST", "/certifications/999999/revoke", {"reason": "x"}),
        ("GET", "/organizations/99999999999", None), ("POST", "/certifications/99999999999/revoke", {"reason": "x"}),
    ]
    before = ledger_size(app)
    for method, path, body in cases:
        response = client.open(API + path, method=method, json=body, headers=auth(world, "admin"))
        assert_error(response, 404, "not_found", case=(method, path))
        assert ledger_size(app) == before, (method, path)


def test_a_body_that_is_not_a_json_object_is_400_naming_body(app, client, world):
    writes = [(method, path) for method, path in concrete_routes(app, world) if method in ("POST", "PATCH")]
    assert len(writes) == 22
    before = ledger_size(app)
    for method, path in writes:
        for kwargs in ({"data": "{not json", "content_type": "application/json"}, {"json": ["reason"]},
                       {"json": "reason"}, {"data": "reason=x", "content_type": "application/x-www-form-urlencoded"},
                       {}):
            response = client.open(path, method=method, headers=auth(world, "admin"), **kwargs)
            assert_error(response, 400, "invalid_field", "body", case=(path, kwargs))
            assert ledger_size(app) == before, (path, kwargs)


def test_missing_and_malformed_fields_are_400_naming_them(app, client, world):
    code, cert_code = world["batch"].code, world["compliance"].code
    cases = [
        ("admin", "/organizations", org_data(name=""), "name"),
        ("admin", "/organizations", org_data(uscc="91430225MA4L000000"), "uscc"),
        ("producer", "/batches", {k: v for k, v in batch_data().items() if k != "product"}, "product"),
        ("producer", "/batches", batch_data(quantity="0"), "quantity"),
        ("producer", "/batches", batch_data(quantity="-5"), "quantity"),
        ("producer", "/batches", batch_data(quantity=5.5), "quantity"),
        ("producer", "/batches", batch_data(harvest_date="2026-08-03", pack_date="2026-08-02"), "pack_date"),
        ("producer", "/batches", batch_data(harvest_date="01/08/2026"), "harvest_date"),
        ("producer", "/batches", batch_data(quantity="1", inputs=[{"code": code, "quantity": "1000.001"}]),
         "inputs[0].quantity"),
        ("inspector", "/inspections", inspection_data(code, items=[]), "items"),
        ("inspector", "/inspections", inspection_data(code, inspected_on="2026-07-01"), "inspected_on"),
        ("inspector", "/inspections", inspection_data("ZZZZZZZZZZZZZ"), "batch"),
        ("certifier", "/certifications", certification_data(world["producer_org"].id, valid_to="2026-02-28"),
         "valid_to"),
        ("certifier", "/certifications", certification_data(world["producer_org"].id, number="GF1234"), "number"),
        ("certifier", "/certifications", certification_data(world["producer_org"].id, number="GF123"), "number"),
        ("certifier", "/certifications", certification_data(world["producer_org"].id, kind="organic",
                                                            number="1234567890123456"), "number"),
        ("certifier", "/certifications", certification_data(world["producer_org"].id, kind="pollution_free",
                                                            number="WNCR-HN-2026-0001"), "kind"),
        ("certifier", f"/certifications/{world['cert'].id}/revoke", {}, "reason"),
        ("producer", f"/batches/{code}/compliance-certificates", compliance_data(quantity="900.001"), "quantity"),
        ("producer", f"/batches/{code}/compliance-certificates", compliance_data(quantity="0"), "quantity"),
        ("producer", f"/batches/{code}/compliance-certificates", compliance_data(basis="self_test"), "inspection"),
        ("producer", f"/batches/{code}/compliance-certificates/{cert_code}/void", {"reason": ""}, "reason"),
        ("producer", f"/batches/{code}/corrections", {"fields": {}, "reason": "x"}, "fields"),
        ("producer", f"/batches/{code}/corrections", {"fields": {"unit": "t"}, "reason": "x"}, "fields"),
        ("producer", f"/batches/{code}/corrections", {"fields": {"quantity": "99.999"}, "reason": "x"}, "quantity"),
        ("producer", f"/batches/{code}/corrections", {"fields": {"quantity": "1000"}, "reason": "x"}, "fields"),
    ]
    before, batches = ledger_size(app), rows(app, Batch)
    for who, path, body, field in cases:
        response = client.post(API + path, json=body, headers=auth(world, who))
        assert_error(response, 400, "invalid_input", field, case=(who, path, body))
        assert ledger_size(app) == before, (who, path, body)
    assert rows(app, Batch) == batches
    for path, param in (("/batches?limit=0", "limit"), ("/batches?offset=-1", "offset"),
                        ("/batches?organization=abc", "organization"), ("/certifications?holder=0", "holder")):
        response = client.get(API + path, headers=auth(world, "regulator"))
        assert_error(response, 400, "invalid_field", param, case=path)


def test_duplicates_are_409_and_a_failed_inspection_422(app, client, world):
    code, cert_code = world["batch"].code, world["compliance"].code
    with app.app_context(), db.write_session() as s:
        make_batch(s, world["producer"], gtin="06901234567892", lot="A1")
        uscc = world["rival_org"].uscc
    cases = [
        ("admin", "/organizations", org_data(uscc=uscc), "uscc"),
        ("producer", "/batches", batch_data(gtin="06901234567892", lot="A1"), "lot"),
        ("inspector", "/inspections", inspection_data(code, report_no=world["passed"].report_no), "report_no"),
        ("certifier", "/certifications", certification_data(world["rival_org"].id, number=world["cert"].number),
         "number"),
        ("producer", f"/batches/{code}/corrections", {"fields": {"gtin": "06901234567892", "lot": "A1"},
                                                      "reason": "x"}, "lot"),
    ]
    assert client.post(f"{API}/certifications/{world['cert'].id}/revoke", json={"reason": "x"},
                       headers=auth(world, "certifier")).status_code == 200
    assert client.post(f"{API}/batches/{code}/compliance-certificates/{cert_code}/void", json={"reason": "x"},
                       headers=auth(world, "producer")).status_code == 200
    cases += [("certifier", f"/certifications/{world['cert'].id}/revoke", {"reason": "again"}, None),
              ("producer", f"/batches/{code}/compliance-certificates/{cert_code}/void", {"reason": "again"}, None)]
    before, batches, orgs = ledger_size(app), rows(app, Batch), rows(app, Organization)
    for who, path, body, field in cases:
        response = client.post(API + path, json=body, headers=auth(world, who))
        assert_error(response, 409, "conflict", field, case=(who, path))
        assert ledger_size(app) == before, (who, path)
    response = client.post(f"{API}/batches/{code}/compliance-certificates", headers=auth(world, "producer"),
                           json=compliance_data(basis="commissioned_test", inspection=world["failed"].id))
    assert_error(response, 422, "rejected", "inspection")
    assert ledger_size(app) == before and rows(app, Batch) == batches and rows(app, Organization) == orgs
    assert rows(app, ComplianceCertificate) == 1


def test_messages_are_in_the_requests_language(app, client, world):
    data = {k: v for k, v in batch_data().items() if k != "product"}
    before = ledger_size(app)
    english = client.post(f"{API}/batches", json=data, headers=auth(world, "producer", **{"Accept-Language": "en"}))
    assert assert_error(english, 400, "invalid_input", "product")["message"] == "Product name is required."
    chinese = client.post(f"{API}/batches", json=data, headers=auth(world, "producer"))
    assert assert_error(chinese, 400, "invalid_input", "product")["message"] == "产品名称是必填项。"
    assert chinese.headers["Content-Language"] == "zh-CN" and english.headers["Content-Language"] == "en"
    preferred = client.post(f"{API}/batches", json=data,
                            headers=auth(world, "producer", **{"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"}))
    assert preferred.get_json()["error"]["fields"]["product"] == "Product name is required."
    assert ledger_size(app) == before


# -- Idempotency-Key ---------------------------------------------------------------------

def test_a_retry_with_the_same_idempotency_key_replays_the_first_answer(app, client, world):
    headers = auth(world, "producer", **{"Idempotency-Key": "tablet-7:batch-42"})
    data = batch_data(quantity="321")
    batches = rows(app, Batch)
    first = client.post(f"{API}/batches", json=data, headers=headers)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    size = ledger_size(app)
    again = client.post(f"{API}/batches", json=dict(reversed(list(data.items()))), headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert ledger_size(app) == size and rows(app, Batch) == batches + 1

    other = client.post(f"{API}/batches", json=batch_data(quantity="322"), headers=headers)
    assert_error(other, 409, "conflict", "Idempotency-Key")
    elsewhere = client.post(f"{API}/batches/{first.get_json()['code']}/corrections", headers=headers,
                            json={"fields": {"quantity": "300"}, "reason": "x"})
    assert_error(elsewhere, 409, "conflict", "Idempotency-Key")
    assert ledger_size(app) == size and rows(app, Batch) == batches + 1

    # the key is the user's own: another producer's same key is another request
    theirs = client.post(f"{API}/batches", json=data, headers=auth(world, "rival", **{"Idempotency-Key":
                                                                                      "tablet-7:batch-42"}))
    assert theirs.status_code == 201 and theirs.get_json()["code"] != first.get_json()["code"]


def test_a_refused_request_does_not_use_up_its_idempotency_key(app, client, world):
    headers = auth(world, "producer", **{"Idempotency-Key": "k1"})
    assert client.post(f"{API}/batches", json=batch_data(quantity="0"), headers=headers).status_code == 400
    response = client.post(f"{API}/batches", json=batch_data(quantity="5"), headers=headers)
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers


@pytest.mark.parametrize("key", ["k" * 256, "", "schlüssel", "tab\there"])
def test_a_bad_idempotency_key_is_400_and_writes_nothing(app, client, world, key):
    before, batches = ledger_size(app), rows(app, Batch)
    response = client.post(f"{API}/batches", json=batch_data(), headers=auth(world, "producer",
                                                                            **{"Idempotency-Key": key}))
    assert_error(response, 400, "invalid_field", "Idempotency-Key")
    assert ledger_size(app) == before and rows(app, Batch) == batches


# -- hostile text ------------------------------------------------------------------------

def test_markup_and_sql_in_names_are_stored_and_returned_verbatim(app, client, world):
    script, sql = "<script>alert(1)</script>", "'; DROP TABLE batches; --"
    response = client.post(f"{API}/batches", json=batch_data(product=script, base=sql),
                           headers=auth(world, "producer"))
    assert response.status_code == 201 and response.mimetype == "application/json"
    code = response.get_json()["code"]
    assert (response.get_json()["product"], response.get_json()["base"]) == (script, sql)
    detail = client.get(f"{API}/batches/{code}", headers=auth(world, "regulator")).get_json()
    assert (detail["product"], detail["base"]) == (script, sql)
    found = client.get(f"{API}/batches", query_string={"product": script}, headers=auth(world, "regulator"))
    assert [b["code"] for b in found.get_json()["items"]] == [code]
    org = client.post(f"{API}/organizations", json=org_data(name=sql, address=script), headers=auth(world, "admin"))
    assert org.status_code == 201 and (org.get_json()["name"], org.get_json()["address"]) == (sql, script)
    with app.app_context():
        assert fetch_batch(code).product == script and count(Batch) == 2
        assert projection_differences() == []


def fetch_batch(code: str):
    from sqlalchemy import select

    with db.database().sessions() as s:
        return s.scalar(select(Batch).where(Batch.code == code))


# -- the OpenAPI document ------------------------------------------------------------------

def test_the_openapi_document_lists_every_route(app, client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"] == "3.0.3" and doc["servers"] == [{"url": "/api/v1"}]
    expected = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(f"{API}/") and rule.rule != f"{API}/openapi.json":
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix(API))
            expected |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert documented == expected and len(expected) == 37
    create = doc["paths"]["/batches"]["post"]
    assert set(create["responses"]) >= {"201", "400", "401", "403", "409"}
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"]]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/BatchIn"}
    void = doc["paths"]["/batches/{code}/compliance-certificates/{cert_code}/void"]["post"]
    assert set(void["responses"]) >= {"200", "404"}
    assert {p["name"] for p in void["parameters"] if p["in"] == "path"} == {"code", "cert_code"}
    assert doc["paths"]["/batches/{code}/compliance-certificates"]["post"]["responses"]["201"]
    for listing in ("/organizations", "/batches", "/certifications"):  # bad paging parameters are 400
        assert set(doc["paths"][listing]["get"]["responses"]) == {"200", "400", "401"}, listing
    assert doc["paths"]["/certifications/{cert_id}/revoke"]["post"]["responses"]["200"]


def test_nul_and_control_characters_are_refused_with_a_400_naming_the_field(app, client, world):
    """PostgreSQL cannot store or even compare text holding NUL: every way in answers 400 (or 404 for a
    code or slug in the path) and writes nothing, never a 500."""
    before = ledger_size(app)
    bad = client.post(f"{API}/batches", json=batch_data(product="黄\x00桃", base="基地\x07"),
                      headers=auth(world, "producer", **{"Accept-Language": "en"}))
    body = assert_error(bad, 400, "invalid_input")
    assert set(body["fields"]) == {"product", "base"} and "control characters" in body["message"]
    listed = client.get(f"{API}/brands?category=fr%00uit", headers=auth(world, "producer"))
    assert_error(listed, 400, "invalid_field", "category")
    assert client.get(f"{API}/brands/yan%00ling", headers=auth(world, "producer")).status_code == 404
    assert client.get("/t/AB%00CD").status_code == 404 and client.get("/brands/a%00b").status_code == 404
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    login = client.post("/login", data={"csrf_token": token, "username": "lu\x00yuan", "password": "x"})
    assert login.status_code == 400
    assert ledger_size(app) == before

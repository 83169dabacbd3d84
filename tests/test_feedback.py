"""What a page says after a write and before an irreversible one: a notice after every write made from
a page, a confirmation page (without JavaScript) before voiding, revoking, recalling or freezing that
says what will happen, with nothing written until it is confirmed; each control in the section it acts
on; no action offered that the batch's state would refuse. SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.factories import (
    make_batch,
    make_certification,
    make_compliance,
    make_inspection,
    make_user,
    make_world,
    org_data,
)
from traceapp import db
from traceapp.ledger.store import LedgerEntry
from traceapp.records.code_states import code_state, freeze_code, void_code
from traceapp.records.models import Batch, Certification, ComplianceCertificate
from traceapp.records.recalls import recall_batch, recall_status

PASSWORD = "password-123"


@pytest.fixture
def ui_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


@pytest.fixture
def world(ui_app):
    with ui_app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["batch"] = make_batch(s, world["producer"])
        for role, org in (("producer", world["producer_org"].id), ("regulator", None),
                          ("certifier", world["certifier_org"].id), ("inspector", world["inspector_org"].id),
                          ("admin", None)):
            world[f"{role}_ui"] = make_user(s, role, org, name=f"{role}_ui").username
    return world


def log_in(client, username: str) -> str:
    page = client.get("/login")
    token = csrf_token(page.text)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return csrf_token(client.get("/home").text)


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html).group(1)


def ledger_size(app) -> int:
    with app.app_context(), db.database().sessions() as s:
        return s.scalar(select(func.count()).select_from(LedgerEntry))


def notices(html: str) -> list[str]:
    found = re.findall(r'<p class="notice" role="status">(.*?)</p>', html, re.S)
    return [re.sub(r"\s+", " ", n).strip() for n in found]


def hidden_fields(html: str) -> dict[str, str]:
    form = html.split('id="confirm-form"')[1].split("</form>")[0]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def follow(client, response):
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return client.get(response.location)


# -- a notice after every write ---------------------------------------------------------------------

def test_registering_a_batch_is_followed_by_a_notice_once(ui_app, world):
    client = ui_app.test_client()
    token = log_in(client, world["producer_ui"])
    form = {"csrf_token": token, "product": "黄桃", "category": "fruit", "quantity": "120", "unit": "kg",
            "harvest_date": "2026-08-01", "origin_region": "430225", "base": "一号基地"}
    page = follow(client, client.post("/batches/new", data=form))
    assert notices(page.text) == ["批次已保存并写入账本。二维码可以打印了。"]
    assert notices(client.get(page.request.path).text) == []  # shown once, not on every visit


def test_an_inspection_a_certificate_and_an_organization_each_get_their_notice(ui_app, world):
    client = ui_app.test_client()
    code = world["batch"].code
    token = log_in(client, world["inspector_ui"])
    inspection = {"csrf_token": token, "batch": code, "report_no": "JC-2026-0001", "inspected_on": "2026-08-03",
                  "verdict": "pass", "items-0-name": "毒死蜱", "items-0-method": "GB 23200.113",
                  "items-0-value": "0.01", "items-0-limit": "0.5", "items-0-unit": "mg/kg", "items-0-verdict": "pass"}
    page = follow(client, client.post("/inspections/new", data=inspection))
    assert notices(page.text) == ["检测记录已保存并写入账本。"]

    client = ui_app.test_client()
    token = log_in(client, world["certifier_ui"])
    cert = {"csrf_token": token, "kind": "green_food", "number": "GF430225269998",
            "holder": str(world["producer_org"].id), "products": "黄桃", "valid_from": "2026-03-01",
            "valid_to": "2029-02-28"}
    page = follow(client, client.post("/certifications/new", data=cert))
    assert notices(page.text) == ["证书 GF430225269998 已记录并写入账本。"]

    client = ui_app.test_client()
    token = log_in(client, world["admin_ui"])
    org = {**org_data(name="新登记合作社"), "csrf_token": token}
    page = follow(client, client.post("/organizations/new", data=org))
    assert notices(page.text) == ["组织“新登记合作社”已登记并写入账本。"]


def test_issuing_a_compliance_certificate_says_so_on_its_print_page(ui_app, world):
    client = ui_app.test_client()
    code = world["batch"].code
    token = log_in(client, world["producer_ui"])
    form = {"csrf_token": token, "basis": "quality_control", "quantity": "10", "promiser": "producer",
            "issued_on": "2026-08-05", "contact": "0731-62200000"}
    page = follow(client, client.post(f"/batches/{code}/compliance-certificates/new", data=form))
    with ui_app.app_context(), db.database().sessions() as s:
        cc = s.scalar(select(ComplianceCertificate.code))
    assert notices(page.text) == [f"合格证 {cc} 已开具并写入账本，可以打印了。"]


def test_a_correction_and_a_transfer_each_get_their_notice(ui_app, world):
    client = ui_app.test_client()
    code = world["batch"].code
    token = log_in(client, world["producer_ui"])
    page = client.get(f"/batches/{code}/correct")
    form = dict(re.findall(r'<input id="f-([a-z_]+)" name="\1" type="[a-z]+" value="([^"]*)"', page.text))
    form.update({"csrf_token": token, "base": "二号基地", "reason": "基地名称写错"})
    form.update(dict(re.findall(r'<select id="f-([a-z_]+)" name="\1".*?<option value="([^"]*)" selected',
                                page.text, re.S)))
    page = follow(client, client.post(f"/batches/{code}/correct", data=form))
    assert notices(page.text) == ["更正已保存并写入账本；批次页面显示更正后的内容和更正记录。"]

    moved = {"csrf_token": token, "to": str(world["rival_org"].id), "quantity": "20", "confirm": "1"}
    page = follow(client, client.post(f"/batches/{code}/transfer", data=moved))
    assert notices(page.text) == ["已将 20 kg 转交给 rival组织，并写入账本。"]


# -- confirmation before what cannot be undone ----------------------------------------------------------

def test_voiding_a_code_asks_first_and_writes_only_when_confirmed(ui_app, world):
    client = ui_app.test_client()
    code = world["batch"].code
    token = log_in(client, world["producer_ui"])
    before = ledger_size(ui_app)
    asked = client.post(f"/batches/{code}/code-state/void", data={"csrf_token": token, "reason": "标签被冒用"})
    assert asked.status_code == 200
    assert "作废后此追溯码的消费者页面将显示“已作废”，此操作不可撤销。" in asked.text
    assert ledger_size(ui_app) == before and state(ui_app, world) == "active"
    fields = hidden_fields(asked.text)
    assert fields["reason"] == "标签被冒用" and fields["confirm"] == "1"

    page = follow(client, client.post(f"/batches/{code}/code-state/void", data=fields))
    assert ledger_size(ui_app) == before + 1 and state(ui_app, world) == "void"
    assert notices(page.text) == [f"追溯码 {code} 已作废。"]


def test_a_confirmation_is_asked_only_for_valid_input(ui_app, world):
    client = ui_app.test_client()
    code = world["batch"].code
    token = log_in(client, world["producer_ui"])
    before = ledger_size(ui_app)
    response = client.post(f"/batches/{code}/code-state/freeze", data={"csrf_token": token, "reason": " "})
    assert response.status_code == 400 and 'id="confirm-form"' not in response.text and 'id="e-reason"' in response.text
    assert ledger_size(ui_app) == before


def test_freezing_asks_first_and_unfreezing_does_not(ui_app, world):
    client = ui_app.test_client()
    code = world["batch"].code
    token = log_in(client, world["producer_ui"])
    asked = client.post(f"/batches/{code}/code-state/freeze", data={"csrf_token": token, "reason": "核查中"})
    assert asked.status_code == 200 and 'id="confirm-form"' in asked.text and state(ui_app, world) == "active"
    follow(client, client.post(f"/batches/{code}/code-state/freeze", data=hidden_fields(asked.text)))
    assert state(ui_app, world) == "frozen"
    page = follow(client, client.post(f"/batches/{code}/code-state/unfreeze", data={"csrf_token": token,
                                                                                    "reason": "核查完毕"}))
    assert state(ui_app, world) == "active" and notices(page.text) == [f"追溯码 {code} 已解冻，恢复正常。"]


def test_voiding_a_compliance_certificate_asks_first(ui_app, world):
    with ui_app.app_context(), db.write_session() as s:
        cc = make_compliance(s, world["producer"], s.get(Batch, world["batch"].id)).code
    client = ui_app.test_client()
    token = log_in(client, world["producer_ui"])
    before = ledger_size(ui_app)
    asked = client.post(f"/compliance-certificates/{cc}/void", data={"csrf_token": token, "reason": "数量填错"})
    assert asked.status_code == 200 and "此操作不可撤销" in asked.text and cc in asked.text
    assert ledger_size(ui_app) == before
    page = follow(client, client.post(f"/compliance-certificates/{cc}/void", data=hidden_fields(asked.text)))
    assert ledger_size(ui_app) == before + 1 and notices(page.text) == [f"合格证 {cc} 已作废。"]
    with ui_app.app_context(), db.database().sessions() as s:
        assert s.scalar(select(ComplianceCertificate.voided_on)) is not None


def test_revoking_a_certificate_asks_first(ui_app, world):
    with ui_app.app_context(), db.write_session() as s:
        cert_id = make_certification(s, world["certifier"], world["producer_org"].id).id
    client = ui_app.test_client()
    token = log_in(client, world["certifier_ui"])
    before = ledger_size(ui_app)
    asked = client.post(f"/certifications/{cert_id}/revoke", data={"csrf_token": token, "reason": "抽检不合格"})
    assert asked.status_code == 200 and "已撤销" in asked.text and ledger_size(ui_app) == before
    page = follow(client, client.post(f"/certifications/{cert_id}/revoke", data=hidden_fields(asked.text)))
    assert ledger_size(ui_app) == before + 1 and len(notices(page.text)) == 1
    with ui_app.app_context(), db.database().sessions() as s:
        assert s.get(Certification, cert_id).revoked_on is not None


def test_a_recall_asks_first_and_the_lift_says_it_was_done(ui_app, world):
    client = ui_app.test_client()
    code = world["batch"].code
    token = log_in(client, world["regulator_ui"])
    before = ledger_size(ui_app)
    asked = client.post(f"/batches/{code}/recall", data={"csrf_token": token, "reason": "抽检不合格",
                                                         "scope": "batch"})
    assert asked.status_code == 200 and "召回警示" in asked.text and ledger_size(ui_app) == before
    assert hidden_fields(asked.text)["scope"] == "batch"
    follow(client, client.post(f"/batches/{code}/recall", data=hidden_fields(asked.text)))
    assert ledger_size(ui_app) == before + 1 and recalled(ui_app, world)
    page = follow(client, client.post(f"/batches/{code}/recall/lift", data={"csrf_token": token,
                                                                            "reason": "复检合格"}))
    assert not recalled(ui_app, world)
    assert notices(page.text) == [f"批次 {code} 的召回已解除，消费者页面不再显示召回警示。"]


# -- controls beside what they act on; nothing offered that would be refused -------------------------------

def test_each_void_control_sits_in_its_own_section_with_its_own_label(ui_app, world):
    with ui_app.app_context(), db.write_session() as s:
        cc = make_compliance(s, world["producer"], s.get(Batch, world["batch"].id)).code
    client = ui_app.test_client()
    log_in(client, world["producer_ui"])
    page = client.get(f"/batches/{world['batch'].code}").text
    compliance = page.split('<section id="compliance">')[1].split("</section>")[0]
    code_panel = page.split('id="code-state"')[1].split("</div>")[0]
    assert f"/compliance-certificates/{cc}/void" in compliance and "作废合格证" in compliance
    assert "/compliance-certificates/" not in code_panel and "作废追溯码" in code_panel
    assert "/code-state/" not in compliance
    assert "/compliance-certificates/new" in compliance  # issuing sits with the 合格证 too


@pytest.mark.parametrize("hold", ["recalled", "frozen", "void"])
def test_a_held_batch_offers_no_action_it_would_refuse(ui_app, world, hold):
    code = world["batch"].code
    with ui_app.app_context(), db.write_session() as s:
        batch = s.get(Batch, world["batch"].id)
        if hold == "recalled":
            recall_batch(s, batch, {"reason": "抽检不合格", "scope": "batch"}, user=world["regulator"])
        elif hold == "frozen":
            freeze_code(s, batch, {"reason": "核查中"}, user=world["producer"])
        else:
            void_code(s, batch, {"reason": "标签被冒用"}, user=world["producer"])
    client = ui_app.test_client()
    log_in(client, world["producer_ui"])
    page = client.get(f"/batches/{code}").text
    assert f"/batches/{code}/compliance-certificates/new" not in page
    assert f"/batches/{code}/transfer" not in page and f"/batches/{code}/labels" not in page
    assert (f"/batches/{code}/code-state/void" in page) == (hold != "void")


def test_an_active_batch_offers_its_owner_every_action(ui_app, world):
    code = world["batch"].code
    client = ui_app.test_client()
    log_in(client, world["producer_ui"])
    page = client.get(f"/batches/{code}").text
    for path in ("compliance-certificates/new", "transfer", "labels", "code-state/freeze", "code-state/void"):
        assert f"/batches/{code}/{path}" in page
    assert "/code-state/unfreeze" not in page


def test_a_recalled_batch_offers_the_lift_and_no_second_recall(ui_app, world):
    code = world["batch"].code
    client = ui_app.test_client()
    log_in(client, world["regulator_ui"])
    assert f'href="/batches/{code}/recall"' in client.get(f"/batches/{code}").text
    assert 'id="recall-form"' in client.get(f"/batches/{code}/recall").text
    assert 'id="not-recalled"' in client.get(f"/batches/{code}/recall/lift").text  # no lift on an active one
    assert "<form" not in client.get(f"/batches/{code}/recall/lift").text.split("</header>")[1]
    with ui_app.app_context(), db.write_session() as s:
        recall_batch(s, s.get(Batch, world["batch"].id), {"reason": "抽检不合格", "scope": "batch"},
                     user=world["regulator"])
    page = client.get(f"/batches/{code}").text
    assert f'href="/batches/{code}/recall/lift"' in page and f'href="/batches/{code}/recall"' not in page
    recall_page = client.get(f"/batches/{code}/recall").text
    assert 'id="recall-form"' not in recall_page and f"/batches/{code}/recall/lift" in recall_page


def test_a_revoked_certificate_offers_no_revoke(ui_app, world):
    with ui_app.app_context(), db.write_session() as s:
        kept = make_certification(s, world["certifier"], world["producer_org"].id).id
        gone = make_certification(s, world["certifier"], world["producer_org"].id, number="GF430225269997").id
    client = ui_app.test_client()
    token = log_in(client, world["certifier_ui"])
    asked = client.post(f"/certifications/{gone}/revoke", data={"csrf_token": token, "reason": "抽检不合格"})
    follow(client, client.post(f"/certifications/{gone}/revoke", data=hidden_fields(asked.text)))
    page = client.get("/certifications").text
    assert f"/certifications/{kept}/revoke" in page and f"/certifications/{gone}/revoke" not in page


def state(app, world) -> str:
    with app.app_context(), db.database().sessions() as s:
        return code_state(s, s.get(Batch, world["batch"].id))["state"]


def recalled(app, world) -> bool:
    with app.app_context(), db.database().sessions() as s:
        return recall_status(s, s.get(Batch, world["batch"].id)) is not None


def test_an_inspection_made_elsewhere_keeps_the_page_quiet(ui_app, world):
    """A notice belongs to the write the user made: a write by someone else shows none."""
    with ui_app.app_context(), db.write_session() as s:
        make_inspection(s, world["inspector"], s.get(Batch, world["batch"].id))
    client = ui_app.test_client()
    log_in(client, world["producer_ui"])
    assert notices(client.get(f"/batches/{world['batch'].code}").text) == []


# -- the 合格证 print -------------------------------------------------------------------------------------

def test_the_compliance_print_has_every_element_of_the_template_with_the_signature_line(ui_app, world):
    """农业农村部令2025年第4号: the promise and its basis, product, quantity (weight), origin, who promises,
    contact, date of issue, and the promiser's seal or signature."""
    with ui_app.app_context(), db.write_session() as s:
        batch = s.get(Batch, world["batch"].id)
        inspection = make_inspection(s, world["inspector"], batch, report_no="JC-2026-0042")
        tested = make_compliance(s, world["producer"], batch, basis="commissioned_test", inspection=inspection.id,
                                 quantity="12.5", contact="0731-62200001").code
        bought = make_compliance(s, world["producer"], batch, promiser="purchaser", quantity="3").code
        product = batch.product
    client = ui_app.test_client()
    log_in(client, world["producer_ui"])
    page = client.get(f"/compliance-certificates/{tested}?size=a5").text
    form = re.sub(r"<[^>]+>", " ", page.split('id="hgz"')[1].split("</article>")[0])
    form = re.sub(r"\s+", " ", form)
    for element in ("承诺达标合格证", "我承诺对生产销售的农产品", "未使用禁用农药、兽药及其他化合物", "承诺依据",
                    "☐ 质量安全控制符合要求", "☐ 自行检测合格", "☑ 委托检测合格", "JC-2026-0042",
                    f"产品名称 {product}", "数量（重量） 12.5 kg", "产地", f"生产者 {world['producer_org'].name}",
                    "联系方式 0731-62200001", "开具日期 2026-08-05", "生产者盖章或签名："):
        assert element in form, (element, form)
    purchaser = client.get(f"/compliance-certificates/{bought}?size=80x60").text
    purchaser = re.sub(r"<[^>]+>", " ", purchaser.split('id="hgz"')[1].split("</article>")[0])
    assert "已按规定收取并保存该批次农产品承诺达标合格证" in purchaser and "收购者盖章或签名：" in purchaser
    assert 'id="hgz-signature"' in page

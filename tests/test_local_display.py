"""Issue 25, item 3: every time a person reads is in the deployment's zone (TRACEAPP_TIMEZONE) with its UTC
offset, the same way on staff pages, the consumer page, the correction history, the audit desk, the login
and export logs and the exports; every quantity is written one way ("30,000.5", "1,630 / 50,000 kg") in
pages, the 合格证 print and the exports. Each zone is checked against Asia/Shanghai and a zone on the
other side of UTC, so a page that still prints UTC (or UTC+8) cannot pass both. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import (
    make_batch,
    make_brand,
    make_brand_owner,
    make_compliance,
    make_license,
    make_user,
    make_world,
)
from traceapp import db
from traceapp.auth.models import LoginEvent
from traceapp.auth.services import issue_token
from traceapp.ledger.store import LedgerEntry
from traceapp.records.code_states import freeze_code
from traceapp.records.corrections import correct_batch
from traceapp.records.models import Batch, CodeState
from traceapp.records.recalls import recall_batch

PASSWORD = "password-123"
ZONES = ["Asia/Shanghai", "Pacific/Pago_Pago"]  # UTC+8 and UTC-11: no wall clock reads the same in both


def offset_text(moment: datetime) -> str:
    """The UTC offset as the test expects it written, worked out from the zone's own rules."""
    minutes = int(moment.utcoffset().total_seconds()) // 60
    return "UTC" if not minutes else f"UTC{'+' if minutes > 0 else '-'}{abs(minutes) // 60}"


def shown(moment_utc: datetime, zone: str, seconds: bool = False) -> str:
    """How a stored UTC time must read in ``zone``."""
    local = moment_utc.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)) if moment_utc.tzinfo is None \
        else moment_utc.astimezone(ZoneInfo(zone))
    return local.strftime("%Y-%m-%d %H:%M" + (":%S" if seconds else "")) + f" ({offset_text(local)})"


def other_day_zone() -> str:
    """A zone whose calendar date differs from UTC's at this moment (a date printed from UTC shows the wrong
    day there): UTC+14 late in the UTC day, UTC-11 early in it."""
    return "Pacific/Kiritimati" if datetime.now(UTC).hour >= 10 else "Pacific/Pago_Pago"


def set_zone(app, zone: str) -> None:
    app.config["TRACEAPP_TIMEZONE"] = zone


def log_in(client, username: str) -> None:
    page = client.get("/login")
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302


@pytest.fixture
def farm(app):
    """A producer (with a password) whose batch of 29000 kg is corrected to 30000.50 and frozen, a 合格证 for 1630 kg of
    it, a brand licence of 50000 kg of which the batch claims part, and a regulator who can log in."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        owner_org, manager = make_brand_owner(s)
        brand = make_brand(s, manager, slug="yanling-huangtao")
        make_license(s, manager, brand, world["producer_org"].id)
        farmer = make_user(s, "producer", world["producer_org"].id, name="farmer", password=PASSWORD)
        make_user(s, "regulator", name="inspector_gov", password=PASSWORD)
        make_user(s, "admin", name="root", password=PASSWORD)
        batch = make_batch(s, farmer, quantity="1630.000", brand="yanling-huangtao")
        big = make_batch(s, farmer, quantity="29000")
        s.flush()
        cert = make_compliance(s, farmer, batch, quantity="1630.0")
        correct_batch(s, big, {"fields": {"quantity": "30000.50"}, "reason": "复秤"}, user=farmer)
        freeze_code(s, big, {"reason": "核查中"}, user=world["regulator"])
        token = issue_token(s, world["regulator"].username)
        s.flush()
        return {"code": batch.code, "big": big.code, "cert": cert.code, "token": token,
                "regulator": world["regulator"]}


def stored(app, farm) -> dict:
    """The UTC times the database and the ledger hold for the farm's records."""
    with app.app_context(), db.database().sessions() as s:
        big_id = s.scalar(select(Batch.id).where(Batch.code == farm["big"]))
        frozen = s.scalar(select(CodeState.changed_at).where(CodeState.batch_id == big_id))
        corrected = s.scalar(select(LedgerEntry.body).where(LedgerEntry.kind == "batch.corrected"))
    ts = re.search(rb'"ts":"([^"]+)"', bytes(corrected)).group(1).decode()
    return {"frozen": frozen, "corrected": datetime.fromisoformat(ts.replace("Z", "+00:00"))}


# -- time ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("zone", ZONES)
def test_the_batch_page_shows_the_code_state_and_the_correction_in_the_deployment_zone(app, farm, client, zone):
    set_zone(app, zone)
    log_in(client, "farmer")
    page = client.get(f"/batches/{farm['big']}").text
    times = stored(app, farm)
    assert shown(times["frozen"], zone) in page  # the code-state panel
    assert shown(times["corrected"], zone) in page  # the correction history
    assert " UTC<" not in page and " UTC\n" not in page


@pytest.mark.parametrize("zone", ZONES)
def test_the_audit_desk_and_the_login_log_show_the_deployment_zone(app, farm, client, zone):
    set_zone(app, zone)
    log_in(client, "root")
    with app.app_context(), db.database().sessions() as s:
        last_login = s.scalars(select(LoginEvent.at).order_by(LoginEvent.id.desc())).first()
    logins = client.get("/admin/logins").text
    assert shown(last_login, zone) in logins
    desk_client = app.test_client()
    log_in(desk_client, "inspector_gov")
    desk = desk_client.get("/audit/").text
    counted = re.search(r'id="risk-counted-at">[^<]*?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \((UTC[^)]*)\)', desk)
    assert counted, "the desk's counting time carries its zone"
    expected_offset = offset_text(datetime.now(ZoneInfo(zone)))
    assert counted.group(2) == expected_offset and " UTC<" not in desk


def test_the_consumer_page_dates_a_recall_and_a_voided_code_by_the_deployment_zone(app, farm, client):
    zone = other_day_zone()
    with app.app_context(), db.write_session() as s:
        batch = s.scalar(select(Batch).where(Batch.code == farm["code"]))
        recall_batch(s, batch, {"reason": "农残超标"}, user=s.merge(farm["regulator"]))
    set_zone(app, zone)
    with app.app_context(), db.database().sessions() as s:
        body = s.scalar(select(LedgerEntry.body).where(LedgerEntry.kind == "batch.recalled"))
    ts = re.search(rb'"ts":"([^"]+)"', bytes(body)).group(1).decode()
    local_day = datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(ZoneInfo(zone)).date().isoformat()
    assert local_day != ts[:10]  # the zone was chosen so that the UTC date is the wrong one
    page = client.get(f"/t/{farm['code']}").text
    assert f"农残超标 · {local_day}" in page


@pytest.mark.parametrize("zone", ZONES)
def test_the_export_log_shows_its_time_in_the_deployment_zone(app, farm, client, zone):
    set_zone(app, zone)
    log_in(client, "inspector_gov")
    assert client.get("/audit/export?format=csv").status_code == 200
    from traceapp.audit.models import ExportLog
    with app.app_context(), db.database().sessions() as s:
        at = s.scalar(select(ExportLog.at))
    page = client.get("/audit/exports").text
    assert shown(at, zone, seconds=True) in page


@pytest.mark.parametrize("zone", ZONES)
def test_exports_show_the_recorded_time_in_the_zone_and_keep_the_ledger_timestamp(app, farm, client, zone):
    set_zone(app, zone)
    response = client.get("/audit/export?format=csv", headers={"Authorization": f"Bearer {farm['token']}"})
    header, keys, *rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    cells = [dict(zip(keys, row, strict=True)) for row in rows]
    corrected = next(r for r in cells if r["event"] == "batch.corrected")
    moment = datetime.fromisoformat(corrected["recorded_at"].replace("Z", "+00:00"))
    assert corrected["recorded_at"].endswith("Z")  # the machine column: the ledger's own timestamp
    assert corrected["recorded"] == shown(moment, zone, seconds=True)
    assert corrected["event_date"] == moment.astimezone(ZoneInfo(zone)).date().isoformat()


# -- quantities -----------------------------------------------------------------------------------------------

def test_staff_and_consumer_pages_write_quantities_one_way(app, farm, client):
    assert "30,000.5 kg" in client.get(f"/t/{farm['big']}").text
    log_in(client, "farmer")
    page = client.get(f"/batches/{farm['big']}").text
    assert "30,000.5 kg" in page and "30000.5" not in page and "30000.500" not in page
    assert "1,630 kg" in client.get(f"/batches/{farm['code']}").text
    listed = client.get("/batches/").text  # the producer's batch list
    assert "30,000.5 kg" in listed and "1,630 kg" in listed
    assert "1630.000" not in listed and "1630 kg" not in listed


def test_the_brand_page_writes_used_and_licensed_quantities_with_separators(app, farm, client):
    page = client.get("/brands/yanling-huangtao").text
    assert re.search(r"1,630 / 50,000 kg", page), re.findall(r"[0-9,.]+ / [0-9,.]+ kg", page)


def test_the_compliance_certificate_print_writes_the_quantity_with_separators(app, farm, client):
    log_in(client, "farmer")
    page = client.get(f"/compliance-certificates/{farm['cert']}").text
    assert "1,630 kg" in page and "1630.0" not in page and "1630 kg" not in page


def test_exports_write_quantities_for_people_and_keep_the_plain_number(app, farm, client):
    response = client.get("/audit/export?format=csv", headers={"Authorization": f"Bearer {farm['token']}"})
    _header, keys, *rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    cells = [dict(zip(keys, row, strict=True)) for row in rows]
    big = next(r for r in cells if r["event"] == "batch.registered" and r["batch"] == farm["big"])
    assert (big["quantity_text"], big["quantity"]) == ("30,000.5", "30000.5")
    licence = next(r for r in cells if r["event"] == "brand.licensed")
    assert (licence["quantity_text"], licence["quantity"]) == ("50,000", "50000")
    certificate = next(r for r in cells if r["event"] == "compliance_certificate.issued")
    assert certificate["reason"] == "数量 1,630 kg"
    correction = next(r for r in cells if r["event"] == "batch.corrected")
    assert correction["reason"] == "复秤; 数量: 29,000 → 30,000.5"


# -- exports in the reader's language ----------------------------------------------------------------------------

@pytest.fixture
def certified(app, farm):
    """The farm's producer also holds a 绿色食品 certificate and a failed inspection."""
    from tests.factories import item, make_certification, make_inspection

    with app.app_context(), db.write_session() as s:
        world_certifier = make_user(s, "certifier", make_world_org(s, "certification_body"), password=None)
        inspector = make_user(s, "inspector", make_world_org(s, "inspection_body"), password=None)
        batch = s.scalar(select(Batch).where(Batch.code == farm["code"]))
        make_certification(s, world_certifier, batch.organization_id)
        make_inspection(s, inspector, batch, verdict="fail", items=[item(value="0.35", verdict="fail")])
    return farm


def make_world_org(session, kind: str) -> int:
    from tests.factories import make_org

    return make_org(session, kind=kind, name=f"{kind}机构").id


def spreadsheet(client, farm, fmt: str, lang: str) -> list[list]:
    response = client.get(f"/audit/export?format={fmt}&lang={lang}",
                          headers={"Authorization": f"Bearer {farm['token']}"})
    assert response.status_code == 200
    if fmt == "csv":
        return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.data), read_only=True).active
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize(("lang", "words"), [
    ("zh", {"header": "单据类型", "certificate": "绿色食品证书", "issued": "已颁发", "category": "水果",
            "fail": "不合格", "report": "检测报告", "frozen": "已冻结", "event": "证书颁发"}),
    ("en", {"header": "Reference document type", "certificate": "Green food certificate",
            "issued": "Issued", "category": "Fruit", "fail": "Fail", "report": "Inspection report",
            "frozen": "Frozen", "event": "Certificate issued"}),
])
def test_exports_name_every_code_in_the_readers_language_and_keep_the_codes(app, certified, client, fmt, lang,
                                                                             words):
    header, keys, *rows = spreadsheet(client, certified, fmt, lang)
    assert header[keys.index("doc_type_name")] == words["header"]
    cells = [dict(zip(keys, row, strict=True)) for row in rows]
    cert = next(r for r in cells if r["event"] == "certification.issued")
    assert (cert["doc_type_name"], cert["doc_type"]) == (words["certificate"], "certificate:green_food")
    assert (cert["status_name"], cert["status"], cert["event_name"]) == (words["issued"], "issued", words["event"])
    inspection = next(r for r in cells if r["event"] == "inspection.recorded")
    assert (inspection["status_name"], inspection["status"]) == (words["fail"], "fail")
    assert (inspection["doc_type_name"], inspection["doc_type"]) == (words["report"], "inspection_report")
    registered = next(r for r in cells if r["event"] == "batch.registered")
    assert (registered["category_name"], registered["category"]) == (words["category"], "fruit")
    frozen = next(r for r in cells if r["event"] == "code.frozen")
    assert (frozen["status_name"], frozen["status"]) == (words["frozen"], "frozen")
    people = {key for key in keys if not key.endswith(("_at",)) and key not in (
        "event", "category", "doc_type", "status", "quantity", "changes", "region", "brand", "actor", "actor_org")}
    for row in cells:  # no code where a person reads: every named column holds words, not snake_case codes
        for key in people:
            assert not re.fullmatch(r"[a-z]+(_[a-z]+)+|certificate:[a-z_]+", row[key]), (key, row[key])


def test_the_export_log_is_written_in_words(app, farm, client):
    log_in(client, "inspector_gov")
    for response in (client.get("/audit/export", query_string={"format": "csv", "brand": "yanling-huangtao",
                                                               "from": "2026-01-01"}),
                     client.get("/audit/export?format=epcis", headers={"Authorization": f"Bearer {farm['token']}"})):
        assert response.status_code == 200 and response.data  # read to the end: the log says complete
    log = client.get("/audit/exports").text
    section = log[log.index('id="export-log"'):]
    assert "品牌：炎陵黄桃；事件日期：2026-01-01 至 …" in section
    assert "网页" in section and "API" in section and "已完成" in section and "EPCIS 2.0" in section
    for raw in ("session", "token", "complete", "brand=", "date_from"):
        assert raw not in section, raw
    english = client.get("/audit/exports?lang=en").text
    section = english[english.index('id="export-log"'):]
    assert "Brand: 炎陵黄桃; Event date: 2026-01-01 to …" in section
    assert "Web page" in section and "Completed" in section
    assert "session" not in section and "complete<" not in section


@pytest.mark.parametrize(("lang", "name"), [("zh", "无公害农产品证书"),
                                            ("en", "Pollution-free agricultural product certificate")])
def test_an_old_pollution_free_certificate_is_named_in_the_export(app, lang, name):
    from traceapp.audit.export_labels import sheet_labels

    with app.test_request_context(f"/audit/export?lang={lang}"):
        words = sheet_labels()
    assert words.doc_type("certificate:pollution_free") == name

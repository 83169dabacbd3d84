"""One input boundary for every write: text normalized to NFC before it is checked or stored,
lone surrogates, control and bidi-override characters refused naming the field, JSON nested deeper
than any body refused at parsing, digits that are ASCII digits, and dates within sense (in the
deployment's time zone). SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.factories import (
    batch_data,
    brand_data,
    certification_data,
    count,
    inspection_data,
    item,
    license_data,
    make_batch,
    make_brand,
    make_brand_owner,
    make_world,
    org_data,
    projection_differences,
)
from tests.test_records_views import log_in
from traceapp import db
from traceapp.auth.services import issue_token
from traceapp.ledger.store import LedgerEntry
from traceapp.records.models import Batch, Certification, Inspection, Organization

API = "/api/v1"
USERS = ("producer", "inspector", "certifier", "admin", "brand_manager")


@pytest.fixture
def world(app):
    """Users with API tokens, a batch of 1000 kg and a brand owned by the brand manager's organization."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["brand_owner_org"], world["brand_manager"] = make_brand_owner(s)
        world["tokens"] = {name: issue_token(s, world[name].username) for name in USERS}
        world["batch"] = make_batch(s, world["producer"], quantity="1000")
        world["brand"] = make_brand(s, world["brand_manager"])
        return world


def auth(world, who: str, **headers) -> dict:
    return {"Authorization": f"Bearer {world['tokens'][who]}", **headers}


def written(app) -> int:
    with app.app_context():
        return count(LedgerEntry)


def verify(app) -> str:
    """Run ``ledger verify`` and return its output; fail the test unless it exits 0."""
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    return result.output


def refused(app, response, field: str, before: int, *, status: int = 400) -> str:
    """Assert a JSON refusal naming ``field`` that wrote nothing; return its message."""
    assert response.status_code == status, (field, response.status_code, response.get_data(as_text=True))
    error = response.get_json()["error"]
    assert field in error["fields"], (field, error)
    assert written(app) == before, field
    return error["message"]


# -- item 1: NFC, surrogates, control and bidi characters, deep JSON ---------------------------

def test_decomposed_text_is_stored_as_nfc_in_row_and_entry_so_verify_passes(app, client, world):
    decomposed, composed = "Cafe\u0301", "Caf\u00e9"
    response = client.post(f"{API}/batches", json=batch_data(product=decomposed, base="基地" + decomposed),
                           headers=auth(world, "producer"))
    assert response.status_code == 201, response.get_json()
    code = response.get_json()["code"]
    assert response.get_json()["product"] == composed
    org = client.post(f"{API}/organizations", json=org_data(name=decomposed, address=decomposed),
                      headers=auth(world, "admin"))
    assert org.status_code == 201 and org.get_json()["name"] == composed
    inspection = client.post(f"{API}/inspections", json=inspection_data(
        code, items=[item(name=decomposed, method=decomposed)]), headers=auth(world, "inspector"))
    assert inspection.status_code == 201, inspection.get_json()
    cert = client.post(f"{API}/certifications", json=certification_data(
        world["producer_org"].id, products=[decomposed]), headers=auth(world, "certifier"))
    assert cert.status_code == 201 and cert.get_json()["products"] == [composed]
    correction = client.post(f"{API}/batches/{code}/corrections",
                             json={"fields": {"base": "n" + decomposed}, "reason": "笔误" + decomposed},
                             headers=auth(world, "producer"))
    assert correction.status_code == 201, correction.get_json()
    with app.app_context():
        session = db.session()
        batch = session.query(Batch).filter_by(code=code).one()
        assert (batch.product, batch.base) == (composed, "n" + composed)
        assert session.get(Organization, org.get_json()["id"]).address == composed
        assert session.get(Inspection, inspection.get_json()["id"]).items[0]["name"] == composed
        assert projection_differences() == []
    verify(app)


def test_a_decomposed_name_through_the_html_form_is_stored_as_nfc(demo):
    client = demo.test_client()
    token = log_in(client, "luyuan")
    response = client.post("/batches/new", data={
        "csrf_token": token, "product": "Cafe\u0301", "category": "fruit", "quantity": "300", "unit": "kg",
        "harvest_date": "2026-08-01", "origin_region": "430225", "base": "鹿原镇九龙村基地"})
    assert response.status_code == 303, response.get_data(as_text=True)
    with demo.app_context():
        assert db.session().query(Batch).filter_by(product="Caf\u00e9").count() == 1
        assert projection_differences() == []
    verify(demo)


BAD_TEXT = (
    ("lone surrogate", "\ud800"),
    ("low surrogate", "黄桃\udfff"),
    ("C0 control", "黄\x07桃"),
    ("C1 control", "黄\x85桃"),
    ("DEL", "黄\x7f桃"),
    ("newline in a name", "黄\n桃"),
    ("tab in a name", "黄\t桃"),
    ("right-to-left override", "黄桃\u202egpj.exe"),
    ("left-to-right embedding", "\u202a黄桃"),
    ("first strong isolate", "黄桃\u2068"),
    ("pop directional isolate", "\u2069黄桃"),
)


class AsciiJson:
    """A test client whose JSON bodies are sent as ASCII with escapes, as JSON allows for any string
    (a lone surrogate included), instead of the app's UTF-8."""

    def __init__(self, client):
        self.client = client

    def post(self, url, *, json, headers):
        return self.client.post(url, data=dumps(json), content_type="application/json", headers=headers)


def dumps(body) -> str:
    return json.dumps(body, ensure_ascii=True)


@pytest.mark.parametrize("case, text", BAD_TEXT, ids=[case for case, _t in BAD_TEXT])
def test_refused_characters_in_a_name_are_a_400_naming_the_field(app, client, world, case, text):
    before = written(app)
    client = AsciiJson(client)
    refused(app, client.post(f"{API}/batches", json=batch_data(product=text), headers=auth(world, "producer")),
            "product", before)
    refused(app, client.post(f"{API}/organizations", json=org_data(name=text), headers=auth(world, "admin")),
            "name", before)
    refused(app, client.post(f"{API}/inspections", json=inspection_data(world["batch"].code, items=[item(name=text)]),
                             headers=auth(world, "inspector")), "items[0].name", before)
    refused(app, client.post(f"{API}/certifications", json=certification_data(world["producer_org"].id,
                                                                              number="GF4302252" + text),
                             headers=auth(world, "certifier")), "number", before)
    with app.app_context():
        assert count(Batch) == 1 and count(Inspection) == 0 and count(Certification) == 0


def test_a_lone_surrogate_anywhere_in_a_body_is_a_400_even_with_an_idempotency_key(app, client, world):
    before = written(app)
    body = dumps({**batch_data(), "note": "\ud800"})  # a field no service reads
    response = client.post(f"{API}/batches", data=body, content_type="application/json",
                           headers=auth(world, "producer", **{"Idempotency-Key": "k1"}))
    refused(app, response, "note", before)


def test_newlines_and_tabs_are_kept_in_multi_line_text_but_other_controls_are_not(app, client, world):
    code = world["batch"].code
    before = written(app)
    for reason in ("第一行\u0007", "\u202e理由\x9b"):
        response = client.post(f"{API}/batches/{code}/corrections", json={"fields": {"base": "新基地"},
                                                                          "reason": reason},
                               headers=auth(world, "producer"))
        refused(app, response, "reason", before)
    response = client.post(f"{API}/batches/{code}/corrections",
                           json={"fields": {"base": "新基地"}, "reason": "第一行\r\n\t第二行"},
                           headers=auth(world, "producer"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["reason"] == "第一行\n\t第二行"
    verify(app)


@pytest.mark.parametrize("depth", [50, 1000, 100_000])
def test_json_nested_deeper_than_any_body_is_a_400_at_parsing(app, client, world, depth):
    before = written(app)
    body = '{"product": ' + "[" * depth + "]" * depth + "}"
    response = client.post(f"{API}/batches", data=body, content_type="application/json",
                           headers=auth(world, "producer"))
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"]["fields"] == {"body": response.get_json()["error"]["message"]}
    assert "嵌套" in response.get_json()["error"]["message"]
    assert written(app) == before


# -- item 2: ASCII digits only ---------------------------------------------------------------

ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def test_digits_other_than_ascii_are_refused_in_every_numeric_field(app, client, world):
    before = written(app)
    producer, admin = auth(world, "producer"), auth(world, "admin")
    for digits in (ARABIC, FULLWIDTH):
        def a(text: str, table=digits) -> str:
            return text.translate(table)

        for field, value in (("gtin", a("06971234560018")), ("quantity", a("5")), ("origin_region", a("430225")),
                             ("harvest_date", a("2026-08-01")), ("pack_date", a("2026-08-02"))):
            refused(app, client.post(f"{API}/batches", json=batch_data(**{field: value}), headers=producer),
                    field, before)
        refused(app, client.post(f"{API}/batches", json=batch_data(organization=a(str(world["producer_org"].id))),
                                 headers=admin), "organization", before)
        refused(app, client.post(f"{API}/organizations", json=org_data(region=a("430225")), headers=admin),
                "region", before)
        refused(app, client.post(f"{API}/inspections", json=inspection_data(world["batch"].code,
                                                                           inspected_on=a("2026-08-03")),
                                 headers=auth(world, "inspector")), "inspected_on", before)
        refused(app, client.post(f"{API}/certifications", json=certification_data(
            world["producer_org"].id, kind="organic", number=a("12345678901234567")),
            headers=auth(world, "certifier")), "number", before)
        refused(app, client.post(f"{API}/certifications", json=certification_data(
            a(str(world["producer_org"].id))), headers=auth(world, "certifier")), "holder", before)
        refused(app, client.post(f"{API}/brands/{world['brand'].slug}/licenses", json=license_data(
            world["producer_org"].id, quantity=a("500")), headers=auth(world, "brand_manager")), "quantity", before)
    assert client.get(f"/qr/{world['batch'].code}.png?size=" + "5".translate(ARABIC)).status_code in (400, 404)


def test_gtin_and_region_helpers_accept_only_ascii_digits():
    from traceapp.records.codes import is_valid_gtin14
    from traceapp.records.uscc import is_valid_uscc

    assert is_valid_gtin14("06971234560018")
    assert not is_valid_gtin14("0697123456001".translate(ARABIC) + "8")  # the issue's: a valid check digit
    assert not is_valid_uscc("93430225MA4L00000X".translate(ARABIC))


# -- item 3: dates within sense ----------------------------------------------------------------

def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def test_harvest_and_pack_dates_are_bounded(app, client, world):
    before = written(app)
    producer = auth(world, "producer")
    for field, overrides in (("harvest_date", {"harvest_date": "0001-01-01", "pack_date": None}),
                             ("harvest_date", {"harvest_date": "1999-12-31", "pack_date": None}),
                             ("pack_date", {"pack_date": "9999-12-31"}),
                             ("pack_date", {"harvest_date": "2025-08-01", "pack_date": "2026-08-02"}),
                             ("pack_date", {"pack_date": "2026-07-31"})):
        refused(app, client.post(f"{API}/batches", json=batch_data(**overrides), headers=producer), field, before)
    for overrides in ({"harvest_date": "2000-01-01", "pack_date": "2001-01-01"},
                      {"harvest_date": "2025-08-01", "pack_date": "2026-08-01"}):
        response = client.post(f"{API}/batches", json=batch_data(**overrides), headers=producer)
        assert response.status_code == 201, (overrides, response.get_json())


def test_today_is_the_deployment_time_zones_today(database_url, tmp_path):
    from tests.conftest import close_app, new_app

    # Kiritimati is always a day or two ahead of Pago Pago, whatever the machine's clock says.
    ahead = datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    for zone, accepted in (("Pacific/Kiritimati", True), ("Pacific/Pago_Pago", False)):
        app = new_app(database_url, tmp_path / zone.replace("/", "-"), TRACEAPP_TIMEZONE=zone)
        try:
            app.test_cli_runner().invoke(args=["db", "upgrade"])
            with app.app_context(), db.write_session() as s:
                world = make_world(s)
                token = issue_token(s, world["producer"].username)
            client = app.test_client()
            response = client.post(f"{API}/batches", json=batch_data(harvest_date=ahead.isoformat(), pack_date=None),
                                   headers={"Authorization": f"Bearer {token}"})
            assert (response.status_code == 201) is accepted, (zone, response.get_json())
            if not accepted:
                assert "harvest_date" in response.get_json()["error"]["fields"]
        finally:
            close_app(app)


def test_an_unknown_time_zone_is_refused_at_start(database_url, tmp_path):
    from tests.conftest import new_app

    with pytest.raises(RuntimeError, match="TRACEAPP_TIMEZONE"):
        new_app(database_url, tmp_path / "instance", TRACEAPP_TIMEZONE="Mars/Olympus_Mons")


def test_inspection_dates_are_bounded(app, client, world):
    before = written(app)
    tomorrow = (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)).isoformat()
    for day in ("0001-01-01", "1999-12-31", tomorrow, "9999-12-31"):
        refused(app, client.post(f"{API}/inspections", json=inspection_data(world["batch"].code, inspected_on=day),
                                 headers=auth(world, "inspector")), "inspected_on", before)


def test_certificate_and_licence_validity_is_bounded(app, client, world):
    before = written(app)
    start = date(2026, 1, 1)
    bad = (("valid_from", "0001-01-01", "2026-12-31"), ("valid_from", "1999-12-31", "2001-12-31"),
           ("valid_to", "2026-01-01", "9999-12-31"), ("valid_to", "2095-01-01", "2101-01-01"),
           ("valid_to", start.isoformat(), (add_years(start, 10) + timedelta(days=1)).isoformat()))
    holder = world["producer_org"].id
    for field, valid_from, valid_to in bad:
        refused(app, client.post(f"{API}/certifications", json=certification_data(
            holder, valid_from=valid_from, valid_to=valid_to), headers=auth(world, "certifier")), field, before)
        refused(app, client.post(f"{API}/brands/{world['brand'].slug}/licenses", json=license_data(
            holder, valid_from=valid_from, valid_to=valid_to), headers=auth(world, "brand_manager")), field, before)
    ten_years = add_years(start, 10).isoformat()
    response = client.post(f"{API}/certifications", json=certification_data(
        holder, valid_from=start.isoformat(), valid_to=ten_years), headers=auth(world, "certifier"))
    assert response.status_code == 201, response.get_json()
    response = client.post(f"{API}/brands/{world['brand'].slug}/licenses", json=license_data(
        holder, valid_from="2000-01-01", valid_to="2009-12-31"), headers=auth(world, "brand_manager"))
    assert response.status_code == 201, response.get_json()


def test_corrections_obey_the_same_date_rules(app, client, world):
    code = world["batch"].code
    before = written(app)
    for field, value in (("harvest_date", "1999-01-01"), ("harvest_date", "0001-01-01"),
                         ("pack_date", "9999-12-31"), ("pack_date", "2027-08-02")):
        response = client.post(f"{API}/batches/{code}/corrections", json={"fields": {field: value}, "reason": "笔误"},
                               headers=auth(world, "producer"))
        refused(app, response, field, before)


# -- messages name the field's label --------------------------------------------------------------

def test_messages_name_the_fields_label_not_its_key(app, client, world):
    tomorrow = (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=2)).isoformat()
    body = batch_data(harvest_date=tomorrow, pack_date=None)
    zh = client.post(f"{API}/batches", json=body, headers=auth(world, "producer"))
    message = zh.get_json()["error"]["fields"]["harvest_date"]
    assert message.startswith("采收日期不能晚于今天") and "harvest_date" not in message
    en = client.post(f"{API}/batches", json=body, headers=auth(world, "producer", **{"Accept-Language": "en"}))
    message = en.get_json()["error"]["fields"]["harvest_date"]
    assert "harvest date" in message.lower() and "harvest_date" not in message
    required = client.post(f"{API}/batches", json=batch_data(product=""), headers=auth(world, "producer"))
    assert required.get_json()["error"]["fields"]["product"] == "产品名称是必填项。"
    item_error = client.post(f"{API}/inspections", json=inspection_data(world["batch"].code, items=[item(name="")]),
                             headers=auth(world, "inspector")).get_json()["error"]["fields"]["items[0].name"]
    assert "items[0]" not in item_error and "name" not in item_error


def test_brand_text_is_normalized_and_checked(app, client, world):
    before = written(app)
    manager = auth(world, "brand_manager")
    response = client.post(f"{API}/brands", json=brand_data(name="Cafe\u0301桃", slug="cafe-tao",
                                                            description="第一行\n第二行"), headers=manager)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["name"] == "Caf\u00e9桃"
    before = written(app)
    refused(app, client.post(f"{API}/brands", json=brand_data(name="\u202e桃", slug="rlo-tao"), headers=manager),
            "name", before)
    verify(app)


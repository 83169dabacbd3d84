"""Risk signals (traceapp/audit/risk): every rule fires on a case built for it and stays quiet on its near
miss, every finding names its rule and version, the filters narrow the lists (with a near miss just outside
each), the desk shows the counts, the pages and the API are for regulators and admins only, and bad filters
get a 400 naming the field. Data made through the services; scans (operational rows, not ledger facts)
inserted as the scan recorder writes them. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.factories import (
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
from traceapp.audit import risk
from traceapp.audit.risk import Filters, Settings
from traceapp.auth.services import issue_token
from traceapp.brands.models import Brand, License
from traceapp.brands.services import revoke_license
from traceapp.public.models import Scan
from traceapp.records.certifications import revoke_certification
from traceapp.records.compliance import void_compliance_certificate
from traceapp.records.models import Batch, ComplianceCertificate
from traceapp.records.recalls import recall_batch
from traceapp.records.services import get_batch
from traceapp.records.transfers import transfer_batch

PASSWORD = "password-123"
SLUG = "yanling-huangtao"
API = "/api/v1"
FAIL = [{"name": "毒死蜱", "method": "GB 23200.113", "value": "0.05", "limit": "0.02", "unit": "mg/kg",
         "verdict": "fail"}]


@pytest.fixture
def world(app):
    """make_world's organizations and users (producer and rival in 炎陵县 430225), a third producer ``far`` in
    谷城县 (420625, 湖北), 炎陵黄桃 (area 炎陵县, products 黄桃 and 黄桃罐头) with its manager, and users that can
    log in: ``reg_ui`` (regulator), ``admin_ui``, ``producer_ui``; API tokens for the regulator and producer."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["far_org"] = make_org(s, name="谷城县测试茶叶合作社", region="420625")
        world["far"] = make_user(s, "producer", world["far_org"].id, password=None)
        world["owner_org"], world["manager"] = make_brand_owner(s)
        world["brand"] = make_brand(s, world["manager"])
        world["reg_ui"] = make_user(s, "regulator", name="reg_ui", password=PASSWORD)
        world["admin_ui"] = make_user(s, "admin", name="admin_ui", password=PASSWORD)
        world["producer_ui"] = make_user(s, "producer", world["producer_org"].id, name="producer_ui",
                                         password=PASSWORD)
        world["tokens"] = {name: issue_token(s, world[name].username) for name in ("regulator", "producer")}
        return world


def write(app, fn):
    """Run ``fn(session)`` in one write transaction, committed when it returns."""
    with app.app_context(), db.write_session() as s:
        return fn(s)


def batch(app, world, who: str = "producer", **overrides):
    return write(app, lambda s: make_batch(s, world[who], **{"pack_date": None, **overrides}))


def inspect(app, world, target, **overrides):
    if overrides.get("verdict") == "fail":
        overrides.setdefault("items", FAIL)
    return write(app, lambda s: make_inspection(s, world["inspector"], target, **overrides))


def licence(app, world, who: str, **overrides):
    return write(app, lambda s: make_license(s, world["manager"], s.get(Brand, world["brand"].id),
                                             world[f"{who}_org"].id, **overrides))


def found(app, name: str, today=None, settings=None, **filters) -> list[dict]:
    with app.app_context():
        session = db.session()
        rows = risk.list_findings(session, name, Filters(**filters), limit=500, today=today, settings=settings)
        assert risk.count_findings(session, name, Filters(**filters), today=today, settings=settings) == len(rows)
        return [risk.plain(r) for r in rows]


def codes(rows: list[dict]) -> set[str]:
    return {r["batch_code"] for r in rows}


def assert_named(rows: list[dict], name: str, version: int = 1) -> None:
    assert rows and all((r["rule"], r["version"]) == (name, version) for r in rows)


def log_in(client, username: str) -> None:
    page = client.get("/login")
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302


def bearer(world, who: str) -> dict:
    return {"Authorization": f"Bearer {world['tokens'][who]}"}


# -- each rule: fires on its case, quiet on the near miss --------------------------------------------

def test_a_failed_inspection_flags_its_batch_and_every_batch_made_from_it(app, world):
    farm = batch(app, world, quantity="1000")
    clean = batch(app, world, quantity="300")
    packed = batch(app, world, quantity="600", inputs=[{"code": farm.code, "quantity": "600"}])
    write(app, lambda s: transfer_batch(s, get_batch(s, packed.code), {"to": world["rival_org"].id,
                                                                      "quantity": "500"}, user=world["producer"]))
    canned = batch(app, world, "rival", product="黄桃罐头", category="processed", quantity="500",
                   inputs=[{"code": packed.code, "quantity": "500"}])
    inspect(app, world, clean)  # passed: the near miss
    assert found(app, "failed_inspection") == []
    failed = inspect(app, world, farm, verdict="fail")
    rows = found(app, "failed_inspection")
    assert_named(rows, "failed_inspection")
    assert {r["batch_code"]: r["depth"] for r in rows} == {farm.code: 0, packed.code: 1, canned.code: 2}
    assert {(r["inspection_id"], r["report_no"], r["inspected_code"]) for r in rows} == {
        (failed.id, failed.report_no, farm.code)}
    assert {r["organization_id"] for r in rows} == {world["producer_org"].id, world["rival_org"].id}


def test_a_diamond_downstream_is_listed_once_at_its_shortest_depth(app, world):
    farm = batch(app, world, quantity="1000")
    left = batch(app, world, quantity="300", inputs=[{"code": farm.code, "quantity": "300"}])
    right = batch(app, world, quantity="300", inputs=[{"code": farm.code, "quantity": "300"}])
    merged = batch(app, world, quantity="500", inputs=[{"code": left.code, "quantity": "250"},
                                                       {"code": right.code, "quantity": "250"}])
    inspect(app, world, farm, verdict="fail")
    rows = found(app, "failed_inspection")
    assert sorted((r["batch_code"], r["depth"]) for r in rows) == sorted(
        [(farm.code, 0), (left.code, 1), (right.code, 1), (merged.code, 2)])


def test_batches_registered_before_their_licence_was_revoked_are_flagged_a_never_revoked_one_is_not(app, world):
    revoked = licence(app, world, "producer")
    licence(app, world, "rival")
    before = batch(app, world, brand=SLUG, quantity="800")
    kept = batch(app, world, "rival", brand=SLUG, quantity="800")
    unbranded = batch(app, world, quantity="800")
    assert found(app, "license_ended") == []
    write(app, lambda s: revoke_license(s, s.get(Brand, world["brand"].id), s.get(License, revoked.id),
                                        {"reason": "抽检不合格，停止使用品牌"}, user=world["manager"]))
    rows = found(app, "license_ended")
    assert_named(rows, "license_ended")
    assert codes(rows) == {before.code}
    assert kept.code not in codes(rows) and unbranded.code not in codes(rows)
    (row,) = rows
    assert (row["reason"], row["license_id"], row["before_revocation"], row["brand"]) == (
        "revoked", revoked.id, True, SLUG)
    assert row["revoke_reason"] == "抽检不合格，停止使用品牌"


def test_a_batch_whose_licence_has_expired_since_is_flagged_one_still_in_force_is_not(app, world):
    licence(app, world, "producer", valid_from="2025-01-01", valid_to="2025-12-31")
    licence(app, world, "rival", valid_from="2025-01-01", valid_to="2030-12-31")
    old = batch(app, world, brand=SLUG, quantity="800", harvest_date="2025-08-01")
    current = batch(app, world, "rival", brand=SLUG, quantity="800", harvest_date="2025-08-01")
    rows = found(app, "license_ended")
    assert [(r["batch_code"], r["reason"], r["ended_on"], r["before_revocation"]) for r in rows] == [
        (old.code, "expired", "2025-12-31", None)]
    # Seen from a day when the licence was still in force: nothing.
    assert found(app, "license_ended", today=datetime(2025, 12, 31).date()) == []
    assert current.code not in codes(rows)


def test_a_renewed_licence_keeps_a_batch_off_the_expired_list(app, world):
    licence(app, world, "producer", valid_from="2025-01-01", valid_to="2025-12-31")
    old = batch(app, world, brand=SLUG, quantity="800", harvest_date="2025-08-01")
    assert codes(found(app, "license_ended")) == {old.code}
    licence(app, world, "producer", valid_from="2025-06-01", valid_to="2027-12-31")
    assert found(app, "license_ended") == []


def test_batches_showing_a_certificate_since_revoked_are_flagged(app, world):
    cert = write(app, lambda s: make_certification(s, world["certifier"], world["producer_org"].id))
    write(app, lambda s: make_certification(s, world["certifier"], world["rival_org"].id))
    other_product = write(app, lambda s: make_certification(s, world["certifier"], world["producer_org"].id,
                                                            products=["茶叶"]))
    shown = batch(app, world, quantity="500")
    before_validity = batch(app, world, quantity="500", harvest_date="2026-02-20")  # before valid_from 03-01
    rivals = batch(app, world, "rival", quantity="500")
    assert found(app, "certificate_revoked") == []
    for revoked in (cert, other_product):
        write(app, lambda s, c=revoked: revoke_certification(s, c.id, {"reason": "监督抽查不合格"},
                                                             user=world["certifier"]))
    rows = found(app, "certificate_revoked")
    assert_named(rows, "certificate_revoked")
    assert [(r["batch_code"], r["certification_id"], r["certificate_number"]) for r in rows] == [
        (shown.code, cert.id, cert.number)]
    assert before_validity.code not in codes(rows) and rivals.code not in codes(rows)


def test_licences_at_ninety_percent_of_their_cap_are_near_at_eighty_nine_quiet_and_over_when_exceeded(app, world):
    cap = {"quantity": "1000", "unit": "kg"}
    near = licence(app, world, "producer", **cap)
    quiet = licence(app, world, "rival", **cap)
    batch(app, world, brand=SLUG, quantity="500")
    batch(app, world, brand=SLUG, quantity="800", unit="斤")  # 400 kg: converted as the claim check does
    batch(app, world, "rival", brand=SLUG, quantity="0.89", unit="t")  # 890 kg: 89 %
    rows = found(app, "license_cap")
    assert_named(rows, "license_cap")
    assert [(r["license_id"], r["year"], r["reason"], r["used"], r["cap"], r["share"]) for r in rows] == [
        (near.id, 2026, "near", "900", "1000", 0.9)]
    assert quiet.id not in {r["license_id"] for r in rows}
    # A second licence for the same brand with a smaller cap: the year's use (900 kg) is over it.
    over = licence(app, world, "producer", products=["黄桃罐头"], quantity="800", unit="kg")
    rows = found(app, "license_cap")
    assert [(r["license_id"], r["reason"], r["used"]) for r in rows] == [(over.id, "over", "900"),
                                                                         (near.id, "near", "900")]
    # The threshold is a setting (RISK_CAP_PERCENT).
    assert {r["license_id"] for r in found(app, "license_cap", settings=Settings(cap_percent=89))} == {
        near.id, quiet.id, over.id}


def test_a_cap_in_pieces_counts_only_batches_in_the_same_unit(app, world):
    boxes = licence(app, world, "producer", quantity="100", unit="箱")
    batch(app, world, brand=SLUG, quantity="95", unit="箱")
    rows = found(app, "license_cap")
    assert [(r["license_id"], r["used"], r["unit"]) for r in rows] == [(boxes.id, "95", "箱")]


def test_a_self_test_certificate_without_a_passing_inspection_by_its_issue_date_is_flagged(app, world):
    tested = batch(app, world, quantity="500")
    passed = inspect(app, world, tested, inspected_on="2026-08-03")
    write(app, lambda s: make_compliance(s, world["producer"], tested, basis="self_test", inspection=passed.id,
                                         issued_on="2026-08-05"))
    # Issued on 08-05 citing a test that only passed on 08-10: the promise was not tested when made.
    early = batch(app, world, quantity="500")
    later = inspect(app, world, early, inspected_on="2026-08-10")
    untested = write(app, lambda s: make_compliance(s, world["producer"], early, basis="self_test",
                                                    inspection=later.id, issued_on="2026-08-05"))
    controlled = batch(app, world, quantity="500")  # a quality-control promise rests on no test
    write(app, lambda s: make_compliance(s, world["producer"], controlled, issued_on="2026-08-05"))
    rows = found(app, "self_test_uninspected")
    assert_named(rows, "self_test_uninspected")
    assert [(r["batch_code"], r["certificate_code"], r["cited_report"], r["cited_on"]) for r in rows] == [
        (early.code, untested.code, later.report_no, "2026-08-10")]
    # Voided, it no longer stands.
    write(app, lambda s: void_compliance_certificate(s, s.get(ComplianceCertificate, untested.id),
                                                     {"reason": "开错了"}, user=world["producer"]))
    assert found(app, "self_test_uninspected") == []


def add_scans(app, target, moments: list[datetime], clients: list[str], regions: list[str] | None = None) -> None:
    with app.app_context(), db.database().sessions() as s:
        s.add_all(Scan(batch_id=target.id, scanned_at=m, client=c, hints="mobile; Android; WeChat; zh-CN", region=r)
                  for m, c, r in zip(moments, clients, regions or [None] * len(moments), strict=True))
        s.commit()


def test_one_clients_many_scans_are_not_flagged_as_the_consumer_page_does_not_word_them(app, world):
    start = datetime(2026, 9, 1, 8, 0)
    busy = batch(app, world)
    add_scans(app, busy, [start + timedelta(hours=i) for i in range(30)], ["a" * 64] * 30)
    assert found(app, "scan_anomaly") == []


def test_codes_scanned_from_many_regions_within_the_window_are_flagged(app, world):
    start = datetime(2026, 9, 1, 8, 0)
    spread, near = batch(app, world), batch(app, world)
    add_scans(app, spread, [start + timedelta(minutes=i) for i in range(5)], [f"{i:064x}" for i in range(5)],
              ["CN-HN", "CN-GD", "CN-SH", "CN-BJ", "CN-ZJ"])
    add_scans(app, near, [start + timedelta(minutes=i) for i in range(5)], [f"{i:064x}" for i in range(5)],
              ["CN-HN", "CN-HN", "CN-GD", "CN-SH", "CN-BJ"])
    rows = found(app, "scan_anomaly")
    assert_named(rows, "scan_anomaly", version=2)
    assert [(r["batch_code"], r["reason"], r["peak_regions"]) for r in rows] == [(spread.code, "regions", 5)]
    assert rows[0]["first_scan"] == "2026-09-01T08:00:00Z"
    # from/to keep the scans of those days.
    assert found(app, "scan_anomaly", date_to=date(2026, 8, 31)) == []
    assert codes(found(app, "scan_anomaly", date_from=date(2026, 9, 1), date_to=date(2026, 9, 2))) == {spread.code}
    assert found(app, "scan_anomaly", producer=world["rival_org"].id) == []


def test_codes_scanned_by_many_clients_within_the_window_are_flagged_spread_out_they_are_not(app, world):
    start = datetime(2026, 9, 1, 8, 0)
    burst, spread = batch(app, world), batch(app, world)
    clients = [f"{i:064x}" for i in range(10)]
    # Ten clients within 45 minutes.
    add_scans(app, burst, [start + timedelta(minutes=5 * i) for i in range(10)], clients)
    # Ten clients too, but the tenth comes 2 hours after the first: at most nine within any hour.
    add_scans(app, spread, [start + timedelta(minutes=5 * i) for i in range(9)] + [start + timedelta(hours=2)],
              clients)
    rows = found(app, "scan_anomaly")
    assert [(r["batch_code"], r["reason"], r["peak_clients"]) for r in rows] == [(burst.code, "clients", 10)]
    # The window is SCAN_ALERT_WINDOW: three hours takes in the spread-out code too.
    wide = found(app, "scan_anomaly", settings=Settings(scan_window=3 * 3600))
    assert codes(wide) == {burst.code, spread.code}


def test_producers_with_two_failures_within_a_year_are_flagged_one_failure_or_two_far_apart_are_not(app, world):
    for day in ("2026-08-03", "2026-09-02"):
        inspect(app, world, batch(app, world, harvest_date="2026-08-01"), inspected_on=day, verdict="fail")
    inspect(app, world, batch(app, world, "rival"), verdict="fail")
    inspect(app, world, batch(app, world, "far", harvest_date="2025-06-01", origin_region="420625"),
            inspected_on="2025-06-05", verdict="fail")
    inspect(app, world, batch(app, world, "far", harvest_date="2026-07-10", origin_region="420625"),
            inspected_on="2026-07-15", verdict="fail")  # 405 days after the first
    rows = found(app, "repeated_failures")
    assert_named(rows, "repeated_failures")
    assert [(r["organization_id"], r["failures"], r["shortest_span"], r["day"]) for r in rows] == [
        (world["producer_org"].id, 2, 30, "2026-09-02")]
    # The count and the span are settings (RISK_REPEAT_FAILURES, RISK_REPEAT_DAYS).
    assert {r["organization_id"] for r in found(app, "repeated_failures", settings=Settings(repeat_days=405))} == {
        world["producer_org"].id, world["far_org"].id}
    assert {r["organization_id"] for r in found(app, "repeated_failures", settings=Settings(repeat_failures=1))} == {
        world["producer_org"].id, world["rival_org"].id, world["far_org"].id}


# -- filters --------------------------------------------------------------------------------------

@pytest.fixture
def failures(app, world):
    """Failed inspections: ``branded`` (producer, 炎陵黄桃, 08-03), ``plain`` (producer, 08-20), ``rivals``
    (rival, 08-12) in 炎陵县, ``far`` (谷城县, 湖北, 08-15)."""
    licence(app, world, "producer")
    made = {"branded": batch(app, world, brand=SLUG), "plain": batch(app, world),
            "rivals": batch(app, world, "rival"), "far": batch(app, world, "far", origin_region="420625")}
    for name, day in (("branded", "2026-08-03"), ("plain", "2026-08-20"), ("rivals", "2026-08-12"),
                      ("far", "2026-08-15")):
        inspect(app, world, made[name], inspected_on=day, verdict="fail")
    return {name: b.code for name, b in made.items()}


def named(failures: dict, *names: str) -> set[str]:
    return {failures[n] for n in names}


def test_the_region_filter_takes_in_everything_inside_a_province_or_city(app, world, failures):
    every = named(failures, "branded", "plain", "rivals", "far")
    assert codes(found(app, "failed_inspection")) == every
    hunan = named(failures, "branded", "plain", "rivals")
    for region in ("430000", "430200", "430225"):  # 湖南省, 株洲市, 炎陵县
        assert codes(found(app, "failed_inspection", region=region)) == hunan, region
    assert codes(found(app, "failed_inspection", region="420000")) == named(failures, "far")
    assert found(app, "failed_inspection", region="430202") == []  # another district of 株洲市


def test_the_brand_producer_and_date_filters_narrow_the_list(app, world, failures):
    assert codes(found(app, "failed_inspection", brand=SLUG)) == named(failures, "branded")
    assert codes(found(app, "failed_inspection", producer=world["rival_org"].id)) == named(failures, "rivals")
    assert codes(found(app, "failed_inspection", date_from=datetime(2026, 8, 12).date())) == named(
        failures, "plain", "rivals", "far")
    assert codes(found(app, "failed_inspection", date_to=datetime(2026, 8, 12).date())) == named(
        failures, "branded", "rivals")
    assert codes(found(app, "failed_inspection", date_from=datetime(2026, 8, 13).date(),
                       date_to=datetime(2026, 8, 19).date())) == named(failures, "far")


def test_producer_rules_filter_by_the_producers_region_and_brand_licence(app, world, failures):
    inspect(app, world, batch(app, world, "rival"), inspected_on="2026-09-01", verdict="fail")
    everyone = {world["producer_org"].id, world["rival_org"].id}
    assert {r["organization_id"] for r in found(app, "repeated_failures")} == everyone
    assert {r["organization_id"] for r in found(app, "repeated_failures", region="430000")} == everyone
    assert found(app, "repeated_failures", region="420000") == []
    # Only the producer holds a 炎陵黄桃 licence.
    assert {r["organization_id"] for r in found(app, "repeated_failures", brand=SLUG)} == {world["producer_org"].id}
    assert {r["organization_id"] for r in found(app, "repeated_failures", producer=world["rival_org"].id)} == {
        world["rival_org"].id}
    # From 08-12 on, the producer failed once (08-20): no longer repeated; the rival twice (08-12, 09-01).
    assert {r["organization_id"] for r in found(app, "repeated_failures",
                                                date_from=datetime(2026, 8, 12).date())} == {world["rival_org"].id}


def test_counts_follow_the_filters(app, world, failures):
    with app.app_context():
        session = db.session()
        assert risk.count_all(session)["failed_inspection"] == 4
        counts = risk.count_all(session, Filters(region="420000"))
    assert counts == {rule.name: 0 for rule in risk.RULES} | {"failed_inspection": 1}


# -- pages, desk, API, access ---------------------------------------------------------------------

def test_the_desk_shows_a_count_per_rule_linking_to_its_list(app, world, failures):
    client = app.test_client()
    log_in(client, "reg_ui")
    page = client.get("/audit/").text
    shown = dict(re.findall(r'href="/audit/risks/(\w+)" data-rule="\1">[^<]*<strong class="risk-count">(\d+)<',
                            page))
    assert shown == {rule.name: "0" for rule in risk.RULES} | {"failed_inspection": "4", "repeated_failures": "1"}



def desk_count(client, rule: str) -> int:
    page = client.get("/audit/").text
    return int(re.search(rf'data-rule="{rule}">[^<]*<strong class="risk-count">(\d+)<', page).group(1))


def test_the_desks_counts_are_kept_while_the_ledger_is_unchanged_and_for_a_minute_at_most(app, world, failures):
    client = app.test_client()
    log_in(client, "reg_ui")
    assert desk_count(client, "scan_anomaly") == 0
    with app.app_context(), db.write_session() as s:  # scans are not ledger facts: the kept count stays
        s.add_all(Scan(batch_id=s.scalar(select(Batch.id).where(Batch.code == failures["plain"])),
                       scanned_at=datetime(2026, 8, 21, 8, 0, n), client=f"c{n}", hints="") for n in range(25))
    assert desk_count(client, "scan_anomaly") == 0
    app.config["RISK_COUNTS_SECONDS"] = 0  # past the minute it is counted again
    assert desk_count(client, "scan_anomaly") == 1
    app.config["RISK_COUNTS_SECONDS"] = 60
    inspect(app, world, batch(app, world), inspected_on="2026-08-22", verdict="fail")  # the ledger grew
    assert desk_count(client, "failed_inspection") == 5

def test_the_list_page_links_each_finding_and_names_its_rule(app, world, failures):
    client = app.test_client()
    log_in(client, "reg_ui")
    overview = client.get("/audit/risks/?region=430000")
    assert overview.status_code == 200
    assert 'href="/audit/risks/failed_inspection?region=430000"' in overview.text
    page = client.get(f"/audit/risks/failed_inspection?region=430000&brand={SLUG}")
    assert page.status_code == 200 and "检测不合格及受影响批次" in page.text
    assert re.search(r"共 1 条", page.text)
    assert f'href="/batches/{failures["branded"]}"' in page.text and failures["plain"] not in page.text
    assert f'href="/brands/{SLUG}">炎陵黄桃</a>' in page.text  # the brand by its name, not its slug
    assert f'href="/audit/risks/?producer={world["producer_org"].id}"' in page.text
    assert page.text.count('data-rule="failed_inspection" data-version="1"') == 1
    english = client.get("/audit/risks/failed_inspection?lang=en")
    assert "Failed inspections and the batches they touch" in english.text and "4 findings" in english.text


def test_every_rules_list_page_shows_its_findings_in_both_languages(app, world):
    licence(app, world, "producer", quantity="1000")
    cert = write(app, lambda s: make_certification(s, world["certifier"], world["producer_org"].id))
    branded = batch(app, world, brand=SLUG, quantity="950")
    inspect(app, world, branded, inspected_on="2026-08-02", verdict="fail")
    inspect(app, world, branded, inspected_on="2026-08-04", verdict="fail")
    passed = inspect(app, world, branded, inspected_on="2026-08-10")
    write(app, lambda s: make_compliance(s, world["producer"], branded, basis="self_test", inspection=passed.id,
                                         issued_on="2026-08-05"))
    add_scans(app, branded, [datetime(2026, 9, 1) + timedelta(minutes=i) for i in range(10)],
              [f"{i:064x}" for i in range(10)])
    write(app, lambda s: revoke_certification(s, cert.id, {"reason": "监督抽查不合格"}, user=world["certifier"]))
    leaf = batch(app, world, product="茶鲜叶", category="tea", quantity="10")  # not what the certificate covers
    batch(app, world, product="绿茶", category="tea", quantity="5", inputs=[{"code": leaf.code, "quantity": "10"}])
    write(app, lambda s: recall_batch(s, get_batch(s, leaf.code), {"reason": "农残超标"}, user=world["regulator"]))
    client = app.test_client()
    log_in(client, "reg_ui")
    rules = client.get(f"{API}/risks", headers=bearer(world, "regulator")).json["rules"]
    counts = {r["name"]: r["count"] for r in rules}
    # two failed inspections of the batch; its licence never ended
    assert counts == {rule.name: 1 for rule in risk.RULES} | {"failed_inspection": 2, "license_ended": 0}
    for rule in risk.RULES:
        for lang in ("zh", "en"):
            page = client.get(f"/audit/risks/{rule.name}?lang={lang}")
            assert page.status_code == 200, (rule.name, lang)
            rows = page.text.count(f'<tr data-rule="{rule.name}" data-version="{rule.version}">')
            assert rows == counts[rule.name], (rule.name, lang)
    cap = client.get("/audit/risks/license_cap?lang=zh").text
    assert "950 kg" in cap and "1,000 kg" in cap and "95.0%" in cap and "接近上限" in cap


def test_the_list_pages_through_its_findings(app, world):
    farm = batch(app, world, quantity="1000")
    level = farm
    for _ in range(3):
        level = batch(app, world, quantity="10", inputs=[{"code": level.code, "quantity": "10"}])
    for day in range(1, 18):
        inspect(app, world, farm, inspected_on=f"2026-08-{day:02d}", verdict="fail")  # 17 × 4 batches = 68
    client = app.test_client()
    log_in(client, "admin_ui")
    first = client.get("/audit/risks/failed_inspection")
    assert first.text.count("<tr data-rule=") == 50 and 'rel="next" href="/audit/risks/failed_inspection?page=2"' \
        in first.text
    second = client.get("/audit/risks/failed_inspection?page=2")
    assert second.text.count("<tr data-rule=") == 18 and 'rel="prev"' in second.text


@pytest.mark.parametrize("query, field", [
    ("region=999999", "region"), ("region=4302", "region"), ("brand=no-such-brand", "brand"),
    ("brand=NUL%00", "brand"), ("producer=abc", "producer"), ("producer=999999", "producer"),
    ("from=2026-13-01", "from"), ("to=yesterday", "to"), ("from=2026-09-01&to=2026-08-01", "from"),
    ("page=0", "page"),
])
def test_bad_filters_get_a_400_naming_the_field(app, world, query, field):
    client = app.test_client()
    log_in(client, "reg_ui")
    page = client.get(f"/audit/risks/failed_inspection?{query}")
    assert page.status_code == 400 and field in page.text, page.text
    if field == "page":  # the API pages with limit and offset, as its other lists do
        query, field = "limit=0", "limit"
    answer = client.get(f"{API}/risks/license_cap?{query}", headers=bearer(world, "regulator"))
    assert answer.status_code == 400 and field in answer.json["error"]["fields"], answer.json


def test_a_bad_filter_is_explained_in_the_users_language(app, world):
    client = app.test_client()
    log_in(client, "reg_ui")
    assert "行政区划代码必须是 6 位数字（GB/T 2260）" in client.get("/audit/risks/?region=99").text
    english = client.get("/audit/risks/?region=99&lang=en")
    assert english.status_code == 400 and "Administrative division code must be 6 digits" in english.text
    answer = client.get(f"{API}/risks?from=2026-02-30", headers={**bearer(world, "regulator"),
                                                                 "Accept-Language": "en"})
    assert answer.status_code == 400 and answer.json["error"]["message"].startswith("From (from) must be a date")


def test_an_unknown_rule_is_a_404_naming_the_rules(app, world):
    client = app.test_client()
    log_in(client, "reg_ui")
    page = client.get("/audit/risks/no_such_rule")
    assert page.status_code == 404 and "failed_inspection" in page.text


def test_only_regulators_and_admins_see_the_risks(app, world):
    anonymous = app.test_client()
    assert anonymous.get("/audit/risks/").status_code == 302
    producer = app.test_client()
    log_in(producer, "producer_ui")
    for url in ("/audit/risks/", "/audit/risks/failed_inspection"):
        assert producer.get(url).status_code == 403
    for url in (f"{API}/risks", f"{API}/risks/failed_inspection"):
        assert app.test_client().get(url, headers=bearer(world, "producer")).status_code == 403
        assert app.test_client().get(url).status_code == 401
    admin = app.test_client()
    log_in(admin, "admin_ui")
    assert admin.get("/audit/risks/").status_code == 200


def test_the_api_lists_counts_and_findings_with_their_rule(app, world, failures):
    headers = bearer(world, "regulator")
    overview = app.test_client().get(f"{API}/risks?region=430000", headers=headers)
    assert overview.status_code == 200
    rules = {r["name"]: r for r in overview.json["rules"]}
    assert list(rules) == [rule.name for rule in risk.RULES]
    assert rules["failed_inspection"]["count"] == 3 and rules["failed_inspection"]["version"] == 1
    assert rules["failed_inspection"]["url"] == "/api/v1/risks/failed_inspection?region=430000"
    assert overview.json["filters"] == {"region": "430000"}
    listed = app.test_client().get(f"{API}/risks/failed_inspection?region=430000&limit=2&offset=1", headers=headers)
    body = listed.json
    assert (body["name"], body["version"], body["count"], body["limit"], body["offset"]) == (
        "failed_inspection", 1, 3, 2, 1)
    assert len(body["findings"]) == 2
    assert all((f["rule"], f["version"]) == ("failed_inspection", 1) for f in body["findings"])
    assert {f["batch_code"] for f in body["findings"]} < named(failures, "branded", "plain", "rivals")
    assert "/risks/{name}" in app.test_client().get(f"{API}/openapi.json").json["paths"]

"""The dashboards (regulator, brand owner, producer): every figure equals a count made here straight from the
rows it summarizes (the demo data plus records each test adds through the services), the CSV download is the
table, each chart is an SVG named by its title, and only the roles and organizations it belongs to see it
(403 for the others, including another brand's owner and another producer). SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import select

from tests.factories import make_batch, make_compliance, make_inspection
from traceapp import clock, db
from traceapp.audit import risk
from traceapp.audit.filters import Filters
from traceapp.auth.models import User
from traceapp.brands.models import Brand, License
from traceapp.dashboards.queries import dated_rules, months
from traceapp.demo import DEMO_PASSWORD
from traceapp.ledger.store import LedgerEntry
from traceapp.records.compliance import void_compliance_certificate
from traceapp.records.models import Batch, ComplianceCertificate, Inspection, Organization
from traceapp.records.recalls import RECALLED, recall_batch

FROM, TO = "2025-01-01", "2026-12-31"
RANGE = {"from": FROM, "to": TO}
MONTHS = months(date(2025, 1, 1), date(2026, 12, 31))
FAIL = [{"name": "毒死蜱", "method": "GB 23200.113", "value": "0.05", "limit": "0.02", "unit": "mg/kg",
         "verdict": "fail"}]


def log_in(app, username: str):
    client = app.test_client()
    page = client.get("/login")
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    return client


def table(page: str, key: str) -> list[list[str]]:
    """Return the figure's table as text cells, header row first."""
    found = re.search(rf'<table[^>]*id="table-{key}".*?</table>', page, re.S)
    assert found, f"no table {key}"
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
             for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", found.group(0), re.S)]


def body_rows(page: str, key: str) -> list[list[str]]:
    return table(page, key)[1:]


def percent(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.1f}%" if whole else "—"


def user(session, name: str) -> User:
    return session.scalar(select(User).where(User.username == name))


def brand_named(session, name: str) -> Brand:
    return session.scalar(select(Brand).where(Brand.name == name))


@pytest.fixture
def added(demo):
    """Records added to the demo data: a branded batch of luyuan's in March 2026 with a failed inspection and a
    合格证 that is then voided, a batch of ceyuan's with a 合格证 and a passed inspection, an unbranded batch of
    teaco's in 湖北, and a regulator's recall of the luyuan batch."""
    app = demo
    with app.app_context(), db.write_session() as s:
        slug = brand_named(s, "炎陵黄桃").slug
        luyuan, ceyuan, teaco = user(s, "luyuan"), user(s, "ceyuan"), user(s, "teaco")
        failed = make_batch(s, luyuan, brand=slug, harvest_date="2026-03-10", pack_date=None, quantity="700")
        make_inspection(s, user(s, "inspector"), failed, inspected_on="2026-03-12", verdict="fail", items=FAIL,
                        report_no="DASH-2026-0001")
        cert = make_compliance(s, luyuan, failed, issued_on="2026-03-12", quantity="100")
        void_compliance_certificate(s, cert, {"reason": "检测不合格"}, user=luyuan)
        good = make_batch(s, ceyuan, brand=slug, harvest_date="2026-03-20", pack_date=None, quantity="300")
        make_inspection(s, user(s, "inspector"), good, inspected_on="2026-04-02", report_no="DASH-2026-0002")
        make_compliance(s, ceyuan, good, issued_on="2026-04-03", quantity="300")
        make_batch(s, teaco, product="绿茶", category="tea", harvest_date="2026-04-15", pack_date=None,
                   origin_region="420625", quantity="50")
        recall_batch(s, s.get(Batch, failed.id), {"reason": "抽检不合格", "scope": "batch"}, user=user(s, "regulator"))
        return {"slug": slug, "failed": failed.code, "good": good.code}


def all_rows(app):
    """Every batch, inspection and 合格证, read here for the counts the figures must equal."""
    with app.app_context():
        s = db.session()
        return (s.scalars(select(Batch)).all(), s.scalars(select(Inspection)).all(),
                s.scalars(select(ComplianceCertificate)).all())


def in_range(day: date) -> bool:
    return date.fromisoformat(FROM) <= day <= date.fromisoformat(TO)


def month(day: date) -> str:
    return day.isoformat()[:7]


# -- the figures equal the rows -------------------------------------------------------------------------

@pytest.mark.parametrize("narrow", [False, True], ids=["everything", "county-and-brand"])
def test_the_regulators_figures_equal_counts_of_the_rows(demo, added, narrow):
    batches, inspections, certs = all_rows(demo)
    wanted = (lambda b: b.origin_region == "430225" and b.brand == added["slug"]) if narrow else (lambda b: True)
    args = {**RANGE, **({"region": "430225", "brand": added["slug"]} if narrow else {})}
    page = log_in(demo, "regulator").get("/dashboards/regulator", query_string=args)
    assert page.status_code == 200
    text = page.text

    per_month = Counter(month(b.harvest_date) for b in batches if wanted(b) and in_range(b.harvest_date))
    assert body_rows(text, "batches") == [[m, str(per_month[m])] for m in MONTHS]
    assert sum(per_month.values()) > 0

    by_id = {b.id: b for b in batches}
    counted = [i for i in inspections if wanted(by_id[i.batch_id]) and in_range(i.inspected_on)]
    totals, passes = Counter(month(i.inspected_on) for i in counted), Counter(
        month(i.inspected_on) for i in counted if i.verdict == "pass")
    assert body_rows(text, "pass_rate") == [[m, str(totals[m]), str(passes[m]), percent(passes[m], totals[m])]
                                            for m in MONTHS]
    assert any(i.verdict == "fail" for i in counted)

    products, passed = Counter(by_id[i.batch_id].product for i in counted), Counter(
        by_id[i.batch_id].product for i in counted if i.verdict == "pass")
    assert sorted(body_rows(text, "by_product")) == sorted(
        [p, str(n), str(passed[p]), percent(passed[p], n)] for p, n in products.items())

    with demo.app_context():
        s = db.session()
        filters = Filters(region="430225" if narrow else None, brand=added["slug"] if narrow else None,
                          date_from=date.fromisoformat(FROM), date_to=date.fromisoformat(TO))
        findings = Counter(finding["day"].isoformat()[:7] for rule in dated_rules()
                           for finding in risk.list_findings(s, rule, filters, limit=100_000))
        codes = {b.code: b for b in batches}
        recalls = Counter()
        for entry in s.scalars(select(LedgerEntry).where(LedgerEntry.kind == RECALLED)):
            day = clock.local_date(json.loads(bytes(entry.body))["ts"])
            if wanted(codes[entry.subject.removeprefix("batch:")]) and in_range(date.fromisoformat(day)):
                recalls[day[:7]] += 1
    assert body_rows(text, "risks") == [[m, str(findings[m]), str(recalls[m])] for m in MONTHS]
    assert sum(recalls.values()) >= 1 and sum(findings.values()) >= 1


def test_the_brand_owners_figures_count_only_its_brands(demo, added):
    batches, inspections, certs = all_rows(demo)
    with demo.app_context():
        s = db.session()
        owned = {b.slug for b in s.scalars(select(Brand).join(Organization, Organization.id == Brand.owner_id)
                                                .where(Organization.id == user(s, "brand").organization_id))}
        licences = s.execute(select(License, Organization.name, Brand.name, Brand.slug)
                             .join(Organization, Organization.id == License.licensee_id)
                             .join(Brand, Brand.id == License.brand_id).where(Brand.slug.in_(owned))).all()
    assert added["slug"] in owned
    text = log_in(demo, "brand").get("/dashboards/brand", query_string=RANGE).text

    ours = [b for b in batches if b.brand in owned]
    per_month = Counter(month(b.harvest_date) for b in ours if in_range(b.harvest_date))
    assert body_rows(text, "batches") == [[m, str(per_month[m])] for m in MONTHS]
    assert any(b.brand and b.brand not in owned for b in batches)  # another owner's brand exists and is left out

    covered_ids = {c.batch_id for c in certs if c.voided_on is None}
    covered = Counter(month(b.harvest_date) for b in ours if in_range(b.harvest_date) and b.id in covered_ids)
    assert body_rows(text, "coverage") == [[m, str(per_month[m]), str(covered[m]), percent(covered[m], per_month[m])]
                                           for m in MONTHS]
    assert per_month["2026-03"] == covered["2026-03"] + 1  # the voided 合格证 does not cover its batch

    ids = {b.id for b in ours}
    counted = [i for i in inspections if i.batch_id in ids and in_range(i.inspected_on)]
    totals = Counter(month(i.inspected_on) for i in counted)
    passes = Counter(month(i.inspected_on) for i in counted if i.verdict == "pass")
    assert body_rows(text, "pass_rate") == [[m, str(totals[m]), str(passes[m]), percent(passes[m], totals[m])]
                                            for m in MONTHS]

    with demo.app_context():
        today = clock.today()
    use = {}
    for licence, licensee, brand, slug in licences:
        if licence.revoked_on is None and licence.valid_from <= today <= licence.valid_to:
            used = sum(b.quantity for b in batches if b.brand == slug and b.organization_id == licence.licensee_id
                       and b.harvest_date.year == today.year and b.unit == licence.unit)
            use[(brand, licensee)] = f"{float(used) * 100 / float(licence.quantity):.1f}%"
    shown = {(row[0], row[1]): row[5] for row in body_rows(text, "use")}
    assert shown == use and use


def test_the_producers_figures_count_only_its_own_batches(demo, added):
    batches, inspections, certs = all_rows(demo)
    with demo.app_context():
        org_id = user(db.session(), "luyuan").organization_id
    text = log_in(demo, "luyuan").get("/dashboards/producer", query_string=RANGE).text
    ours = [b for b in batches if b.organization_id == org_id]
    per_month = Counter(month(b.harvest_date) for b in ours if in_range(b.harvest_date))
    assert body_rows(text, "batches") == [[m, str(per_month[m])] for m in MONTHS]
    assert len(ours) < len(batches)

    covered_ids = {c.batch_id for c in certs if c.voided_on is None}
    covered = Counter(month(b.harvest_date) for b in ours if in_range(b.harvest_date) and b.id in covered_ids)
    assert body_rows(text, "coverage") == [[m, str(per_month[m]), str(covered[m]), percent(covered[m], per_month[m])]
                                           for m in MONTHS]
    ids = {b.id for b in ours}
    counted = [i for i in inspections if i.batch_id in ids and in_range(i.inspected_on)]
    totals = Counter(month(i.inspected_on) for i in counted)
    passes = Counter(month(i.inspected_on) for i in counted if i.verdict == "pass")
    assert body_rows(text, "inspections") == [[m, str(totals[m]), str(passes[m]), str(totals[m] - passes[m])]
                                              for m in MONTHS]
    assert totals["2026-03"] - passes["2026-03"] >= 1


# -- the CSV is the table; the chart is an SVG with its title --------------------------------------------

@pytest.mark.parametrize("who, name, keys", [
    ("regulator", "regulator", ("batches", "pass_rate", "by_product", "risks")),
    ("brand", "brand", ("use", "batches", "pass_rate", "coverage")),
    ("luyuan", "producer", ("batches", "coverage", "inspections")),
])
def test_each_csv_is_its_table_and_each_chart_an_svg_with_its_title(demo, who, name, keys):
    client = log_in(demo, who)
    text = client.get(f"/dashboards/{name}", query_string=RANGE).text
    for key in keys:
        section = re.search(rf'<section[^>]*id="figure-{key}".*?</section>', text, re.S).group(0)
        title = html.unescape(re.search(r"<h2[^>]*>(.*?)</h2>", section).group(1))
        svg = re.search(r'<svg[^>]*role="img"[^>]*aria-labelledby="([^"]+)"[^>]*>(.*?)</svg>', section, re.S)
        assert svg, key
        assert html.unescape(re.search(r"<title[^>]*>(.*?)</title>", svg.group(2)).group(1)) == title
        assert "<desc" in svg.group(2)
        download = client.get(f"/dashboards/{name}/{key}.csv", query_string=RANGE)
        assert download.status_code == 200 and download.mimetype == "text/csv"
        assert list(csv.reader(io.StringIO(download.text.lstrip("\ufeff")))) == table(text, key)


def test_a_long_use_table_shows_the_charts_rows_and_the_csv_holds_them_all(demo, monkeypatch):
    """A brand with more licences than the chart draws: the page's table shows the same fullest rows as
    the chart, and says so; the CSV lists every licence."""
    from traceapp.dashboards import figures

    monkeypatch.setitem(demo.config, "DASHBOARD_CACHE", False)  # each view makes its figures afresh
    client = log_in(demo, "brand")
    everything = list(csv.reader(io.StringIO(client.get("/dashboards/brand/use.csv").text.lstrip("\ufeff"))))
    assert len(everything) >= 3, "the demo brand owner needs two licences for this test"
    monkeypatch.setattr(figures, "METER_ROWS", 1)
    text = client.get("/dashboards/brand").text
    assert table(text, "use") == everything[:2]
    assert "下载的 CSV 列出全部" in text
    assert list(csv.reader(io.StringIO(client.get("/dashboards/brand/use.csv").text.lstrip("\ufeff")))) == everything


def test_the_dashboard_speaks_english(demo):
    text = log_in(demo, "regulator").get("/dashboards/regulator", query_string={**RANGE, "lang": "en"}).text
    assert "Regulator overview" in text and "监管总览" not in text
    assert table(text, "batches")[0] == ["Month", "Batches"]


# -- who sees what ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, allowed", [
    ("regulator", {"regulator", "admin"}),
    ("brand", {"brand", "teabrand", "admin"}),
    ("producer", {"luyuan", "ceyuan", "teaco", "teafarm", "admin"}),
])
def test_each_dashboard_refuses_the_roles_it_is_not_for(demo, name, allowed):
    for who in ("admin", "luyuan", "ceyuan", "teaco", "teafarm", "inspector", "certifier", "brand", "teabrand",
                "regulator"):
        client = log_in(demo, who)
        expected = 200 if who in allowed else 403
        assert client.get(f"/dashboards/{name}").status_code == expected, (who, name)
        assert client.get(f"/dashboards/{name}/batches.csv").status_code in (
            (200, 404) if who in allowed else (403,)), (who, name)
    assert demo.test_client().get(f"/dashboards/{name}").status_code == 302  # to the sign-in page


def test_a_brand_owner_cannot_see_another_owners_brand(demo, added):
    client = log_in(demo, "teabrand")
    assert client.get("/dashboards/brand", query_string={"brand": added["slug"]}).status_code == 403
    assert client.get("/dashboards/brand/batches.csv", query_string={"brand": added["slug"]}).status_code == 403
    assert log_in(demo, "brand").get("/dashboards/brand", query_string={"brand": added["slug"]}).status_code == 200


def test_a_producer_cannot_see_another_producers_dashboard(demo, added):
    with demo.app_context():
        other = user(db.session(), "ceyuan").organization_id
    client = log_in(demo, "luyuan")
    assert client.get("/dashboards/producer", query_string={"producer": other}).status_code == 403
    assert client.get("/dashboards/producer/batches.csv", query_string={"producer": other}).status_code == 403
    with demo.app_context():
        name = db.session().get(Organization, other).name
    admin = log_in(demo, "admin").get("/dashboards/producer", query_string={"producer": other, **RANGE})
    assert admin.status_code == 200 and name in admin.text and 'id="table-batches"' in admin.text


def test_a_bad_date_range_is_a_400_naming_the_field(demo):
    client = log_in(demo, "regulator")
    page = client.get("/dashboards/regulator", query_string={"from": "2026-05-01", "to": "2026-01-01"})
    assert page.status_code == 400 and "开始日期" in page.text
    page = client.get("/dashboards/regulator", query_string={"from": "2000-01-01", "to": "2026-01-01"})
    assert page.status_code == 400 and "120" in page.text


def test_a_new_batch_shows_on_the_next_view_of_the_dashboard(demo):
    client = log_in(demo, "luyuan")
    before = dict(body_rows(client.get("/dashboards/producer", query_string=RANGE).text, "batches"))
    with demo.app_context(), db.write_session() as s:
        make_batch(s, user(s, "luyuan"), harvest_date="2026-02-14", pack_date=None)
    after = dict(body_rows(client.get("/dashboards/producer", query_string=RANGE).text, "batches"))
    assert int(after["2026-02"]) == int(before["2026-02"]) + 1
    assert {m: n for m, n in after.items() if m != "2026-02"} == {m: n for m, n in before.items() if m != "2026-02"}


@pytest.mark.parametrize("who", ["regulator", "brand", "luyuan"])
def test_a_range_ending_in_the_first_months_of_the_calendar_starts_at_its_first_day(demo, who):
    """The default start, eleven months before the end, would fall before year 1."""
    name = {"regulator": "regulator", "brand": "brand", "luyuan": "producer"}[who]
    page = log_in(demo, who).get(f"/dashboards/{name}", query_string={"to": "0001-03-01"})
    assert page.status_code == 200
    assert "0001-01-01 至 0001-03-01" in page.text

"""The record lists and searches (issue 24, item 3) and the homes that lead to the work (item 5): each
list's results and count equal what the test counts straight from the rows, page after page; roles
that must not see a list get 403, and another organization's records never appear."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from sqlalchemy import select

from tests.factories import make_batch, make_certification, make_inspection, make_org, make_user
from tests.test_records_views import log_in
from traceapp import db
from traceapp.auth.models import User
from traceapp.lists import search
from traceapp.records.code_states import freeze_code, void_code
from traceapp.records.models import Batch, Certification, CodeState, ComplianceCertificate, Inspection, LabelPrint
from traceapp.records.recalls import recall_batch, recall_status

PASSWORD = "traceapp-demo"


def _user(session, name: str) -> User:
    return session.scalar(select(User).where(User.username == name))


@pytest.fixture
def registry(demo):
    """The demo data plus batches of both demo cooperatives over two seasons (one frozen, one void,
    one recalled), an inspection by a second body and a certificate by a second certification body."""
    with demo.app_context(), db.write_session() as s:
        luyuan, ceyuan, regulator = _user(s, "luyuan"), _user(s, "ceyuan"), _user(s, "regulator")
        made = {}
        for n, (product, harvest, brand) in enumerate([
                ("黄桃", "2026-07-20", "yanling-huangtao"), ("黄桃", "2026-07-25", None), ("冬笋", "2026-01-10", None),
                ("黄桃", "2025-08-03", "yanling-huangtao"), ("黄桃干", "2025-08-04", None),
                ("黄桃", "2024-07-30", None),
                ("猕猴桃", "2026-07-22", None), ("黄桃", "2026-07-26", "yanling-huangtao")]):
            made[n] = make_batch(s, luyuan, product=product, harvest_date=harvest, brand=brand, pack_date=None)
        made["rival"] = make_batch(s, ceyuan, product="黄桃", harvest_date="2026-07-21", brand="yanling-huangtao",
                                   pack_date=None)
        made["rival2"] = make_batch(s, ceyuan, product="黄桃", harvest_date="2026-07-23", origin_region="430224",
                                    pack_date=None)
        s.flush()
        freeze_code(s, made[1], {"reason": "包装待核对"}, user=luyuan)
        void_code(s, made[2], {"reason": "重复登记"}, user=luyuan)
        recall_batch(s, made[6], {"reason": "抽检农残超标"}, user=regulator)
        recall_batch(s, made["rival"], {"reason": "抽检农残超标"}, user=regulator)
        other_lab = make_org(s, kind="inspection_body", name="另一家检测站")
        other_inspector = make_user(s, "inspector", other_lab.id, name="lab2", password=PASSWORD)
        make_inspection(s, other_inspector, made[0], report_no="LAB2-0001")
        other_body = make_org(s, kind="certification_body", name="另一家认证中心")
        other_certifier = make_user(s, "certifier", other_body.id, name="cert2", password=PASSWORD)
        make_certification(s, other_certifier, luyuan.organization_id, number="GF430225269901")
    return demo


def _state(session, batch: Batch) -> str:
    row = session.get(CodeState, batch.id)
    if row is not None and row.state == "void":
        return "void"
    if recall_status(session, batch) is not None:
        return "recalled"
    return row.state if row is not None else "active"


def _expected(session, org_id: int | None, *, product=None, date_from=None, date_to=None, state=None,
              brand=None, region=None, producer=None) -> list[str]:
    """The codes a batch search should find, worked out row by row in Python, newest harvest first."""
    found = []
    for b in session.scalars(select(Batch)):
        if ((org_id is not None and b.organization_id != org_id) or (product and product not in b.product)
                or (date_from and b.harvest_date < date_from) or (date_to and b.harvest_date > date_to)
                or (brand and b.brand != brand) or (region and b.origin_region != region)
                or (producer and b.organization_id != producer) or (state and _state(session, b) != state)):
            continue
        found.append(b)
    return [b.code for b in sorted(found, key=lambda b: (b.harvest_date, b.id), reverse=True)]


def _all_pages(session, wanted, limit: int) -> tuple[list[str], int]:
    codes, after, count = [], None, None
    while True:
        page = search.search_batches(session, wanted, {"after": after} if after else {}, limit=limit)
        assert count is None or page.count == count
        count = page.count
        codes += [row["code"] for row in page.rows]
        if page.next_after is None:
            return codes, count
        after = page.next_after


SEARCHES = [{}, {"product": "黄桃"}, {"product": "黄桃", "from": "2026-07-01", "to": "2026-07-31"},
            {"from": "2025-01-01", "to": "2025-12-31"}, {"state": "active"}, {"state": "frozen"},
            {"state": "void"}, {"state": "recalled"}, {"brand": "yanling-huangtao"}]


@pytest.mark.parametrize("args", SEARCHES)
def test_a_producers_batch_search_finds_what_its_rows_hold_page_after_page(registry, args):
    with registry.test_request_context():
        session = db.session()
        luyuan = _user(session, "luyuan")
        wanted = search.read_batch_search(session, args, luyuan)
        expected = _expected(session, luyuan.organization_id, product=args.get("product"), state=args.get("state"),
                             brand=args.get("brand"),
                             date_from=date.fromisoformat(args["from"]) if "from" in args else None,
                             date_to=date.fromisoformat(args["to"]) if "to" in args else None)
        codes, count = _all_pages(session, wanted, limit=2)
    assert codes == expected and count == len(expected)


@pytest.mark.parametrize("args", [{}, {"brand": "yanling-huangtao", "region": "430225"}, {"region": "430224"},
                                  {"state": "recalled"}, {"product": "黄桃", "from": "2026-07-21"}])
def test_the_regulators_search_spans_every_organization_and_equals_the_rows(registry, args):
    with registry.test_request_context():
        session = db.session()
        regulator = _user(session, "regulator")
        wanted = search.read_batch_search(session, args, regulator)
        expected = _expected(session, None, product=args.get("product"), state=args.get("state"),
                             brand=args.get("brand"), region=args.get("region"),
                             date_from=date.fromisoformat(args["from"]) if "from" in args else None)
        codes, count = _all_pages(session, wanted, limit=3)
    assert codes == expected and count == len(expected)
    client = registry.test_client()
    log_in(client, "regulator")
    page = client.get("/batches/", query_string=args)
    assert page.status_code == 200
    assert f"共 {len(expected):,} 条" in page.text
    assert re.findall(r'<tr data-code="([0-9A-Z]+)"', page.text) == expected[:search.PAGE_SIZE]


def test_a_producers_list_page_and_csv_hold_only_its_own_batches(registry):
    client = registry.test_client()
    log_in(client, "luyuan")
    with registry.app_context():
        session = db.session()
        own = _expected(session, _user(session, "luyuan").organization_id)
        others = {b.code for b in session.scalars(select(Batch)) if b.code not in own}
    page = client.get("/batches/?producer=999")  # a producer's own list: another producer cannot be asked for
    assert page.status_code == 200
    assert re.findall(r'<tr data-code="([0-9A-Z]+)"', page.text) == own and f"共 {len(own)} 条" in page.text
    exported = client.get("/batches.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "批次码" and [r[0] for r in rows[1:]] == own
    assert not others & {r[0] for r in rows[1:]} and not any(code in page.text for code in others)


def test_the_count_stops_at_the_cap_and_says_there_are_more(registry, monkeypatch):
    with registry.test_request_context():
        session = db.session()
        regulator = _user(session, "regulator")
        total = len(_expected(session, None))
        monkeypatch.setattr(search, "COUNT_CAP", total - 2)
        page = search.search_batches(session, search.read_batch_search(session, {}, regulator))
    assert (page.count, page.capped) == (total - 2, True)
    client = registry.test_client()
    log_in(client, "regulator")
    assert f"共 {total - 2:,} 条以上" in client.get("/batches/").text


LISTS = {"/batches/": ("inspector", "certifier", "brand", "teabrand"),
         "/batches.csv": ("inspector", "certifier", "brand"),
         "/inspections/": ("luyuan", "certifier", "brand"),
         "/inspections.csv": ("luyuan", "certifier", "brand"),
         "/certifications": ("luyuan", "inspector", "brand"),
         "/certifications.csv": ("luyuan", "inspector", "brand")}


@pytest.mark.parametrize("path", LISTS)
def test_roles_without_the_list_are_refused(demo, path):
    for username in LISTS[path]:
        client = demo.test_client()
        log_in(client, username)
        assert client.get(path).status_code == 403, (path, username)
    assert demo.test_client().get(path).status_code == 302  # signed out: to the login page


def test_an_inspector_lists_only_its_own_bodys_inspections(registry):
    client = registry.test_client()
    log_in(client, "inspector")
    with registry.app_context():
        session = db.session()
        body = _user(session, "inspector").organization_id
        own = {i.report_no for i in session.scalars(select(Inspection).where(Inspection.body_id == body))}
        passed = {i.report_no for i in session.scalars(select(Inspection).where(
            Inspection.body_id == body, Inspection.verdict == "pass"))}
    page = client.get("/inspections/")
    assert set(re.findall(r'<tr data-report="([^"]+)"', page.text)) == own and "LAB2-0001" not in page.text
    assert f"共 {len(own)} 条" in page.text
    assert set(re.findall(r'<tr data-report="([^"]+)"', client.get("/inspections/?verdict=pass").text)) == passed
    rows = list(csv.reader(io.StringIO(client.get("/inspections.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert {r[0] for r in rows[1:]} == own


def test_a_certifier_lists_only_its_bodys_certificates_and_revokes_one_after_confirming(registry):
    client = registry.test_client()
    token = log_in(client, "certifier")
    with registry.app_context():
        session = db.session()
        from traceapp.records.certifications import issuing_body

        body = _user(session, "certifier").organization_id
        own = {c.number for c in session.scalars(select(Certification)) if issuing_body(session, c) == body}
    page = client.get("/certifications")
    assert set(re.findall(r'data-number="([^"]+)"', page.text)) == own and "GF430225269901" not in page.text
    rows = list(csv.reader(io.StringIO(client.get("/certifications.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][1] == "证书编号" and {r[1] for r in rows[1:]} == own
    valid = client.get("/certifications?status=valid").text
    number = re.findall(r'<tr class="cert valid" data-number="([^"]+)"', valid)[0]
    with registry.app_context():
        cert_id = db.session().scalar(select(Certification.id).where(Certification.number == number))
    asked = client.post(f"/certifications/{cert_id}/revoke", data={"csrf_token": token, "reason": "监督抽检不合格"})
    assert asked.status_code == 200 and "确认撤销证书" in asked.text  # a confirmation first, nothing written
    done = client.post(f"/certifications/{cert_id}/revoke", data={"csrf_token": token, "reason": "监督抽检不合格",
                                                                  "confirm": "1"})
    assert done.status_code == 303 and done.location.endswith("/certifications")
    assert number in client.get("/certifications?status=revoked").text


@pytest.mark.parametrize(("path", "args", "label"), [
    ("/batches/", {"from": "2026-13-01"}, "采收日期从"), ("/batches/", {"state": "gone"}, "状态"),
    ("/batches/", {"from": "2026-08-01", "to": "2026-07-01"}, "采收日期从"), ("/batches/", {"after": "x"}, "翻页位置"),
    ("/batches/", {"code": "AB-12"}, "批次码"), ("/inspections/", {"to": "yesterday"}, "检测日期到"),
    ("/certifications", {"status": "lost"}, "证书状态"),
    ("/batches/", {"producer": "9" * 23}, "生产主体"), ("/batches/", {"producer": "１２"}, "生产主体")])
def test_a_bad_search_field_is_named_by_its_label(demo, path, args, label):
    client = demo.test_client()
    log_in(client, "regulator")
    response = client.get(path, query_string=args)
    assert response.status_code == 400
    banner = re.search(r'<p class="error banner" role="alert">([^<]+)', response.text).group(1)
    assert banner.startswith(label)
    beside = re.search(r'<p class="field-error" id="e-([a-z]+)" role="alert">([^<]+)</p>', response.text)
    if "after" not in args:  # paging has no field of its own: the message stands above the form
        assert beside.group(1) in args and beside.group(2) == banner


def test_a_producers_home_lists_batches_without_a_certificate_or_labels(registry):
    client = registry.test_client()
    log_in(client, "luyuan")
    with registry.app_context():
        session = db.session()
        org = _user(session, "luyuan").organization_id
        batches = [b for b in session.scalars(select(Batch).where(Batch.organization_id == org))
                   if _state(session, b) != "void" and (session.get(CodeState, b.id) is None
                                                         or session.get(CodeState, b.id).state != "void")]
        certified = {c.batch_id for c in session.scalars(select(ComplianceCertificate).where(
            ComplianceCertificate.voided_on.is_(None)))}
        printed = set(session.scalars(select(LabelPrint.batch_id)))
        no_cert = [b.code for b in batches if b.id not in certified]
        no_labels = [b.code for b in batches if b.id not in printed]
    home = client.get("/home").text
    section = re.search(r'id="todo-certificate">(.*?)</section>', home, re.S).group(1)
    assert f"{len(no_cert)} 个" in section and set(re.findall(r"<code>([0-9A-Z]+)</code>", section)) <= set(no_cert)
    assert len(re.findall(r"<code>", section)) == min(len(no_cert), 10)
    section = re.search(r'id="todo-labels">(.*?)</section>', home, re.S).group(1)
    assert f"{len(no_labels)} 个" in section
    assert 'id="recall-banner"' in home  # its recalled batch


def test_an_inspectors_home_lists_recent_batches_of_producers_it_serves_awaiting_inspection(registry):
    with registry.app_context(), db.write_session() as s:
        luyuan = _user(s, "luyuan")
        fresh = make_batch(s, luyuan, product="黄桃", harvest_date=date.today().isoformat(), pack_date=None)
        stranger_org = make_org(s, kind="cooperative", name="从未送检的合作社")
        stranger = make_batch(s, make_user(s, "producer", stranger_org.id, password=None), product="黄桃",
                              harvest_date=date.today().isoformat(), pack_date=None)
        fresh_code, stranger_code = fresh.code, stranger.code
    client = registry.test_client()
    log_in(client, "inspector")
    section = re.search(r'id="todo-awaiting">(.*?)</section>', client.get("/home").text, re.S).group(1)
    assert fresh_code in section and stranger_code not in section


def test_a_regulators_home_shows_risk_counts_and_the_last_verification(demo):
    client = demo.test_client()
    log_in(client, "regulator")
    home = client.get("/home").text
    assert 'id="home-risks"' in home and 'id="home-verification"' in home and "批次查询" in home

"""Consumer pages kept rendered (``traceapp.public.stored_pages``): the first view of a page stores
it with its scan, later views are served from it with their own scan sentence, and every write
that changes what a page shows marks it unbuilt in its transaction, so no view ever shows a page
older than the rows. Recalled, frozen and void codes, signed-in viewers, query strings, pooled
batches, a past validity date and another release all get the page rendered in full.
``flask db consumer-pages`` builds pages ahead and finds pages rows changed behind the services.
SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select, text

from tests.factories import (
    make_batch,
    make_brand,
    make_brand_owner,
    make_certification,
    make_compliance,
    make_inspection,
    make_license,
    make_world,
)
from traceapp import db
from traceapp.brands.models import Brand, License
from traceapp.brands.services import change_brand, revoke_license
from traceapp.ledger.store import begin_write
from traceapp.public import scans, stored_pages
from traceapp.records.certifications import revoke_certification
from traceapp.records.code_states import freeze_code
from traceapp.records.compliance import void_compliance_certificate
from traceapp.records.corrections import correct_batch
from traceapp.records.models import Batch, Certification, ComplianceCertificate
from traceapp.records.recalls import recall_batch

SLUG = "yanling-huangtao"
TAMPERED = "这一行只在存储的页面里"  # put into a stored page to tell a served page from a rendered one


@pytest.fixture
def world(app):
    """make_world's users; 炎陵黄桃 licensed to the producer 2026-2030; three of the producer's batches
    claiming it (the third pooled from the first two) and one of the rival's."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["owner_org"], world["manager"] = make_brand_owner(s)
        world["brand"] = make_brand(s, world["manager"])
        world["licence"] = make_license(s, world["manager"], world["brand"], world["producer_org"].id,
                                        valid_to="2030-12-31")
        producer = world["producer"]
        a = make_batch(s, producer, brand=SLUG, pack_date=None, quantity="400")  # 100 left for a 合格证
        b = make_batch(s, producer, brand=SLUG, pack_date=None, quantity="200")
        pooled = make_batch(s, producer, brand=SLUG, pack_date=None, quantity="500",
                            inputs=[{"code": a.code, "quantity": "300"}, {"code": b.code, "quantity": "200"}])
        rival = make_batch(s, world["rival"])
        world["codes"] = [a.code, b.code, pooled.code, rival.code]
        return world


def view(app, code: str, query: str = "", client=None) -> str:
    """The page's HTML, and its scan (and the page it rendered) written."""
    response = (client or app.test_client()).get(f"/t/{code}{query}")
    assert response.status_code == 200
    scans.flush(app)
    return response.text


def stored(app, code: str, lang: str = "zh") -> str | None:
    with app.app_context(), db.database().engine.connect() as conn:
        return conn.execute(text("SELECT p.html FROM consumer_pages p JOIN batches b ON b.id = p.batch_id "
                                 "WHERE b.code = :code AND p.lang = :lang"), {"code": code, "lang": lang}).scalar()


def tamper(app, code: str) -> None:
    """Add a line to the code's stored pages, as only a page served from storage would show it."""
    with app.app_context(), db.database().engine.begin() as conn:
        conn.execute(text("UPDATE consumer_pages SET html = replace(html, '</main>', :line) "
                          "WHERE batch_id = (SELECT id FROM batches WHERE code = :code)"),
                     {"line": f"<p>{TAMPERED}</p></main>", "code": code})


def write(app, work) -> None:
    with app.app_context(), db.write_session() as s:
        work(s)


def batch(s, code: str) -> Batch:
    return s.scalars(select(Batch).where(Batch.code == code)).one()


def without_scans(page: str) -> str:
    return re.sub(r'<p class="scans" id="scans".*?</p>', "", page, flags=re.S)


def test_the_first_view_stores_the_page_and_later_views_are_served_from_it(app, world):
    a = world["codes"][0]
    assert stored(app, a) is None
    first = view(app, a)
    kept = stored(app, a)
    assert kept is not None and stored_pages.SCANS_MARKER in kept and "共查询" not in kept
    assert stored(app, a, "en") is None
    second = view(app, a)
    assert without_scans(second) == without_scans(first)
    # The scan sentence is filled in on each view (no labels printed here: no scan counts yet).
    assert "标签尚未" in first and "标签尚未" in second
    tamper(app, a)
    assert TAMPERED in view(app, a)
    english = view(app, a, "?lang=en")
    assert TAMPERED not in english and "Product traceability" in english and stored(app, a, "en") is not None


def test_each_kind_of_write_marks_the_pages_it_shows_on_and_no_view_shows_an_older_one(app, world):
    a, b, pooled, rival = world["codes"]
    for code in world["codes"]:
        view(app, code)

    def served_after(work, *, changed, check) -> None:
        for code in world["codes"]:
            tamper(app, code)
        write(app, work)
        for code in world["codes"]:
            page = view(app, code)
            assert (TAMPERED in page) is (code not in changed), code
            if code in changed:
                assert check(page), code
            view(app, code)  # stores the fresh page again

    served_after(lambda s: make_inspection(s, world["inspector"], batch(s, a), report_no="ZZJC-2026-7777"),
                 changed={a}, check=lambda page: "ZZJC-2026-7777" in page)
    served_after(lambda s: make_compliance(s, world["producer"], batch(s, a)),
                 changed={a}, check=lambda page: "尚未开具合格证" not in page)
    served_after(lambda s: void_compliance_certificate(s, s.scalars(select(ComplianceCertificate)).one(),
                                                       {"reason": "包装标识错误"}, user=world["producer"]),
                 changed={a}, check=lambda page: "包装标识错误" in page)
    served_after(lambda s: correct_batch(s, batch(s, b), {"fields": {"base": "策源乡基地"}, "reason": "基地写错"},
                                         user=world["producer"]),
                 changed={b, pooled}, check=lambda page: "策源乡基地" in page)
    served_after(lambda s: make_certification(s, world["certifier"], world["producer_org"].id, number="GF430225269999"),
                 changed={a, b, pooled}, check=lambda page: "GF430225269999" in page)
    served_after(lambda s: revoke_certification(s, s.scalars(select(Certification)).one().id,
                                                {"reason": "监督抽查不合格"}, user=world["certifier"]),
                 changed={a, b, pooled}, check=lambda page: "监督抽查不合格" in page)
    served_after(lambda s: change_brand(s, s.get(Brand, world["brand"].id), {"name": "炎陵锦绣黄桃"},
                                        user=world["manager"]),
                 changed={a, b, pooled}, check=lambda page: "炎陵锦绣黄桃" in page)
    served_after(lambda s: revoke_license(s, s.get(Brand, world["brand"].id), s.get(License, world["licence"].id),
                                          {"reason": "超范围使用品牌"}, user=world["manager"]),
                 changed={a, b, pooled}, check=lambda page: "许可已于" in page)
    view(app, rival, "?lang=en")
    tamper(app, rival)
    with app.app_context():  # every page was stored again after the last write: only the tampered ones differ
        assert stored_pages.stale(app) == [(rival, "en"), (rival, "zh")]
        assert stored_pages.stale(app, chunk=1) == [(rival, "en"), (rival, "zh")]  # a page at a time, none skipped


def test_a_registration_writes_nothing_to_the_pages_but_a_correction_marks_its_batch(app, world):
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        if "consumer_page" in statement:
            statements.append(statement.split()[0] + " " + statement.split()[2])

    with app.app_context():
        engine = db.database().engine
        event.listen(engine, "before_cursor_execute", seen)
        try:
            write(app, lambda s: make_batch(s, world["producer"]))
            assert statements == []
            write(app, lambda s: correct_batch(s, batch(s, world["codes"][3]),
                                               {"fields": {"base": "新基地"}, "reason": "基地写错"},
                                               user=world["rival"]))
            assert statements == ["UPDATE SET", "WITH touched(id,"]  # the epoch, then the batch and those made from it
        finally:
            event.remove(engine, "before_cursor_execute", seen)


def test_a_rolled_back_write_leaves_the_pages_as_they_were(app, world):
    a = world["codes"][0]
    view(app, a)
    before = stored(app, a)
    with app.app_context(), db.database().sessions() as s:
        begin_write(s)
        change_brand(s, s.get(Brand, world["brand"].id), {"name": "别的名字"}, user=world["manager"])
        s.flush()
        s.rollback()
    assert stored(app, a) == before


def test_a_page_read_before_a_write_committed_is_never_stored_over_its_mark(app, world):
    """The race the epoch closes: a view reads the rows, a write commits and marks the page, then
    the view's page is stored (the scans' writer stores it later, with the scan)."""
    a = world["codes"][0]
    with app.app_context():
        from traceapp.public.consumer import read_consumer_page

        with db.database().engine.connect() as conn:
            old = read_consumer_page(conn, a)
        write(app, lambda s: make_inspection(s, world["inspector"], batch(s, a), report_no="ZZJC-2026-8888"))
        with app.test_request_context(f"/t/{a}"):
            late = stored_pages.page_row(old.batch_id, "zh", "<p>old page</p>", old.page_version, old.view)
        with db.database().engine.begin() as conn:
            stored_pages.store(conn, [late])
    assert stored(app, a) is None  # the mark stands
    assert "ZZJC-2026-8888" in view(app, a) and "ZZJC-2026-8888" in stored(app, a)


def test_recalled_frozen_pooled_signed_in_and_queried_pages_are_rendered_in_full(app, world):
    a, b, pooled, rival = world["codes"]
    for code in world["codes"]:
        view(app, code)
        tamper(app, code)
    assert TAMPERED in view(app, pooled)  # stored too: writes to its sources mark it
    assert TAMPERED not in view(app, a, "?utm_source=wechat")

    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = world["producer"].get_id()
        session["_fresh"] = True
    signed_in = view(app, a, client=client)
    assert TAMPERED not in signed_in and world["producer"].username in signed_in

    write(app, lambda s: freeze_code(s, batch(s, b), {"reason": "包装印刷批次核查中"}, user=world["regulator"]))
    frozen = view(app, b)
    assert TAMPERED not in frozen and 'id="code-state"' in frozen
    write(app, lambda s: recall_batch(s, batch(s, rival), {"reason": "农残超标"}, user=world["regulator"]))
    recalled = view(app, rival)
    assert TAMPERED not in recalled and 'id="recall-banner"' in recalled
    assert TAMPERED in view(app, a)


def test_a_page_is_not_served_past_the_last_day_it_is_right_nor_by_another_release(app, world):
    a = world["codes"][0]
    view(app, a)  # licensed for 2026: the page says the licence is valid until its end
    with app.app_context(), db.database().engine.connect() as conn:
        until = conn.execute(text("SELECT valid_through FROM consumer_pages WHERE lang = 'zh' AND batch_id = "
                                  "(SELECT id FROM batches WHERE code = :code)"), {"code": a}).scalar()
        until = date.fromisoformat(until) if isinstance(until, str) else until
        assert until == world["licence"].valid_to
        with app.test_request_context(f"/t/{a}"):
            stamp = stored_pages.release()
        assert scans.on_scan_connection(lambda c: stored_pages.read(c, a, "zh", stamp, until)).html is not None
        assert scans.on_scan_connection(lambda c: stored_pages.read(c, a, "zh", stamp, until + timedelta(days=1))
                                        ).html is None
        assert scans.on_scan_connection(lambda c: stored_pages.read(c, a, "zh", "another", until)).html is None


def test_the_cli_builds_pages_ahead_and_finds_pages_rows_changed_behind_the_services(app, world):
    a, b, pooled, rival = world["codes"]
    runner = app.test_cli_runner()
    built = runner.invoke(args=["db", "consumer-pages"])
    assert built.exit_code == 0 and "stored 8 consumer pages" in built.output  # 4 batches, 2 languages
    assert "Product traceability" in stored(app, a, "en") and "产品追溯" in stored(app, a, "zh")
    assert "原料来源" in stored(app, pooled)
    assert runner.invoke(args=["db", "consumer-pages"]).output.strip() == "stored 0 consumer pages"
    assert runner.invoke(args=["db", "consumer-pages", "--check"]).exit_code == 0
    page = view(app, a)
    assert without_scans(page) == without_scans(app.test_client().get(f"/t/{a}?lang=zh").text)

    with app.app_context(), db.database().engine.begin() as conn:
        conn.execute(text("UPDATE batches SET base = '改过的基地' WHERE code = :code"), {"code": a})
    checked = runner.invoke(args=["db", "consumer-pages", "--check"])
    assert checked.exit_code == 1  # the pooled batch shows the base of its source too
    assert f"4 stored consumer pages differ from their rows: {a} (en), {a} (zh), {pooled} (en), {pooled} (zh)" \
        in checked.output
    rebuilt = runner.invoke(args=["db", "consumer-pages", "--rebuild", "--lang", "zh"])
    assert rebuilt.exit_code == 0 and "stored 4 consumer pages" in rebuilt.output
    assert "改过的基地" in view(app, a) and "改过的基地" not in stored(app, a, "en")


def test_building_in_parts_stores_each_page_once(app, world):
    """``--jobs N`` gives each process the batches whose id is k modulo N."""
    with app.app_context():
        parts = [stored_pages.build(app, ["zh"], part=(k, 2)) for k in range(2)]
        assert parts == [2, 2] and stored_pages.build(app, ["zh"]) == 0
    assert [stored(app, code) is not None for code in world["codes"]] == [True, True, True, True]


def test_the_release_stamp_covers_the_templates(app, tmp_path):
    """A changed template must not serve pages its old version rendered (the app names its template
    folder relative to its root path, as traceapp's own does)."""
    import os
    import shutil

    with app.test_request_context("/"):
        before = stored_pages.release()
    copy = tmp_path / "templates"
    shutil.copytree(app.template_folder if app.template_folder.startswith("/")
                    else f"{app.root_path}/{app.template_folder}", copy)
    (copy / "public" / "trace.html").write_text((copy / "public" / "trace.html").read_text() + "\n")
    app.template_folder = os.path.relpath(copy, app.root_path)
    app.extensions.pop("traceapp.stored_pages.release", None)
    with app.test_request_context("/"):
        assert stored_pages.release() != before

"""Each batch's stored consumer page value (``traceapp.public.page_data``) follows every write that
changes what its page shows: batches, inputs, inspections, 合格证, corrections, certificates, brands
and licences mark it unbuilt in their transaction; the page builds an unbuilt value as it reads, and
the scans' writer stores it with the view's scan. A rolled-back write leaves it as it was; a value
built from an older ledger never replaces a newer one; ``stale`` finds a value that rows changed
behind the services' back, and ``flask db page-data`` rebuilds them. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

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
from traceapp.public import page_data, scans
from traceapp.public.consumer import read_consumer_page
from traceapp.records.certifications import revoke_certification
from traceapp.records.compliance import void_compliance_certificate
from traceapp.records.corrections import correct_batch
from traceapp.records.models import Batch, Certification, ComplianceCertificate

SLUG = "yanling-huangtao"


@pytest.fixture
def world(app):
    """make_world's users; 炎陵黄桃 owned by a brand owner, licensed to the producer for 2026; three of
    the producer's batches claiming it (the third pooled from the first two) and one of the rival's."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["owner_org"], world["manager"] = make_brand_owner(s)
        world["brand"] = make_brand(s, world["manager"])
        world["licence"] = make_license(s, world["manager"], world["brand"], world["producer_org"].id)
        producer = world["producer"]
        a = make_batch(s, producer, brand=SLUG, pack_date=None, quantity="300")
        b = make_batch(s, producer, brand=SLUG, pack_date=None, quantity="200")
        pooled = make_batch(s, producer, brand=SLUG, pack_date=None, quantity="500",
                            inputs=[{"code": a.code, "quantity": "300"}, {"code": b.code, "quantity": "200"}])
        rival = make_batch(s, world["rival"])
        world["codes"] = [a.code, b.code, pooled.code, rival.code]
        return world


def stale() -> list[int]:
    with db.database().engine.connect() as conn:
        return page_data.stale(conn)


def page(code: str) -> dict:
    with db.database().engine.connect() as conn:
        return read_consumer_page(conn, code).view


def stored(code: str):
    """The batch's stored value (None when unbuilt or missing)."""
    with db.database().engine.connect() as conn:
        return conn.execute(text("SELECT v.value FROM consumer_page_data v JOIN batches b ON b.id = v.batch_id "
                                 "WHERE b.code = :code"), {"code": code}).scalar()


def view_all(app, codes) -> None:
    """View each code's page over HTTP and write the views' scans (and the values they built)."""
    client = app.test_client()
    for code in codes:
        assert client.get(f"/t/{code}").status_code == 200
    scans.flush(app)


def write(work) -> None:
    with db.write_session() as s:
        work(s)


def batch(s, code: str) -> Batch:
    return s.query(Batch).filter_by(code=code).one()


def test_a_registered_batch_is_marked_and_its_first_view_stores_its_value(app, world):
    with app.app_context():
        with db.database().engine.connect() as conn:
            assert page_data.unbuilt(conn) == 4
        assert [stored(code) for code in world["codes"]] == [None] * 4
        view_all(app, world["codes"])
        with db.database().engine.connect() as conn:
            assert page_data.unbuilt(conn) == 0
            values = conn.execute(text("SELECT count(*) FROM consumer_page_data WHERE value IS NOT NULL")).scalar()
        assert values == 4
        assert stale() == []


def test_each_kind_of_write_refreshes_the_values_it_shows_on(app, world):
    a, b, pooled, rival = world["codes"]
    with app.app_context():
        view_all(app, world["codes"])
        write(lambda s: make_inspection(s, world["inspector"], batch(s, a)))
        assert [i["verdict"] for i in page(a)["inspections"]] == ["pass"]

        write(lambda s: make_compliance(s, world["producer"], batch(s, a)))
        assert len(page(a)["compliance_certificates"]) == 1
        write(lambda s: void_compliance_certificate(s, s.query(ComplianceCertificate).one(),
                                                    {"reason": "包装标识错误"}, user=world["producer"]))
        assert page(a)["compliance_certificates"][0]["voided_on"] is not None

        write(lambda s: correct_batch(s, batch(s, b), {"fields": {"base": "策源乡基地"}, "reason": "基地写错"},
                                      user=world["producer"]))
        assert page(b)["base"] == "策源乡基地" and len(page(b)["corrections"]) == 1

        write(lambda s: make_certification(s, world["certifier"], world["producer_org"].id))
        assert [len(page(code)["certifications"]) for code in world["codes"]] == [1, 1, 1, 0]
        write(lambda s: revoke_certification(s, s.query(Certification).one().id, {"reason": "监督抽查不合格"},
                                             user=world["certifier"]))
        assert {page(code)["certifications"][0]["revoke_reason"] for code in (a, b, pooled)} == {"监督抽查不合格"}

        write(lambda s: change_brand(s, s.get(Brand, world["brand"].id), {"name": "炎陵锦绣黄桃"},
                                     user=world["manager"]))
        assert {page(code)["claim"]["name"] for code in (a, b, pooled)} == {"炎陵锦绣黄桃"}

        before = page(rival)
        write(lambda s: revoke_license(s, s.get(Brand, world["brand"].id), s.get(License, world["licence"].id),
                                       {"reason": "超范围使用品牌"}, user=world["manager"]))
        assert {page(code)["claim"]["license"]["ended_by"] for code in (a, b, pooled)} == {"revoked"}
        assert page(rival) == before
        assert [stored(code) is None for code in world["codes"]] == [True, True, True, False]
        view_all(app, world["codes"])
        assert None not in [stored(code) for code in world["codes"]]
        assert {page(code)["claim"]["license"]["ended_by"] for code in (a, b, pooled)} == {"revoked"}
        assert stale() == []


def test_a_rolled_back_write_leaves_the_values_as_they_were(app, world):
    a = world["codes"][0]
    with app.app_context():
        view_all(app, world["codes"])
        before = page(a)
        with db.database().sessions() as s:
            begin_write(s)
            change_brand(s, s.get(Brand, world["brand"].id), {"name": "别的名字"}, user=world["manager"])
            s.flush()
            s.rollback()
        assert page(a) == before
        assert stored(a) is not None and stale() == []


def test_a_missing_value_is_built_on_the_read(app, world):
    pooled = world["codes"][2]
    with app.app_context():
        view_all(app, world["codes"])
        before = page(pooled)
        with db.database().engine.begin() as conn:
            conn.execute(text("DELETE FROM consumer_page_data WHERE batch_id = "
                              "(SELECT id FROM batches WHERE code = :code)"), {"code": pooled})
        assert page(pooled) == before
        assert stale() == [] and stored(pooled) is None
        view_all(app, [pooled])
        assert stored(pooled) is not None and page(pooled) == before


def test_a_value_marked_unbuilt_is_built_on_the_read_until_it_is_rebuilt(app, world):
    """What a write leaves when its process dies between its commit and building the values."""
    pooled = world["codes"][2]
    with app.app_context():
        view_all(app, world["codes"])
        before = page(pooled)
        with db.database().engine.begin() as conn:
            batch_id = conn.execute(text("SELECT id FROM batches WHERE code = :code"), {"code": pooled}).scalar()
            page_data.refresh(conn, batches=[batch_id], value=False)
            assert conn.execute(text("SELECT value FROM consumer_page_data WHERE batch_id = :id"),
                                {"id": batch_id}).scalar() is None
        assert page(pooled) == before
        with db.database().engine.connect() as conn:
            assert page_data.unbuilt(conn) == 1
        with db.database().engine.begin() as conn:
            page_data.rebuild(conn)
        assert stored(pooled) is not None and stale() == [] and page(pooled) == before


def test_a_value_built_from_an_older_ledger_never_replaces_a_newer_one(app, world):
    """A refresh that read the tables before a later write committed must not undo that write's mark."""
    a = world["codes"][0]
    with app.app_context():
        view_all(app, [a])
    with app.app_context(), db.database().engine.begin() as conn:
        batch_id = conn.execute(text("SELECT id FROM batches WHERE code = :code"), {"code": a}).scalar()
        size = conn.execute(text("SELECT count(*) FROM ledger_entries")).scalar()
        row = text("SELECT value IS NULL, version FROM consumer_page_data WHERE batch_id = :id")
        assert bool(conn.execute(row, {"id": batch_id}).one()[0]) is False
        conn.execute(text("UPDATE consumer_page_data SET value = NULL, version = :v WHERE batch_id = :id"),
                     {"v": size + 1, "id": batch_id})  # as a write that committed after this refresh's read
        page_data.refresh(conn, batches=[batch_id])
        assert [bool(x) if i == 0 else x for i, x in enumerate(conn.execute(row, {"id": batch_id}).one())] \
            == [True, size + 1]
        conn.execute(text("UPDATE consumer_page_data SET version = :v WHERE batch_id = :id"),
                     {"v": size, "id": batch_id})
        page_data.refresh(conn, batches=[batch_id])
        assert [bool(x) if i == 0 else x for i, x in enumerate(conn.execute(row, {"id": batch_id}).one())] \
            == [False, size]


def test_stale_finds_rows_changed_behind_the_services_and_rebuild_mends_them(app, world):
    a = world["codes"][0]
    with app.app_context():
        view_all(app, world["codes"])
        with db.database().engine.begin() as conn:
            conn.execute(text("UPDATE batches SET base = '改过的基地' WHERE code = :code"), {"code": a})
            batch_id = conn.execute(text("SELECT id FROM batches WHERE code = :code"), {"code": a}).scalar()
        assert stale() == [batch_id]
        assert page(a)["base"] != "改过的基地"  # the page shows the stored value
        with db.database().engine.begin() as conn:
            assert page_data.rebuild(conn) == 4
        assert stale() == []
        assert page(a)["base"] == "改过的基地"


def test_the_cli_checks_and_rebuilds_the_values(app, world):
    a = world["codes"][0]
    runner = app.test_cli_runner()
    with app.app_context():
        view_all(app, world["codes"])
        assert runner.invoke(args=["db", "page-data", "--check"]).exit_code == 0
        with db.database().engine.begin() as conn:
            conn.execute(text("UPDATE batches SET base = '改过的基地' WHERE code = :code"), {"code": a})
        checked = runner.invoke(args=["db", "page-data", "--check"])
        assert checked.exit_code == 1 and "1 batches have a stale consumer page value" in checked.output
        rebuilt = runner.invoke(args=["db", "page-data"])
        assert rebuilt.exit_code == 0 and "built the consumer page values of 4 batches" in rebuilt.output
        assert stale() == [] and page(a)["base"] == "改过的基地"


def test_a_registration_writes_nothing_to_the_values_but_a_correction_marks_its_batch(app, world):
    """A new batch has no value to mark, so registering one costs no statement on the values."""
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        if "consumer_page_data" in statement:
            statements.append(statement)

    with app.app_context():
        engine = db.database().engine
        event.listen(engine, "before_cursor_execute", seen)
        try:
            write(lambda s: make_batch(s, world["producer"]))
            assert statements == []
            write(lambda s: correct_batch(s, batch(s, world["codes"][3]), {"fields": {"base": "新基地"},
                                                                            "reason": "基地写错"},
                                          user=world["rival"]))
            assert len(statements) == 1 and statements[0].startswith("INSERT INTO consumer_page_data")
        finally:
            event.remove(engine, "before_cursor_execute", seen)

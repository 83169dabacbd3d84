"""Registering batches: codes, validation, ownership, pooled inputs, and the ledger entry.
SQLite and PostgreSQL."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.factories import batch_data, make_batch, make_org, make_user, projection_differences
from traceapp import db
from traceapp.errors import Conflict, Forbidden
from traceapp.ledger.store import LedgerEntry
from traceapp.records import services
from traceapp.records.codes import ALPHABET, CODE_LENGTH, normalize_code
from traceapp.records.consistency import differences
from traceapp.records.models import Batch
from traceapp.validation import InvalidInput


@pytest.fixture
def producer(app):
    with app.app_context(), db.write_session() as s:
        org = make_org(s)
        return make_user(s, "producer", org.id)


def ledger_size(session) -> int:
    return session.scalar(select(func.count()).select_from(LedgerEntry))


def test_a_batch_gets_an_unguessable_code_and_its_ledger_entry(app, producer):
    with app.app_context():
        with db.write_session() as s:
            batch = make_batch(s, producer)
        s = db.session()
        assert len(batch.code) == CODE_LENGTH and set(batch.code) <= set(ALPHABET)
        assert normalize_code(batch.code.lower()) == batch.code
        entry = s.scalar(select(LedgerEntry).where(LedgerEntry.subject == f"batch:{batch.code}"))
        data = json.loads(entry.body)["data"]
        assert data["quantity"] == "1200.5" and data["organization"] == f"org:{producer.organization_id}"
        actor = {"user": f"user:{producer.id}", "org": f"org:{producer.organization_id}"}
        assert json.loads(entry.body)["actor"] == actor
        assert differences(s) == []


@pytest.mark.parametrize("overrides,field", [
    ({"product": ""}, "product"),
    ({"category": "fruits"}, "category"),
    ({"quantity": "0"}, "quantity"),
    ({"quantity": "-5"}, "quantity"),
    ({"quantity": 12.5}, "quantity"),
    ({"quantity": "1.2345"}, "quantity"),
    ({"unit": "pounds"}, "unit"),
    ({"harvest_date": "2026-02-30"}, "harvest_date"),
    ({"harvest_date": "2099-01-01", "pack_date": None}, "harvest_date"),
    ({"pack_date": "2026-07-01"}, "pack_date"),
    ({"origin_region": "999999"}, "origin_region"),
    ({"gtin": "06901234567891"}, "gtin"),
    ({"lot": "A/B"}, "lot"),
    ({"lot": "X" * 21}, "lot"),
    ({"brand": "Yanling Huangtao"}, "brand"),
    ({"inputs": [{"code": "ZZZZZZZZZZZZZ", "quantity": "1"}]}, "inputs[0].code"),
    ({"inputs": "nope"}, "inputs"),
])
def test_bad_input_names_the_field_and_writes_nothing(app, producer, overrides, field):
    with app.app_context():
        before = ledger_size(db.session())
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            make_batch(s, producer, **overrides)
        assert field in info.value.fields, info.value.fields
        db.session().rollback()
        assert ledger_size(db.session()) == before
        assert db.session().scalar(select(func.count()).select_from(Batch)) == 0


def test_producers_register_only_for_their_own_organization_and_other_roles_not_at_all(app, producer):
    with app.app_context():
        with db.write_session() as s:
            other = make_org(s, name="另一个合作社")
            inspector_org = make_org(s, kind="inspection_body", name="检测站")
            inspector = make_user(s, "inspector", inspector_org.id)
        with pytest.raises(Forbidden), db.write_session() as s:
            make_batch(s, producer, organization=other.id)
        with pytest.raises(Forbidden), db.write_session() as s:
            make_batch(s, inspector)


def test_pooled_inputs_cannot_take_more_than_is_left(app, producer):
    with app.app_context():
        with db.write_session() as s:
            a = make_batch(s, producer, quantity="100")
            b = make_batch(s, producer, quantity="50")
        with db.write_session() as s:
            pooled = make_batch(s, producer, quantity="120", inputs=[{"code": a.code.lower(), "quantity": "80"},
                                                                      {"code": b.code, "quantity": "40"}])
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            make_batch(s, producer, quantity="30", inputs=[{"code": a.code, "quantity": "30"}])
        assert "只剩 20" in info.value.fields["inputs[0].quantity"]
        s = db.session()
        assert services.remaining(s, s.get(Batch, a.id)) == Decimal("20")
        entry = json.loads(s.scalar(select(LedgerEntry.body).where(LedgerEntry.subject == f"batch:{pooled.code}")))
        assert entry["data"]["inputs"] == [{"code": a.code, "quantity": "80"}, {"code": b.code, "quantity": "40"}]
        assert differences(s) == []


def test_a_gtin_and_lot_name_one_batch(app, producer):
    with app.app_context():
        with db.write_session() as s:
            make_batch(s, producer, gtin="06901234567892", lot="YL2026-001")
        with pytest.raises(Conflict), db.write_session() as s:
            make_batch(s, producer, gtin="06901234567892", lot="YL2026-001")


def test_a_batch_row_changed_behind_the_ledger_is_reported_by_verify(app, producer):
    with app.app_context():
        with db.write_session() as s:
            batch = make_batch(s, producer, **batch_data(quantity="10"))
        engine = app.extensions["traceapp.db"].engine
        with engine.begin() as conn:
            conn.execute(Batch.__table__.update().where(Batch.__table__.c.id == batch.id).values(quantity=99))
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"batches: {batch.code} differs from entry" in result.output and "quantity" in result.output


def test_the_streamed_batch_check_finds_every_kind_of_damage_across_chunks(app, producer, monkeypatch):
    """With rounds of two rows, a changed row, a row out of registration order, a row with no entry and
    an entry with no row are each reported once, and the intact batches (pooled ones among them) are not."""
    from traceapp.records import projections

    monkeypatch.setattr(projections, "CHUNK", 2)
    with app.app_context():
        with db.write_session() as s:
            batches = [make_batch(s, producer, **batch_data(quantity="10")) for _ in range(5)]
            s.flush()
            pooled = make_batch(s, producer, **batch_data(quantity="8", inputs=[
                {"code": batches[0].code, "quantity": "4"}, {"code": batches[1].code, "quantity": "4"}]))
        assert projection_differences() == []
        table = Batch.__table__
        with app.extensions["traceapp.db"].engine.begin() as conn:
            conn.execute(table.update().where(table.c.id == batches[2].id).values(quantity=99))
            # the last-registered row moved to the front: its entry arrives rounds later, still matched
            conn.execute(table.update().where(table.c.id == batches[4].id).values(id=0))
            conn.execute(table.insert().values({**{c.name: getattr(batches[3], c.key) for c in table.columns},
                                                "id": 1000, "code": "ZZZZZZZZZZZZZ"}))
            conn.execute(table.update().where(table.c.id == batches[3].id).values(code="YYYYYYYYYYYYY"))
        found = projection_differences()
    changed, lost = batches[2], batches[3]
    expected = [f"batches: {changed.code} differs from entry {changed.ledger_seq} in quantity",
                f"batches: {lost.code} is missing (recorded by entry {lost.ledger_seq})",
                "batches: YYYYYYYYYYYYY has no ledger entry", "batches: ZZZZZZZZZZZZZ has no ledger entry"]
    assert sorted(found) == sorted(expected)
    mentioned = " ".join(found)
    assert pooled.code not in mentioned
    assert batches[4].code not in mentioned

"""Correcting a batch: a ``batch.corrected`` entry with the new and the earlier values, the
projection showing the new ones, the rules on what may change, and verify catching a row
changed behind the ledger afterwards. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.factories import count, fetch, make_batch, make_compliance, make_world, projection_differences
from traceapp import clock, db
from traceapp.errors import Conflict, Forbidden
from traceapp.ledger.store import LedgerEntry
from traceapp.records.compliance import void_compliance_certificate
from traceapp.records.corrections import correct_batch
from traceapp.records.models import Batch, BatchCorrection, ComplianceCertificate
from traceapp.validation import InvalidInput


@pytest.fixture
def world(app):
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["batch"] = make_batch(s, world["producer"], quantity="1200.5")
        return world


def correct(user, batch, fields: dict, reason: str = "复核称重后更正"):
    with db.write_session() as s:
        return correct_batch(s, s.get(Batch, batch.id), {"fields": fields, "reason": reason}, user=user)


def test_a_correction_changes_the_projection_and_records_the_previous_values(app, world):
    batch = world["batch"]
    with app.app_context():
        before = count(LedgerEntry)
        correction = correct(world["producer"], batch, {"quantity": "850", "product": " 锦绣黄桃 ", "pack_date": None,
                                                         "harvest_date": "2026-07-30"})
        assert count(LedgerEntry) == before + 1
        row = fetch(Batch, batch.id)
        assert (row.quantity, row.product, row.pack_date, row.harvest_date) == (
            Decimal("850"), "锦绣黄桃", None, date(2026, 7, 30))
        assert (row.unit, row.base, row.code) == ("kg", "鹿原镇九龙村基地", batch.code)
        stored = fetch(BatchCorrection, correction.id)
        fields = {"quantity": "850", "product": "锦绣黄桃", "pack_date": None, "harvest_date": "2026-07-30"}
        previous = {"quantity": "1200.5", "product": "黄桃", "pack_date": "2026-08-02", "harvest_date": "2026-08-01"}
        assert (stored.fields, stored.previous, stored.reason, stored.corrected_by) == (
            fields, previous, "复核称重后更正", world["producer"].username)
        entry = db.session().scalar(select(LedgerEntry).where(LedgerEntry.seq == stored.ledger_seq))
        assert (entry.kind, entry.subject) == ("batch.corrected", f"batch:{batch.code}")
        assert json.loads(entry.body)["data"] == {"corrects": f"batch:{batch.code}", "fields": fields,
                                                  "previous": previous, "reason": "复核称重后更正"}
        assert projection_differences() == []
        correct(world["admin"], batch, {"quantity": "900"})  # an admin may; a second correction stacks
        assert fetch(Batch, batch.id).quantity == Decimal("900")
        assert projection_differences() == []


def test_only_the_batchs_producer_corrects(app, world):
    with app.app_context():
        before = count(LedgerEntry)
        for who in ("rival", "inspector", "certifier", "regulator"):  # rival: another producer organization
            with pytest.raises(Forbidden):
                correct(world[who], world["batch"], {"quantity": "850"})
            assert count(LedgerEntry) == before and count(BatchCorrection) == 0, who
        assert fetch(Batch, world["batch"].id).quantity == Decimal("1200.5")


TOMORROW = (clock.today() + timedelta(days=1)).isoformat()  # in the deployment's time zone


@pytest.mark.parametrize("data,field", [
    ({"fields": {}}, "fields"),
    ({"fields": "quantity=850"}, "fields"),
    ({"fields": {"brand": "yanling-huangtao"}}, "fields"),
    ({"fields": {"unit": "t"}}, "fields"),
    ({"fields": {"organization": 1}}, "fields"),
    ({"fields": {"quantity": "1200.50"}}, "fields"),  # the same value
    ({"fields": {"product": "黄桃", "base": "鹿原镇九龙村基地"}}, "fields"),
    ({"fields": {"quantity": "0"}}, "quantity"),
    ({"fields": {"quantity": 850}, "reason": ""}, "reason"),
    ({"fields": {"product": None}}, "product"),
    ({"fields": {"harvest_date": "2026-08-03"}}, "pack_date"),  # after the pack date 2026-08-02
    ({"fields": {"harvest_date": TOMORROW, "pack_date": None}}, "harvest_date"),
    ({"fields": {"origin_region": "999999"}}, "origin_region"),
    ({"fields": {"gtin": "06901234567891"}}, "gtin"),
])
def test_bad_corrections_name_the_field_and_write_nothing(app, world, data, field):
    with app.app_context():
        before = count(LedgerEntry)
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            correct_batch(s, s.get(Batch, world["batch"].id), {"reason": "更正", **data}, user=world["producer"])
        assert field in info.value.fields, info.value.fields
        assert count(LedgerEntry) == before and count(BatchCorrection) == 0
        assert fetch(Batch, world["batch"].id).product == "黄桃"
        assert projection_differences() == []


def test_quantity_cannot_go_below_what_later_batches_took_plus_issued_certificates(app, world):
    producer, batch = world["producer"], world["batch"]
    with app.app_context():
        with db.write_session() as s:
            make_batch(s, producer, quantity="300", inputs=[{"code": batch.code, "quantity": "300"}])
            cert = make_compliance(s, producer, batch, quantity="200.5")
        with pytest.raises(InvalidInput) as info:
            correct(producer, batch, {"quantity": "500.499"})
        assert "500.5" in info.value.fields["quantity"]
        assert count(BatchCorrection) == 0
        with db.write_session() as s:
            void_compliance_certificate(s, s.get(ComplianceCertificate, cert.id), {"reason": "错开"}, user=producer)
        correct(producer, batch, {"quantity": "300"})  # the voided 合格证 no longer counts
        assert fetch(Batch, batch.id).quantity == Decimal("300")
        with pytest.raises(InvalidInput):
            correct(producer, batch, {"quantity": "299.999"})
        assert projection_differences() == []


def test_a_gtin_and_lot_corrected_onto_another_batchs_are_refused(app, world):
    producer = world["producer"]
    with app.app_context():
        with db.write_session() as s:
            make_batch(s, producer, gtin="06901234567892", lot="YL2026-001")
        correct(producer, world["batch"], {"gtin": "06901234567892", "lot": "YL2026-002"})
        before = count(LedgerEntry)
        with pytest.raises(Conflict):
            correct(producer, world["batch"], {"lot": "YL2026-001"})
        assert count(LedgerEntry) == before and fetch(Batch, world["batch"].id).lot == "YL2026-002"


def test_a_corrected_batch_row_changed_behind_the_ledger_is_reported_by_verify(app, world):
    batch = world["batch"]
    with app.app_context():
        correct(world["producer"], batch, {"quantity": "850"})
        assert projection_differences() == []
        engine = app.extensions["traceapp.db"].engine
        with engine.begin() as conn:  # back to the registered quantity, as if the correction never applied
            conn.execute(Batch.__table__.update().where(Batch.__table__.c.id == batch.id).values(quantity=1200.5))
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"batches: {batch.code} differs from entry {batch.ledger_seq} in quantity" in result.output


def test_the_harvest_date_cannot_move_past_the_batchs_inspections_or_compliance_certificates(app, world):
    from tests.factories import make_inspection

    batch = world["batch"]  # harvested 2026-08-01
    with app.app_context():
        with db.write_session() as s:
            make_inspection(s, world["inspector"], s.get(Batch, batch.id), inspected_on="2026-08-03")
        before = count(LedgerEntry)
        with pytest.raises(InvalidInput) as info:
            correct(world["producer"], batch, {"harvest_date": "2026-08-04", "pack_date": None})
        assert "2026-08-03" in info.value.fields["harvest_date"]
        assert count(LedgerEntry) == before and fetch(Batch, batch.id).harvest_date == date(2026, 8, 1)
        correct(world["producer"], batch, {"harvest_date": "2026-08-03", "pack_date": "2026-08-03"})  # same day: fine
        assert fetch(Batch, batch.id).harvest_date == date(2026, 8, 3)

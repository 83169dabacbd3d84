"""承诺达标合格证: issued by the batch's producer for what is left of it, resting on a passed
inspection when it says it was tested, voided once, never edited. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.factories import (
    compliance_data,
    count,
    fetch,
    item,
    make_batch,
    make_compliance,
    make_inspection,
    make_world,
    projection_differences,
)
from traceapp import clock, db
from traceapp.errors import Conflict, Forbidden, Rejected
from traceapp.ledger.commitments import commitment
from traceapp.ledger.store import LedgerEntry
from traceapp.personal.models import PersonalDatum
from traceapp.records.compliance import (
    PROMISES,
    issue_compliance_certificate,
    issued_quantity,
    void_compliance_certificate,
)
from traceapp.records.models import Batch, ComplianceCertificate
from traceapp.validation import InvalidInput


@pytest.fixture
def world(app):
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["batch"] = make_batch(s, world["producer"], quantity="1000")
        world["passed"] = make_inspection(s, world["inspector"], world["batch"])
        world["failed"] = make_inspection(s, world["inspector"], world["batch"], verdict="fail",
                                          items=[item(value="0.35", verdict="fail")])
        return world


def body_of(seq: int) -> dict:
    with db.database().sessions() as s:
        return json.loads(s.scalar(select(LedgerEntry.body).where(LedgerEntry.seq == seq)))


def test_a_tested_certificate_rests_on_a_passed_inspection_and_appends_one_entry(app, world):
    batch, passed = world["batch"], world["passed"]
    with app.app_context():
        before = count(LedgerEntry)
        with db.write_session() as s:
            cert = make_compliance(s, world["producer"], batch, basis="commissioned_test", inspection=passed.id,
                                   quantity="600.5")
        assert count(LedgerEntry) == before + 1
        row = fetch(ComplianceCertificate, cert.id)
        assert (row.batch_id, row.inspection_id, str(row.quantity), row.promiser, row.issued_on) == (
            batch.id, passed.id, "600.500", "producer", date(2026, 8, 5))
        entry = body_of(row.ledger_seq)
        assert (entry["kind"], entry["subject"]) == ("compliance_certificate.issued",
                                                     f"compliance_certificate:{cert.code}")
        assert entry["data"] == {"code": cert.code, "batch": batch.code, "basis": "commissioned_test",
                                 "inspection": f"inspection:{passed.id}", "quantity": "600.5", "unit": "kg",
                                 "issued_on": "2026-08-05", "promiser": "producer", "promise": PROMISES["producer"],
                                 "contact": entry["data"]["contact"]}
        # The contact reaches a person: the entry holds its commitment, the clear value stays off the ledger.
        kept = fetch(PersonalDatum, (row.ledger_seq, "contact"))
        assert (json.loads(kept.value), entry["data"]["contact"]) == (
            "0731-62200000", {"commitment": commitment(kept.salt, "0731-62200000")})
        assert projection_differences() == []


def test_a_quality_control_certificate_needs_no_inspection_and_issued_on_defaults_to_today(app, world):
    with app.app_context():
        with db.write_session() as s:
            cert = make_compliance(s, world["producer"], world["batch"], issued_on=None, promiser="purchaser",
                                   inspection=world["passed"].id)
        assert (cert.issued_on, cert.inspection_id, cert.promiser) == (clock.today(), None, "purchaser")
        assert body_of(cert.ledger_seq)["data"]["promise"] == PROMISES["purchaser"]
        assert projection_differences() == []


def test_only_the_batchs_producer_issues_and_voids(app, world):
    with app.app_context():
        with db.write_session() as s:
            cert = make_compliance(s, world["producer"], world["batch"])
        before = count(LedgerEntry)
        for who in ("rival", "inspector", "certifier", "regulator"):  # rival: another producer organization
            with pytest.raises(Forbidden), db.write_session() as s:
                make_compliance(s, world[who], world["batch"])
            with pytest.raises(Forbidden), db.write_session() as s:
                void_compliance_certificate(s, s.get(ComplianceCertificate, cert.id), {"reason": "错开"},
                                            user=world[who])
            assert count(LedgerEntry) == before and count(ComplianceCertificate) == 1, who
        assert fetch(ComplianceCertificate, cert.id).voided_on is None


TOMORROW = (clock.today() + timedelta(days=1)).isoformat()  # in the deployment's time zone


@pytest.mark.parametrize("overrides,field", [
    ({"basis": "self_check"}, "basis"),
    ({"basis": "self_test"}, "inspection"),  # a tested basis needs its inspection
    ({"basis": "commissioned_test", "inspection": 999999}, "inspection"),
    ({"basis": "self_test", "inspection": "first"}, "inspection"),
    ({"quantity": "0"}, "quantity"),
    ({"quantity": "-1"}, "quantity"),
    ({"quantity": 1.5}, "quantity"),
    ({"quantity": "1000.001"}, "quantity"),  # more than the batch
    ({"issued_on": "2026-07-31"}, "issued_on"),  # before the harvest
    ({"issued_on": TOMORROW}, "issued_on"),
    ({"issued_on": "5.8.2026"}, "issued_on"),
    ({"promiser": "buyer"}, "promiser"),
    ({"contact": ""}, "contact"),
])
def test_bad_input_names_the_field_and_writes_nothing(app, world, overrides, field):
    with app.app_context():
        before = count(LedgerEntry)
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            issue_compliance_certificate(s, world["batch"], compliance_data(**overrides), user=world["producer"])
        assert field in info.value.fields, info.value.fields
        assert count(LedgerEntry) == before and count(ComplianceCertificate) == 0


def test_an_inspection_of_another_batch_does_not_count(app, world):
    with app.app_context():
        with db.write_session() as s:
            other = make_batch(s, world["producer"])
            theirs = make_inspection(s, world["inspector"], other)
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            make_compliance(s, world["producer"], world["batch"], basis="self_test", inspection=theirs.id)
        assert "inspection" in info.value.fields and count(ComplianceCertificate) == 0


def test_a_failed_inspection_is_rejected(app, world):
    with app.app_context():
        before = count(LedgerEntry)
        with pytest.raises(Rejected) as info, db.write_session() as s:
            make_compliance(s, world["producer"], world["batch"], basis="self_test", inspection=world["failed"].id)
        assert info.value.status == 422 and info.value.fields == {"inspection": "failed"}
        assert world["failed"].report_no in info.value.message
        assert count(LedgerEntry) == before and count(ComplianceCertificate) == 0


def test_certificates_cover_at_most_the_batch_and_voiding_frees_quantity(app, world):
    producer, batch = world["producer"], world["batch"]
    with app.app_context():
        with db.write_session() as s:
            first = make_compliance(s, producer, batch, quantity="700")
            make_compliance(s, producer, batch, quantity="250.5")
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            make_compliance(s, producer, batch, quantity="50")
        assert "49.5" in info.value.fields["quantity"]
        before = count(LedgerEntry)
        with db.write_session() as s:
            voided = void_compliance_certificate(s, s.get(ComplianceCertificate, first.id), {"reason": "数量开错"},
                                                 user=producer)
        assert count(LedgerEntry) == before + 1
        assert (voided.voided_on, voided.void_reason) == (clock.today(), "数量开错")
        entry = body_of(voided.void_seq)
        assert (entry["kind"], entry["subject"], entry["data"]) == (
            "compliance_certificate.voided", f"compliance_certificate:{first.code}",
            {"voided_on": clock.today().isoformat(), "reason": "数量开错"})
        assert issued_quantity(db.session(), fetch(Batch, batch.id)) == Decimal("250.5")
        with db.write_session() as s:
            make_compliance(s, producer, batch, quantity="749.5")  # exactly what is left
        with pytest.raises(InvalidInput), db.write_session() as s:
            make_compliance(s, producer, batch, quantity="0.001")
        assert projection_differences() == []


def test_voiding_needs_a_reason_and_happens_once(app, world):
    with app.app_context():
        with db.write_session() as s:
            cert = make_compliance(s, world["producer"], world["batch"])
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            void_compliance_certificate(s, s.get(ComplianceCertificate, cert.id), {}, user=world["producer"])
        assert "reason" in info.value.fields
        with db.write_session() as s:
            void_compliance_certificate(s, s.get(ComplianceCertificate, cert.id), {"reason": "错开"},
                                        user=world["producer"])
        before = count(LedgerEntry)
        with pytest.raises(Conflict), db.write_session() as s:
            void_compliance_certificate(s, s.get(ComplianceCertificate, cert.id), {"reason": "再作废"},
                                        user=world["admin"])
        assert count(LedgerEntry) == before
        assert fetch(ComplianceCertificate, cert.id).void_reason == "错开"
        assert projection_differences() == []


def test_a_compliance_certificate_row_changed_behind_the_ledger_is_reported_by_verify(app, world):
    with app.app_context():
        with db.write_session() as s:
            cert = make_compliance(s, world["producer"], world["batch"], quantity="100")
        engine = app.extensions["traceapp.db"].engine
        table = ComplianceCertificate.__table__
        with engine.begin() as conn:
            conn.execute(table.update().where(table.c.id == cert.id).values(quantity=10))
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"compliance_certificates: {cert.code} differs from entry {cert.ledger_seq} in quantity" in result.output

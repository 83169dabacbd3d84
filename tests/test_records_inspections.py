"""Recording inspections: who may, the rules on dates, items and verdicts, duplicate reports,
and the ``inspection.recorded`` entry. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import (
    count,
    fetch,
    inspection_data,
    item,
    make_batch,
    make_inspection,
    make_org,
    make_user,
    make_world,
    projection_differences,
)
from traceapp import clock, db
from traceapp.errors import Conflict, Forbidden
from traceapp.ledger.store import LedgerEntry
from traceapp.records.consistency import differences
from traceapp.records.inspections import record_inspection
from traceapp.records.models import Inspection
from traceapp.validation import InvalidInput


@pytest.fixture
def world(app):
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["batch"] = make_batch(s, world["producer"])
        return world


def test_an_inspection_is_recorded_for_the_inspectors_body_with_one_ledger_entry(app, world):
    with app.app_context():
        before = count(LedgerEntry)
        with db.write_session() as s:
            inspection = make_inspection(s, world["inspector"], world["batch"], report_no=" ZZJC-2026-0001 ")
        s = db.session()
        assert count(LedgerEntry) == before + 1
        row = s.get(Inspection, inspection.id)
        assert (row.body_id, row.report_no, row.verdict, row.recorded_by) == (
            world["inspector_org"].id, "ZZJC-2026-0001", "pass", world["inspector"].username)
        assert row.items[1] == {"name": "克百威", "method": "速测 (NY/T 448)", "value": "阴性", "limit": "", "unit": "",
                                "verdict": "pass"}
        entry = s.scalar(select(LedgerEntry).where(LedgerEntry.seq == row.ledger_seq))
        assert (entry.kind, entry.subject) == ("inspection.recorded", f"inspection:{row.id}")
        data = json.loads(entry.body)["data"]
        assert data["batch"] == world["batch"].code and data["body"] == f"org:{world['inspector_org'].id}"
        assert data["inspected_on"] == "2026-08-03" and data["items"][0]["value"] == "0.01"
        assert differences(s) == []


def test_an_admin_names_the_inspection_body(app, world):
    with app.app_context():
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            make_inspection(s, world["admin"], world["batch"])
        assert "body" in info.value.fields
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            make_inspection(s, world["admin"], world["batch"], body=world["producer_org"].id)
        assert "body" in info.value.fields
        with db.write_session() as s:
            inspection = make_inspection(s, world["admin"], world["batch"], body=world["inspector_org"].id)
        assert inspection.body_id == world["inspector_org"].id
        assert projection_differences() == []


def test_only_inspectors_and_admins_record_inspections(app, world):
    with app.app_context():
        before = count(LedgerEntry)
        for who in ("producer", "certifier", "regulator"):
            with pytest.raises(Forbidden), db.write_session() as s:
                make_inspection(s, world[who], world["batch"])
            assert count(LedgerEntry) == before and count(Inspection) == 0, who


def test_an_inspector_records_only_for_their_own_inspection_body(app, world):
    with app.app_context():
        with db.write_session() as s:
            other_body = make_org(s, kind="inspection_body", name="另一个检测站")
        with pytest.raises(Forbidden), db.write_session() as s:
            make_inspection(s, world["inspector"], world["batch"], body=other_body.id)
        with db.write_session() as s:  # naming their own body is fine
            make_inspection(s, world["inspector"], world["batch"], body=world["inspector_org"].id)
        assert count(Inspection) == 1


TOMORROW = (clock.today() + timedelta(days=1)).isoformat()  # in the deployment's time zone


@pytest.mark.parametrize("overrides,field", [
    ({"batch": ""}, "batch"),
    ({"batch": "ZZZZZZZZZZZZZ"}, "batch"),
    ({"inspected_on": "2026-13-01"}, "inspected_on"),
    ({"inspected_on": "2026-07-31"}, "inspected_on"),  # before the harvest of 2026-08-01
    ({"inspected_on": TOMORROW}, "inspected_on"),
    ({"report_no": ""}, "report_no"),
    ({"report_no": "R" * 65}, "report_no"),
    ({"items": []}, "items"),
    ({"items": "毒死蜱 0.01"}, "items"),
    ({"items": [item(method="")]}, "items[0].method"),
    ({"items": [item(), item(value=0.01)]}, "items[1].value"),
    ({"items": [item(verdict="ok")]}, "items[0].verdict"),
    ({"items": ["毒死蜱"]}, "items[0].name"),
    ({"verdict": "passed"}, "verdict"),
    ({"items": [item(), item(name="克百威", value="0.1", verdict="fail")], "verdict": "pass"}, "verdict"),
])
def test_bad_input_names_the_field_and_writes_nothing(app, world, overrides, field):
    with app.app_context():
        before = count(LedgerEntry)
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            record_inspection(s, inspection_data(world["batch"].code, **overrides), user=world["inspector"])
        assert field in info.value.fields, info.value.fields
        assert count(LedgerEntry) == before
        assert count(Inspection) == 0


def test_a_failed_inspection_is_recorded_as_failed(app, world):
    with app.app_context():
        with db.write_session() as s:
            inspection = make_inspection(s, world["inspector"], world["batch"], verdict="fail",
                                         items=[item(value="0.35", verdict="fail")])
        assert fetch(Inspection, inspection.id).verdict == "fail"
        assert projection_differences() == []


def test_a_report_number_is_recorded_once_per_body(app, world):
    with app.app_context():
        with db.write_session() as s:
            make_inspection(s, world["inspector"], world["batch"], report_no="ZZJC-1")
            other_body = make_org(s, kind="inspection_body", name="另一个检测站")
            other_inspector = make_user(s, "inspector", other_body.id)
        before = count(LedgerEntry)
        with pytest.raises(Conflict) as info, db.write_session() as s:
            make_inspection(s, world["inspector"], world["batch"], report_no="ZZJC-1")
        assert info.value.fields == {"report_no": "duplicate"}
        assert count(LedgerEntry) == before and count(Inspection) == 1
        with db.write_session() as s:  # another body's report may have the same number
            make_inspection(s, other_inspector, world["batch"], report_no="ZZJC-1")
        assert count(Inspection) == 2


def test_an_inspection_row_changed_behind_the_ledger_is_reported_by_verify(app, world):
    with app.app_context():
        with db.write_session() as s:
            inspection = make_inspection(s, world["inspector"], world["batch"])
        engine = app.extensions["traceapp.db"].engine
        table = Inspection.__table__
        with engine.begin() as conn:
            conn.execute(table.update().where(table.c.id == inspection.id).values(verdict="fail"))
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"inspections: {inspection.id} differs from entry {inspection.ledger_seq} in verdict" in result.output

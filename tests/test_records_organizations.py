"""Registering organizations: validated, written with their ledger entry, or refused with
nothing written. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tests.factories import make_org, org_data, uscc
from traceapp import db
from traceapp.errors import Conflict
from traceapp.ledger.store import LedgerEntry
from traceapp.records.models import Organization
from traceapp.validation import InvalidInput


def counts(session) -> tuple[int, int]:
    return (session.scalar(select(func.count()).select_from(Organization)),
            session.scalar(select(func.count()).select_from(LedgerEntry)))


def test_an_organization_is_written_with_its_ledger_entry(app):
    with app.app_context():
        with db.write_session() as s:
            org = make_org(s, name="<script>alert(1)</script>'; DROP TABLE x; --")
        s = db.session()
        row = s.get(Organization, org.id)
        entry = s.execute(select(LedgerEntry).where(LedgerEntry.subject == f"org:{org.id}")).scalar_one()
        data = json.loads(entry.body)
        assert entry.kind == "org.registered" and row.ledger_seq == entry.seq
        assert data["data"]["name"] == "<script>alert(1)</script>'; DROP TABLE x; --" == row.name
        assert data["data"]["region"] == "430225"


@pytest.mark.parametrize("overrides,field", [
    ({"name": ""}, "name"),
    ({"kind": "farm"}, "kind"),
    ({"region": "43022"}, "region"),
    ({"region": "439999"}, "region"),
    ({"uscc": None}, "uscc"),
    ({"uscc": "91110000100000000X"}, "uscc"),
    ({"uscc": "93430225MA0000001"}, "uscc"),
])
def test_bad_input_names_the_field_and_writes_nothing(app, overrides, field):
    with app.app_context():
        before = counts(db.session())
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            make_org(s, **overrides)
        assert field in info.value.fields
        db.session().rollback()
        assert counts(db.session()) == before


def test_small_producers_may_register_without_a_credit_code(app):
    with app.app_context(), db.write_session() as s:
        farm = make_org(s, kind="family_farm", uscc=None, name="李家茶园家庭农场")
        assert farm.uscc is None


def test_a_credit_code_is_registered_once(app):
    code = uscc()
    with app.app_context():
        with db.write_session() as s:
            make_org(s, uscc=code)
        with pytest.raises(Conflict), db.write_session() as s:
            make_org(s, uscc=code.lower())


def test_messages_follow_the_request_language(app):
    from traceapp.records import services

    for headers, expected in (({"Accept-Language": "en"}, "Name is required."), ({}, "名称是必填项。")):
        with app.test_request_context("/", headers=headers), pytest.raises(InvalidInput) as info, \
                db.write_session() as s:
            services.register_organization(s, org_data(name=""), actor={"user": "t", "org": None})
        assert info.value.fields["name"] == expected


def test_a_projection_row_written_behind_the_services_back_does_not_commit(app):
    from traceapp.ledger.store import begin_write
    from traceapp.records.guard import UnrecordedWrite

    with app.app_context():
        s = db.database().sessions()
        begin_write(s)
        s.add(Organization(name="绕过服务", kind="cooperative", uscc=None, region="430225", address="",
                           contact="", demo=False, ledger_seq=0))
        with pytest.raises(UnrecordedWrite):
            s.commit()
        s.close()
        assert counts(db.session()) == (0, 0)

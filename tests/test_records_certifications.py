"""The "三品一标" certificates: recording, number formats, revoking, the entries they append, and
which certificates a batch shows with which status. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import select

from tests.factories import (
    certification_data,
    count,
    fetch,
    make_batch,
    make_certification,
    make_org,
    make_user,
    make_world,
    projection_differences,
)
from traceapp import clock, db
from traceapp.errors import Conflict, Forbidden, NotFound
from traceapp.ledger.store import LedgerEntry, ledger_of
from traceapp.records.certifications import (
    certificates_for_batch,
    certification_record,
    issue_certification,
    revoke_certification,
)
from traceapp.records.models import Batch, Certification
from traceapp.validation import InvalidInput


@pytest.fixture
def world(app):
    with app.app_context(), db.write_session() as s:
        return make_world(s)


def entry_of(seq: int) -> tuple[str, str, dict]:
    with db.database().sessions() as s:
        entry = s.scalar(select(LedgerEntry).where(LedgerEntry.seq == seq))
    return entry.kind, entry.subject, json.loads(entry.body)["data"]


def test_a_certificate_is_recorded_with_one_ledger_entry(app, world):
    holder = world["producer_org"].id
    with app.app_context():
        before = count(LedgerEntry)
        with db.write_session() as s:
            cert = make_certification(s, world["certifier"], holder, number="gf430225260001",
                                      products=["黄桃", " 黄桃 ", "桃"])
        assert count(LedgerEntry) == before + 1
        row = fetch(Certification, cert.id)
        assert (row.number, row.holder_id, row.products, row.issuer) == (
            "GF430225260001", holder, ["黄桃", "桃"], "certifier组织")  # the certifier's body by default
        assert entry_of(row.ledger_seq) == ("certification.issued", f"certification:{row.id}", {
            "kind": "green_food", "number": "GF430225260001", "holder": f"org:{holder}", "products": ["黄桃", "桃"],
            "valid_from": "2026-03-01", "valid_to": "2029-02-28", "issuer": "certifier组织",
            "issuer_org": f"org:{world['certifier_org'].id}"})
        assert projection_differences() == []


@pytest.mark.parametrize("kind,number", [
    ("green_food", "GF123456789012"),
    ("organic", "12345678901234567"),
    ("geographical_indication", "AGI02345"),
])
def test_number_formats_by_kind(app, world, kind, number):
    with app.app_context():
        with db.write_session() as s:
            cert = make_certification(s, world["certifier"], world["producer_org"].id, kind=kind, number=number)
        assert fetch(Certification, cert.id).number == number


def test_an_admin_names_the_issuer(app, world):
    with app.app_context():
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            make_certification(s, world["admin"], world["producer_org"].id)
        assert "issuer" in info.value.fields
        with db.write_session() as s:
            cert = make_certification(s, world["admin"], world["producer_org"].id, issuer="中国绿色食品发展中心")
        assert cert.issuer == "中国绿色食品发展中心"
        assert projection_differences() == []


def test_only_certifiers_and_admins_record_and_revoke_certificates(app, world):
    with app.app_context():
        with db.write_session() as s:
            cert = make_certification(s, world["certifier"], world["producer_org"].id)
        before = count(LedgerEntry)
        for who in ("producer", "inspector", "regulator"):
            with pytest.raises(Forbidden), db.write_session() as s:
                make_certification(s, world[who], world["producer_org"].id)
            with pytest.raises(Forbidden), db.write_session() as s:
                revoke_certification(s, cert.id, {"reason": "抽检不合格"}, user=world[who])
            assert count(LedgerEntry) == before and count(Certification) == 1, who
        assert fetch(Certification, cert.id).revoked_on is None


def test_a_certifier_of_another_certification_body_may_not_revoke(app, world):
    with app.app_context():
        with db.write_session() as s:
            cert = make_certification(s, world["certifier"], world["producer_org"].id)
            other = make_user(s, "certifier", make_org(s, kind="certification_body", name="另一个认证机构").id,
                              password=None)
        before = count(LedgerEntry)
        with pytest.raises(Forbidden), db.write_session() as s:
            revoke_certification(s, cert.id, {"reason": "抽检不合格"}, user=other)
        assert count(LedgerEntry) == before
        with db.write_session() as s:  # an admin may
            revoke_certification(s, cert.id, {"reason": "抽检不合格"}, user=world["admin"])
        assert projection_differences() == []


@pytest.mark.parametrize("overrides,field", [
    ({"kind": "green"}, "kind"),
    ({"number": ""}, "number"),
    ({"number": "GF123"}, "number"),
    ({"number": "GF12345678901"}, "number"),  # 11 digits
    ({"number": "GF1234567890123"}, "number"),  # 13 digits
    ({"number": "GX123456789012"}, "number"),
    ({"kind": "organic", "number": "1234567890123456"}, "number"),
    ({"kind": "organic", "number": "1234567890123456A"}, "number"),
    ({"kind": "organic", "number": "GF123456789012"}, "number"),
    ({"holder": None}, "holder"),
    ({"holder": 999999}, "holder"),
    ({"holder": "abc"}, "holder"),
    ({"products": []}, "products"),
    ({"products": ["黄桃", ""]}, "products"),
    ({"valid_from": "2026-02-30"}, "valid_from"),
    ({"valid_to": "2026-02-28"}, "valid_to"),  # before valid_from 2026-03-01
])
def test_bad_input_names_the_field_and_writes_nothing(app, world, overrides, field):
    with app.app_context():
        before = count(LedgerEntry)
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            issue_certification(s, certification_data(world["producer_org"].id, **overrides), user=world["certifier"])
        assert field in info.value.fields, info.value.fields
        assert count(LedgerEntry) == before and count(Certification) == 0


def test_a_new_pollution_free_certificate_is_refused_by_the_service(app, world):
    """无公害农产品 certification has ended: the service (under the form, the API and the CLI) refuses a
    new one by its kind's label and says what to choose instead; it writes nothing."""
    with app.app_context():
        before = count(LedgerEntry)
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            issue_certification(s, certification_data(world["producer_org"].id, kind="pollution_free",
                                                      number="WNCR-HN-2026-0001"), user=world["admin"])
        assert "无公害农产品" in info.value.fields["kind"] and "绿色食品" in info.value.fields["kind"]
        assert count(LedgerEntry) == before and count(Certification) == 0


def test_an_old_pollution_free_certificate_stays_listed_and_shown(app, world):
    """A 无公害 certificate recorded before the refusal (its row and ledger entry as the service wrote
    them then) is still listed for certifiers and shown on its holder's batches."""
    with app.app_context():
        with db.write_session() as s:
            cert = Certification(kind="pollution_free", number="WNCR-HN-2025-0001", holder_id=world["producer_org"].id,
                                 products=["黄桃"], valid_from=date(2025, 3, 1), valid_to=date(2028, 2, 28),
                                 issuer="certifier组织", issuer_id=world["certifier_org"].id, entered_by_admin=False,
                                 recorded_by=world["certifier"].username, ledger_seq=-1)
            s.add(cert)
            s.flush()
            cert.ledger_seq = ledger_of(s).append(s, "certification.issued", world["certifier"].actor(),
                                                  f"certification:{cert.id}", certification_record(cert)).seq
            batch = make_batch(s, world["producer"])
            reader = make_user(s, "certifier", world["certifier_org"].id, name="reader").username
        assert projection_differences() == []
        with db.database().sessions() as s:
            shown = certificates_for_batch(s, s.get(Batch, batch.id))
        assert [(c.certification.number, c.status) for c in shown] == [("WNCR-HN-2025-0001", "valid")]
    client = app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").text).group(1)
    assert client.post("/login", data={"csrf_token": token, "username": reader,
                                       "password": "password-123"}).status_code == 302
    listing = client.get("/certifications")
    assert listing.status_code == 200 and "WNCR-HN-2025-0001" in listing.text and "无公害农产品" in listing.text
    form = client.get("/certifications/new").text
    assert 'value="pollution_free"' not in form and 'value="green_food"' in form


def test_the_holder_must_be_a_producer(app, world):
    with app.app_context(), pytest.raises(InvalidInput) as info, db.write_session() as s:
        make_certification(s, world["certifier"], world["inspector_org"].id)
    assert "holder" in info.value.fields


def test_a_certificate_number_is_recorded_once_per_kind(app, world):
    with app.app_context():
        with db.write_session() as s:
            make_certification(s, world["certifier"], world["producer_org"].id, number="GF430225260001")
        before = count(LedgerEntry)
        with pytest.raises(Conflict) as info, db.write_session() as s:
            make_certification(s, world["certifier"], world["rival_org"].id, number="gf430225260001")
        assert info.value.fields == {"number": "duplicate"}
        assert count(LedgerEntry) == before and count(Certification) == 1
        with db.write_session() as s:  # the same number under another scheme is another certificate
            make_certification(s, world["certifier"], world["producer_org"].id, kind="geographical_indication",
                               number="GF430225260001")
        assert count(Certification) == 2


def test_revoking_appends_an_entry_once_and_needs_a_reason(app, world):
    with app.app_context():
        with db.write_session() as s:
            cert = make_certification(s, world["certifier"], world["producer_org"].id)
        before = count(LedgerEntry)
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            revoke_certification(s, cert.id, {"reason": "  "}, user=world["certifier"])
        assert "reason" in info.value.fields and count(LedgerEntry) == before
        with pytest.raises(NotFound), db.write_session() as s:
            revoke_certification(s, cert.id + 100, {"reason": "抽检不合格"}, user=world["certifier"])
        with db.write_session() as s:
            revoke_certification(s, cert.id, {"reason": "抽检不合格"}, user=world["certifier"])
        assert count(LedgerEntry) == before + 1
        row = fetch(Certification, cert.id)
        assert (row.revoked_on, row.revoke_reason) == (clock.today(), "抽检不合格")
        assert entry_of(row.revoke_seq) == ("certification.revoked", f"certification:{cert.id}",
                                            {"revoked_on": clock.today().isoformat(), "reason": "抽检不合格"})
        with pytest.raises(Conflict), db.write_session() as s:
            revoke_certification(s, cert.id, {"reason": "再次撤销"}, user=world["certifier"])
        assert count(LedgerEntry) == before + 1
        assert projection_differences() == []


def test_a_batch_shows_the_certificates_of_its_producer_for_its_product_valid_at_harvest(app, world):
    producer, holder, certifier = world["producer"], world["producer_org"].id, world["certifier"]
    with app.app_context():
        with db.write_session() as s:
            batch = make_batch(s, producer, harvest_date="2026-08-01", pack_date=None)
            shown = make_certification(s, certifier, holder, valid_from="2026-08-01", valid_to="2026-09-30")
            make_certification(s, certifier, world["rival_org"].id)  # another holder
            make_certification(s, certifier, holder, products=["绿茶"])  # another product
            make_certification(s, certifier, holder, valid_from="2026-08-02", valid_to="2027-08-01")  # too late
            make_certification(s, certifier, holder, valid_from="2025-08-01", valid_to="2026-07-31")  # too early
            revoked = make_certification(s, certifier, holder, kind="organic", number="12345678901234567")
        s = db.session()
        status = {c.certification.id: c.status for c in certificates_for_batch(s, batch, today=date(2026, 9, 30))}
        assert status == {shown.id: "valid", revoked.id: "valid"}
        later = {c.certification.id: c.status for c in certificates_for_batch(s, batch, today=date(2026, 10, 1))}
        assert later == {shown.id: "expired", revoked.id: "valid"}
        with db.write_session() as w:
            revoke_certification(w, revoked.id, {"reason": "抽检不合格"}, user=certifier)
        s.rollback()
        status = {c.certification.id: c.status for c in certificates_for_batch(s, batch, today=date(2026, 9, 30))}
        assert status == {shown.id: "valid", revoked.id: "revoked"}
        assert {c.certification.id: c.status for c in certificates_for_batch(s, batch, today=date(2030, 1, 1))
                } == {shown.id: "expired", revoked.id: "revoked"}


def test_a_certification_row_changed_behind_the_ledger_is_reported_by_verify(app, world):
    with app.app_context():
        with db.write_session() as s:
            cert = make_certification(s, world["certifier"], world["producer_org"].id)
        engine = app.extensions["traceapp.db"].engine
        table = Certification.__table__
        with engine.begin() as conn:
            conn.execute(table.update().where(table.c.id == cert.id).values(valid_to=date(2099, 12, 31)))
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"certifications: {cert.id} differs from entry {cert.ledger_seq} in valid_to" in result.output

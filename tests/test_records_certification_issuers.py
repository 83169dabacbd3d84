"""Who a certificate's issuer is: a certifier records its own body's certificates only, an admin enters
historical ones for any body (marked as such in the entry and on the pages), and only the issuing body
(or an admin) revokes. Service, API and HTML form; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from tests.factories import (
    count,
    fetch,
    make_batch,
    make_certification,
    make_org,
    make_user,
    make_world,
    projection_differences,
)
from traceapp import db
from traceapp.auth.services import issue_token
from traceapp.errors import Forbidden
from traceapp.ledger.store import LedgerEntry
from traceapp.records.certifications import revoke_certification
from traceapp.records.models import Certification
from traceapp.validation import InvalidInput

PASSWORD = "password-123"


@pytest.fixture
def world(app):
    """make_world's users, a second certification body (其他认证机构) with its certifier, and an admin
    and a certifier who can log in."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["other_body"] = make_org(s, kind="certification_body", name="其他认证机构")
        world["other_certifier"] = make_user(s, "certifier", world["other_body"].id, password=None)
        world["web_certifier"] = make_user(s, "certifier", world["certifier_org"].id, name="webcert",
                                           password=PASSWORD)
        world["web_admin"] = make_user(s, "admin", name="webadmin", password=PASSWORD)
        return world


def entry_data(seq: int) -> dict:
    with db.database().sessions() as s:
        return json.loads(s.scalar(select(LedgerEntry.body).where(LedgerEntry.seq == seq)))["data"]


def refused(world, who: str, error, **overrides):
    before = (count(LedgerEntry), count(Certification))
    with pytest.raises(error) as caught, db.write_session() as s:
        make_certification(s, world[who], world["producer_org"].id, **overrides)
    assert (count(LedgerEntry), count(Certification)) == before
    return caught.value


def test_a_certifier_may_not_name_another_body_as_issuer(app, world):
    with app.app_context():
        error = refused(world, "certifier", Forbidden, issuer="其他认证机构")
        assert set(error.fields) == {"issuer"} and "发证机构" in error.message and "certifier组织" in error.message
        error = refused(world, "certifier", Forbidden, issuer_org=world["other_body"].id)
        assert set(error.fields) == {"issuer_org"}


def test_a_certifiers_certificate_names_its_own_body_in_the_entry(app, world):
    own = world["certifier_org"]
    with app.app_context():
        with db.write_session() as s:  # naming itself, by name or id, is what the read-only field sends
            first = make_certification(s, world["certifier"], world["producer_org"].id)
            second = make_certification(s, world["certifier"], world["producer_org"].id, issuer=own.name,
                                        issuer_org=own.id)
        for cert in (first, second):
            row = fetch(Certification, cert.id)
            assert (row.issuer, row.issuer_id, row.entered_by_admin) == (own.name, own.id, False)
            data = entry_data(row.ledger_seq)
            assert (data["issuer"], data["issuer_org"]) == (own.name, f"org:{own.id}")
            assert "entered_by_admin" not in data
        assert projection_differences() == []


def test_an_admins_historical_certificate_is_marked_and_its_body_revokes_it(app, world):
    with app.app_context():
        with db.write_session() as s:
            unregistered = make_certification(s, world["admin"], world["producer_org"].id,
                                              issuer="中国绿色食品发展中心")
            registered = make_certification(s, world["admin"], world["producer_org"].id,
                                            issuer_org=world["other_body"].id)
        assert entry_data(unregistered.ledger_seq)["entered_by_admin"] is True
        assert "issuer_org" not in entry_data(unregistered.ledger_seq)
        data = entry_data(registered.ledger_seq)
        assert (data["issuer"], data["issuer_org"], data["entered_by_admin"]) == (
            "其他认证机构", f"org:{world['other_body'].id}", True)
        assert projection_differences() == []
        # the body it was entered for revokes it; another body may not, nor any certifier the unregistered one
        for who, cert in (("certifier", registered), ("certifier", unregistered), ("other_certifier", unregistered)):
            before = count(LedgerEntry)
            with pytest.raises(Forbidden), db.write_session() as s:
                revoke_certification(s, cert.id, {"reason": "抽检不合格"}, user=world[who])
            assert count(LedgerEntry) == before
        with db.write_session() as s:
            revoke_certification(s, registered.id, {"reason": "抽检不合格"}, user=world["other_certifier"])
            revoke_certification(s, unregistered.id, {"reason": "证书注销"}, user=world["admin"])
        assert projection_differences() == []


@pytest.mark.parametrize("overrides,field", [
    ({}, "issuer"),
    ({"issuer_org": 999999}, "issuer_org"),
    ({"issuer_org": "abc"}, "issuer_org"),
    ({"issuer": "另一个名字", "issuer_org": "other_body"}, "issuer"),
])
def test_an_admin_names_a_registered_body_or_an_unregistered_ones_name(app, world, overrides, field):
    if overrides.get("issuer_org") == "other_body":
        overrides["issuer_org"] = world["other_body"].id
    with app.app_context():
        error = refused(world, "admin", InvalidInput, **overrides)
        assert field in error.fields, error.fields
        if overrides.get("issuer_org") != "abc":  # that one is the shared integer rule's message
            assert "发证机构" in error.fields[field]
    with app.app_context():  # a producer organization is no certification body
        error = refused(world, "admin", InvalidInput, issuer_org=world["producer_org"].id)
        assert "issuer_org" in error.fields


def test_the_body_named_by_an_older_certificate_may_not_revoke_it(app, world):
    """Certificates recorded before issuers were tied to bodies named theirs as free text: the
    recording certifier's body revokes them, not whichever body the text names."""
    with app.app_context():
        with db.write_session() as s:
            cert = make_certification(s, world["certifier"], world["producer_org"].id)
        table = Certification.__table__
        with app.extensions["traceapp.db"].engine.begin() as conn:
            conn.execute(table.update().where(table.c.id == cert.id).values(issuer_id=None, issuer="其他认证机构"))
        with pytest.raises(Forbidden), db.write_session() as s:
            revoke_certification(s, cert.id, {"reason": "抽检不合格"}, user=world["other_certifier"])
        with db.write_session() as s:
            revoke_certification(s, cert.id, {"reason": "抽检不合格"}, user=world["certifier"])


def test_the_api_refuses_another_issuer_with_403_naming_the_field(app, world):
    with app.app_context(), db.write_session() as s:
        token = issue_token(s, world["certifier"].username)
    client = app.test_client()
    body = {"kind": "green_food", "number": "GF430225269999", "holder": world["producer_org"].id,
            "products": ["黄桃"], "valid_from": "2026-03-01", "valid_to": "2029-02-28", "issuer": "其他认证机构"}
    with app.app_context():
        before = count(LedgerEntry)
    response = client.post("/api/v1/certifications", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403, response.json
    assert set(response.json["error"]["fields"]) == {"issuer"}
    with app.app_context():
        assert count(LedgerEntry) == before
    response = client.post("/api/v1/certifications", json={**body, "issuer": None},
                           headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    assert response.status_code == 201
    assert (response.json["issuer"], response.json["issuer_org"], response.json["entered_by_admin"]) == (
        "certifier组织", f"org:{world['certifier_org'].id}", False)


def log_in(client, username: str) -> str:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"csrf_token": token, "username": username,
                                       "password": PASSWORD}).status_code == 302
    return token


def test_the_form_shows_a_certifier_its_own_body_read_only_and_marks_admin_entries(app, world):
    client = app.test_client()
    log_in(client, "webcert")
    form = client.get("/certifications/new").text
    assert re.search(r'<input id="f-issuer" name="issuer" type="text" value="certifier组织" readonly="readonly"', form)
    assert 'name="issuer_org"' not in form
    admin = app.test_client()
    log_in(admin, "webadmin")
    form = admin.get("/certifications/new").text
    assert re.search(r'<select id="f-issuer_org" name="issuer_org"', form) and "其他认证机构" in form
    with app.app_context(), db.write_session() as s:
        batch = make_batch(s, world["producer"])
        make_certification(s, world["admin"], world["producer_org"].id, issuer="中国绿色食品发展中心")
        make_certification(s, world["certifier"], world["producer_org"].id, valid_from="2026-04-01")
    listing = client.get("/certifications").text
    # a certifier's list holds its own body's certificates only, each with its revoke form
    assert "entered-by-admin" not in listing and listing.count('name="reason"') == 1
    page = app.test_client().get(f"/t/{batch.code}").text
    assert page.count("entered-by-admin") == 1 and "管理员补录" in page
    english = app.test_client().get(f"/t/{batch.code}.json").json
    assert sorted(c["entered_by_admin"] for c in english["certifications"]) == [False, True]

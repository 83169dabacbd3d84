"""Sub-brands need the parent's owner: a brand of another owner placed under a parent waits for the
parent's brand manager to accept or refuse (entries for each), is neither listed on the parent's page
nor binds the parent's area until then, and an admin detaches a sub-brand with a reason; ``ledger
verify`` re-derives parents and requests from those entries. Services, API and the brand page; SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from tests.factories import (
    brand_projection_differences,
    count,
    fetch,
    make_brand,
    make_brand_owner,
    make_user,
    make_world,
)
from traceapp import db
from traceapp.auth.services import issue_token
from traceapp.brands.attachments import accept_attachment, detach_brand, get_attachment, refuse_attachment
from traceapp.brands.models import Brand, BrandAttachment
from traceapp.brands.services import change_brand, get_brand
from traceapp.errors import Conflict, Forbidden, NotFound, Rejected
from traceapp.ledger.store import LedgerEntry
from traceapp.validation import InvalidInput

API = "/api/v1"
PARENT = "yanling-huangtao"
CHILD = "yanling-jinxiu"
PASSWORD = "password-123"


@pytest.fixture
def world(app):
    """make_world's users; 炎陵黄桃 (炎陵县) of the owner association with its manager; a rival association
    (with its manager) that asks to place its 炎陵锦绣 under 炎陵黄桃."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["owner_org"], world["manager"] = make_brand_owner(s)
        world["rival_owner_org"], world["rival_manager"] = make_brand_owner(s, name="炎陵县锦绣桃业协会")
        world["web_manager"] = make_user(s, "brand_manager", world["owner_org"].id, name="webmanager",
                                         password=PASSWORD)
        world["web_admin"] = make_user(s, "admin", name="webadmin", password=PASSWORD)
        world["parent"] = make_brand(s, world["manager"])
        return world


def ask(world, **overrides) -> Brand:
    with db.write_session() as s:
        return make_brand(s, world["rival_manager"], name="炎陵锦绣", slug=CHILD, aliases=[], parent=PARENT,
                          gi_number=None, standard=None, **overrides)


def entries_since(seq: int) -> list[tuple[str, str, dict]]:
    with db.database().sessions() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.seq > seq).order_by(LedgerEntry.seq))
        return [(e.kind, e.subject, json.loads(bytes(e.body))["data"]) for e in rows]


def last_seq() -> int:
    return count(LedgerEntry) - 1


def the_request() -> BrandAttachment:
    with db.database().sessions() as s:
        return s.scalars(select(BrandAttachment).order_by(BrandAttachment.id.desc())).first()


def decide(world, action, who: str = "manager", data: dict | None = None, attachment_id: int | None = None):
    with db.write_session() as s:
        parent = get_brand(s, PARENT)
        found = get_attachment(s, parent, attachment_id or the_request().id)
        return action(s, parent, found, data or {}, user=world[who])


def children_on_page(client, slug: str = PARENT) -> list[str]:
    html = client.get(f"/brands/{slug}").text
    listed = re.search(r"<dt>下级品牌</dt><dd>(.*?)</dd>", html)
    return re.findall(r'href="/brands/([a-z0-9-]+)"', listed.group(1)) if listed else []


def test_another_owners_sub_brand_is_a_request_and_not_yet_a_child(app, world):
    with app.app_context():
        before = last_seq()
        child = ask(world)
        row = fetch(Brand, child.id)
        assert row.parent_id is None
        (registered, requested) = entries_since(before)
        assert (registered[0], registered[2]["parent"]) == ("brand.registered", None)
        request = the_request()
        assert (request.brand_id, request.parent_id, request.state) == (child.id, world["parent"].id, "pending")
        assert requested == ("brand.attachment_requested", f"brand_attachment:{request.id}",
                             {"brand": CHILD, "parent": PARENT})
        assert brand_projection_differences() == []
    assert children_on_page(app.test_client()) == []
    with app.app_context():  # the parent's owner may still change its area as it likes: 茶陵县 only
        with db.write_session() as s:
            change_brand(s, get_brand(s, PARENT), {"area": ["430224"]}, user=world["manager"])
        assert fetch(Brand, world["parent"].id).area == ["430224"]


def test_the_same_owner_and_an_admin_attach_at_once(app, world):
    with app.app_context():
        with db.write_session() as s:
            own = make_brand(s, world["manager"], name="炎陵黄桃精品", slug="yanling-jingpin", aliases=[],
                             parent=PARENT)
            placed = make_brand(s, world["admin"], name="炎陵锦绣", slug=CHILD, aliases=[], parent=PARENT,
                                owner=world["rival_owner_org"].id)
        assert fetch(Brand, own.id).parent_id == fetch(Brand, placed.id).parent_id == world["parent"].id
        assert count(BrandAttachment) == 0
    assert sorted(children_on_page(app.test_client())) == ["yanling-jingpin", CHILD]


def test_the_parents_manager_accepts_and_the_sub_brand_takes_its_parent(app, world):
    with app.app_context():
        child = ask(world)
        for who, error in (("rival_manager", Forbidden), ("producer", Forbidden)):
            before = last_seq()
            with pytest.raises(error):
                decide(world, accept_attachment, who)
            assert last_seq() == before
        before = last_seq()
        decide(world, accept_attachment, data={"reason": "同属炎陵黄桃产区"})
        request = the_request()
        assert entries_since(before) == [("brand.attachment_accepted", f"brand_attachment:{request.id}", {
            "brand": CHILD, "parent": PARENT, "accepted_on": request.decided_on.isoformat(),
            "reason": "同属炎陵黄桃产区"})]
        assert (request.state, request.decision_seq, fetch(Brand, child.id).parent_id) == (
            "accepted", before + 1, world["parent"].id)
        with pytest.raises(Conflict):
            decide(world, refuse_attachment, data={"reason": "改主意了"})
        assert brand_projection_differences() == []
    assert children_on_page(app.test_client()) == [CHILD]
    with app.app_context(), pytest.raises(InvalidInput) as info, db.write_session() as s:
        # now it binds the parent's area
        change_brand(s, get_brand(s, PARENT), {"area": ["430224"]}, user=world["manager"])
    assert "area" in info.value.fields


def test_a_refused_request_needs_a_reason_and_leaves_no_parent(app, world):
    with app.app_context():
        child = ask(world)
        before = last_seq()
        with pytest.raises(InvalidInput) as info:
            decide(world, refuse_attachment, data={"reason": " "})
        assert "reason" in info.value.fields and last_seq() == before
        decide(world, refuse_attachment, data={"reason": "不属于本协会的会员"})
        ((kind, _subject, data),) = entries_since(before)
        assert (kind, data["reason"]) == ("brand.attachment_refused", "不属于本协会的会员")
        assert (the_request().state, fetch(Brand, child.id).parent_id) == ("refused", None)
        with pytest.raises(Conflict):
            decide(world, accept_attachment)
        with pytest.raises(NotFound), db.write_session() as s:  # a request is found under its own parent only
            get_attachment(s, get_brand(s, CHILD), the_request().id)
        assert brand_projection_differences() == []
    assert children_on_page(app.test_client()) == []


def test_accepting_is_refused_when_the_parents_area_no_longer_holds_the_sub_brand(app, world):
    with app.app_context():
        ask(world)
        with db.write_session() as s:
            change_brand(s, get_brand(s, PARENT), {"area": ["430224"]}, user=world["manager"])
        before = last_seq()
        with pytest.raises(Rejected) as info:
            decide(world, accept_attachment)
        assert info.value.status == 422 and "炎陵锦绣" in info.value.message and last_seq() == before


def test_the_sub_brands_own_change_of_parent_asks_and_withdraws(app, world):
    with app.app_context():
        with db.write_session() as s:
            make_brand(s, world["rival_manager"], name="炎陵锦绣", slug=CHILD, aliases=[], gi_number=None,
                       standard=None)
        before = last_seq()
        with db.write_session() as s:  # another owner's parent through a change is a request too
            change_brand(s, get_brand(s, CHILD), {"parent": PARENT, "description": "锦绣黄桃"},
                         user=world["rival_manager"])
        kinds = [(kind, data.get("changes")) for kind, _subject, data in entries_since(before)]
        assert kinds == [("brand.changed", {"description": "锦绣黄桃"}), ("brand.attachment_requested", None)]
        assert fetch(Brand, get_brand(db.session(), CHILD).id).parent_id is None
        first = the_request().id
        before = last_seq()
        with db.write_session() as s:  # asking again replaces the waiting request
            change_brand(s, get_brand(s, CHILD), {"parent": PARENT}, user=world["rival_manager"])
        assert [kind for kind, _s, _d in entries_since(before)] == ["brand.attachment_withdrawn",
                                                                    "brand.attachment_requested"]
        before = last_seq()
        with db.write_session() as s:  # no parent after all
            change_brand(s, get_brand(s, CHILD), {"parent": None}, user=world["rival_manager"])
        assert [kind for kind, _s, _d in entries_since(before)] == ["brand.attachment_withdrawn"]
        with db.database().sessions() as s:
            states = s.execute(select(BrandAttachment.id, BrandAttachment.state).order_by(BrandAttachment.id)).all()
        assert [tuple(r) for r in states] == [(first, "withdrawn"), (first + 1, "withdrawn")]
        with pytest.raises(Conflict), db.write_session() as s:  # nothing left to change
            change_brand(s, get_brand(s, CHILD), {"parent": None}, user=world["rival_manager"])
        assert brand_projection_differences() == []


def test_an_admin_detaches_a_sub_brand_with_a_reason(app, world):
    with app.app_context():
        child = ask(world)
        decide(world, accept_attachment)
        for who in ("manager", "rival_manager"):
            with pytest.raises(Forbidden), db.write_session() as s:
                detach_brand(s, get_brand(s, CHILD), {"reason": "不再合作"}, user=world[who])
        with pytest.raises(InvalidInput), db.write_session() as s:
            detach_brand(s, get_brand(s, CHILD), {}, user=world["admin"])
        before = last_seq()
        with db.write_session() as s:
            detach_brand(s, get_brand(s, CHILD), {"reason": "未经上级品牌同意挂靠"}, user=world["admin"])
        ((kind, subject, data),) = entries_since(before)
        assert (kind, subject, data["parent"], data["reason"]) == (
            "brand.detached", f"brand:{CHILD}", PARENT, "未经上级品牌同意挂靠")
        assert fetch(Brand, child.id).parent_id is None
        with pytest.raises(Conflict), db.write_session() as s:
            detach_brand(s, get_brand(s, CHILD), {"reason": "再次移出"}, user=world["admin"])
        assert brand_projection_differences() == []
    assert children_on_page(app.test_client()) == []


def test_verify_re_derives_parents_and_requests_from_their_entries(app, world):
    with app.app_context():
        child = ask(world)
        decide(world, accept_attachment)
        with db.write_session() as s:
            other = make_brand(s, world["rival_manager"], name="炎陵白桃", slug="yanling-baitao", aliases=[],
                               parent=PARENT, gi_number=None, standard=None)
        assert brand_projection_differences() == []
        waiting = the_request().id
        engine = app.extensions["traceapp.db"].engine
        with engine.begin() as conn:  # the waiting one shown as accepted and its brand under the parent
            conn.execute(BrandAttachment.__table__.update().where(BrandAttachment.__table__.c.id == waiting)
                         .values(state="accepted"))
            conn.execute(Brand.__table__.update().where(Brand.__table__.c.id == other.id)
                         .values(parent_id=world["parent"].id))
            conn.execute(Brand.__table__.update().where(Brand.__table__.c.id == child.id).values(parent_id=None))
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"brand_attachments: {waiting} differs from entry" in result.output
    assert f"brands: yanling-baitao differs from entry {other.ledger_seq} in parent" in result.output
    assert f"brands: {CHILD} differs from entry {child.ledger_seq} in parent" in result.output
    assert result.output.count("brand_attachments:") == 1  # the accepted one is as its entries say


def test_the_api_asks_lists_accepts_refuses_and_detaches(app, world):
    with app.app_context(), db.write_session() as s:
        tokens = {who: issue_token(s, world[who].username) for who in ("manager", "rival_manager", "admin",
                                                                        "producer")}
    client = app.test_client()

    def call(method, path, who, body=None):
        return client.open(f"{API}{path}", method=method, json=body,
                           headers={"Authorization": f"Bearer {tokens[who]}"})

    body = {"name": "炎陵锦绣", "slug": CHILD, "category": "fruit", "level": "county", "parent": PARENT,
            "area": ["430225"], "products": ["黄桃"]}
    created = call("POST", "/brands", "rival_manager", body)
    assert created.status_code == 201, created.json
    assert created.json["parent"] is None
    assert (created.json["parent_request"]["parent"], created.json["parent_request"]["state"]) == (PARENT, "pending")
    listed = call("GET", f"/brands/{PARENT}/attachments?state=pending", "producer")
    assert listed.status_code == 200 and [a["brand"] for a in listed.json["items"]] == [CHILD]
    assert call("GET", f"/brands/{PARENT}/attachments?state=maybe", "producer").status_code == 400
    request_id = listed.json["items"][0]["id"]
    assert call("POST", f"/brands/{PARENT}/attachments/{request_id}/accept", "rival_manager", {}).status_code == 403
    assert call("POST", f"/brands/{CHILD}/attachments/{request_id}/accept", "rival_manager", {}).status_code == 404
    accepted = call("POST", f"/brands/{PARENT}/attachments/{request_id}/accept", "manager", {})
    assert accepted.status_code == 200 and accepted.json["state"] == "accepted"
    again = call("POST", f"/brands/{PARENT}/attachments/{request_id}/refuse", "manager", {"reason": "不要"})
    assert again.status_code == 409
    assert call("GET", f"/brands/{CHILD}", "producer").json["parent"] == PARENT
    assert call("POST", f"/brands/{CHILD}/detach", "manager", {"reason": "不再合作"}).status_code == 403
    detached = call("POST", f"/brands/{CHILD}/detach", "admin", {"reason": "不再合作"})
    assert detached.status_code == 200 and detached.json["parent"] is None
    assert call("POST", f"/brands/{CHILD}/detach", "admin", {"reason": "不再合作"}).status_code == 409
    assert call("PATCH", f"/brands/{CHILD}", "rival_manager", {"parent": PARENT}).json["parent_request"]["state"] \
        == "pending"
    request_id = call("GET", f"/brands/{PARENT}/attachments?state=pending", "producer").json["items"][0]["id"]
    refused = call("POST", f"/brands/{PARENT}/attachments/{request_id}/refuse", "manager", {"reason": "不要"})
    assert refused.status_code == 200 and (refused.json["state"], refused.json["reason"]) == ("refused", "不要")
    with app.app_context():
        assert brand_projection_differences() == []
    paths = client.get(f"{API}/openapi.json").json["paths"]
    for path, statuses in (("/brands/{slug}/attachments", {"200", "400", "401", "404"}),
                           ("/brands/{slug}/attachments/{attachment_id}/accept",
                            {"200", "400", "401", "403", "404", "409", "422"}),
                           ("/brands/{slug}/attachments/{attachment_id}/refuse",
                            {"200", "400", "401", "403", "404", "409"}),
                           ("/brands/{slug}/detach", {"200", "400", "401", "403", "404", "409"})):
        operation = next(iter(paths[path].values()))
        assert set(operation["responses"]) == statuses, path


def log_in(client, username: str) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"csrf_token": token, "username": username,
                                       "password": PASSWORD}).status_code == 302


def test_the_parents_manager_answers_requests_on_the_brand_page(app, world):
    with app.app_context():
        ask(world)
        ask_id = the_request().id
    anonymous = app.test_client().get(f"/brands/{PARENT}")
    assert 'id="attachment-requests"' not in anonymous.text
    client = app.test_client()
    log_in(client, "webmanager")
    page = client.get(f"/brands/{PARENT}")
    assert 'id="attachment-requests"' in page.text and f'id="attachment-{ask_id}"' in page.text
    assert "public" not in page.headers["Cache-Control"] and "no-store" in page.headers["Cache-Control"]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(f"/brands/{PARENT}/attachments/{ask_id}/accept", data={"csrf_token": token})
    assert response.status_code == 303
    assert children_on_page(app.test_client()) == [CHILD]
    admin = app.test_client()
    log_in(admin, "webadmin")
    child_page = admin.get(f"/brands/{CHILD}").text
    assert 'id="detach"' in child_page
    token = re.search(r'name="csrf_token" value="([^"]+)"', child_page).group(1)
    assert admin.post(f"/brands/{CHILD}/detach", data={"csrf_token": token}).status_code == 400  # no reason
    assert admin.post(f"/brands/{CHILD}/detach", data={"csrf_token": token,
                                                       "reason": "未经同意"}).status_code == 303
    assert children_on_page(app.test_client()) == []

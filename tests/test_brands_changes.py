"""Changing and retiring a brand: ``brand.changed`` with the new and previous values, the rules a change
must keep (slug and owner fixed, parent without cycles, areas nested), ``ledger verify`` replaying
changes, and the API's ``PATCH /brands/<slug>`` and ``POST /brands/<slug>/retire``. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.factories import (
    brand_projection_differences,
    count,
    fetch,
    make_brand,
    make_brand_owner,
    make_world,
)
from traceapp import db
from traceapp.auth.services import issue_token
from traceapp.brands.models import Brand
from traceapp.brands.queries import find_brands
from traceapp.brands.services import change_brand, get_brand
from traceapp.errors import Conflict, Forbidden
from traceapp.ledger.store import LedgerEntry
from traceapp.validation import InvalidInput

API = "/api/v1"


@pytest.fixture
def world(app):
    """make_world's users; 株洲 (city brand over 株洲市) with 炎陵黄桃 below it, both owned by the
    manager's association; a rival association with its own manager."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["owner_org"], world["manager"] = make_brand_owner(s)
        world["rival_owner_org"], world["rival_manager"] = make_brand_owner(s, name="茶陵县茶叶协会")
        world["city"] = make_brand(s, world["manager"], name="株洲好物", aliases=[], level="city", area=["430200"],
                                   products=["黄桃", "茶叶"], gi_number=None, standard=None)
        world["brand"] = make_brand(s, world["manager"], parent="zhuzhou-haowu")
        return world


def change(world, data: dict, who: str = "manager", slug: str = "yanling-huangtao") -> Brand:
    with db.write_session() as s:
        return change_brand(s, get_brand(s, slug), data, user=world[who])


def refused(world, data: dict, error, who: str = "manager", slug: str = "yanling-huangtao"):
    before = (count(LedgerEntry), fetch(Brand, world["brand"].id).__dict__.copy())
    with pytest.raises(error) as caught:
        change(world, data, who, slug)
    after = fetch(Brand, world["brand"].id).__dict__.copy()
    for row in (before[1], after):
        row.pop("_sa_instance_state", None)
    assert (count(LedgerEntry), after) == before
    return caught.value


def last_entry() -> dict:
    with db.database().sessions() as s:
        body = s.scalar(select(LedgerEntry.body).order_by(LedgerEntry.seq.desc()).limit(1))
        return json.loads(bytes(body))


def test_a_change_writes_one_entry_with_new_and_previous_values_and_search_follows(app, world):
    with app.app_context():
        before = count(LedgerEntry)
        change(world, {"aliases": ["炎陵锦绣黄桃", "炎陵黄桃子"], "description": "新的介绍。",
                       "reason": "协会更新资料"})
        assert count(LedgerEntry) == before + 1
        entry = last_entry()
        assert (entry["kind"], entry["subject"]) == ("brand.changed", "brand:yanling-huangtao")
        assert entry["data"] == {"changes": {"aliases": ["炎陵锦绣黄桃", "炎陵黄桃子"], "description": "新的介绍。"},
                                 "previous": {"aliases": ["炎陵锦绣黄桃"], "description": "罗霄山脉中段的高山黄桃。"},
                                 "reason": "协会更新资料"}
        row = fetch(Brand, world["brand"].id)
        assert (row.aliases, row.description, row.slug, row.ledger_seq) == (
            ["炎陵锦绣黄桃", "炎陵黄桃子"], "新的介绍。", "yanling-huangtao", world["brand"].ledger_seq)
        with db.database().sessions() as s:
            assert [b.slug for b in find_brands(s, "黄桃子")] == ["yanling-huangtao"]
        assert brand_projection_differences() == []


def test_only_the_changed_fields_are_in_the_entry_and_a_no_op_is_refused(app, world):
    with app.app_context():
        change(world, {"name": "炎陵黄桃", "products": ["黄桃"]})  # the name is unchanged
        assert last_entry()["data"] == {"changes": {"products": ["黄桃"]},
                                        "previous": {"products": ["黄桃", "黄桃罐头"]}}
        refused(world, {"products": ["黄桃"]}, Conflict)


def test_slug_and_owner_stay_and_an_empty_change_is_named(app, world):
    with app.app_context():
        assert set(refused(world, {"slug": "yanling-taozi", "name": "炎陵桃"}, InvalidInput).fields) == {"slug"}
        assert set(refused(world, {"owner": world["rival_owner_org"].id}, InvalidInput).fields) == {"owner"}
        assert set(refused(world, {}, InvalidInput).fields) == {"body"}
        assert set(refused(world, {"category": "spaceship", "area": ["999999"]}, InvalidInput).fields) == {
            "category", "area"}


def test_only_the_owners_manager_may_change_it(app, world):
    with app.app_context():
        refused(world, {"description": "别人的品牌"}, Forbidden, who="rival_manager")
        refused(world, {"description": "生产者"}, Forbidden, who="producer")


def test_a_parent_may_not_be_the_brand_itself_or_below_it(app, world):
    with app.app_context():
        assert set(refused(world, {"parent": "yanling-huangtao"}, InvalidInput).fields) == {"parent"}
        error = refused(world, {"parent": "yanling-huangtao"}, InvalidInput, slug="zhuzhou-haowu")
        assert set(error.fields) == {"parent"}
        change(world, {"parent": None})  # leaving the umbrella brand is allowed
        assert fetch(Brand, world["brand"].id).parent_id is None
        assert last_entry()["data"]["changes"] == {"parent": None}
        assert brand_projection_differences() == []


def test_areas_stay_nested_under_the_parent_and_over_the_children(app, world):
    with app.app_context():
        # 茶陵县 is in 株洲市 too, so this is allowed; 南漳县 (Hubei) is outside the parent's area
        change(world, {"area": ["430225", "430224"]})
        assert set(refused(world, {"area": ["420624"]}, InvalidInput).fields) == {"area"}
        # the city brand cannot shrink to a county that leaves 炎陵县 outside
        error = refused(world, {"area": ["430224"]}, InvalidInput, slug="zhuzhou-haowu")
        assert "炎陵黄桃" in error.fields["area"]


def test_verify_replays_changes_and_reports_a_row_edited_behind_the_ledger(app, world):
    with app.app_context():
        change(world, {"name": "炎陵锦绣黄桃", "aliases": ["炎陵黄桃"]})
        change(world, {"gi_number": None})
        assert brand_projection_differences() == []
        table = Brand.__table__
        with app.extensions["traceapp.db"].engine.begin() as conn:
            conn.execute(table.update().where(table.c.id == world["brand"].id).values(name="炎陵黄桃"))
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"brands: yanling-huangtao differs from entry {world['brand'].ledger_seq} in name" in result.output


def api_headers(app, who: str, world, **extra) -> dict:
    with app.app_context(), db.write_session() as s:
        token = issue_token(s, world[who].username)
    return {"Authorization": f"Bearer {token}", **extra}


def test_the_api_changes_and_retires_a_brand(app, world):
    client = app.test_client()
    headers = api_headers(app, "manager", world, **{"Idempotency-Key": "change-1"})
    body = {"aliases": ["炎陵锦绣黄桃", "炎陵黄桃子"], "reason": "更新别名"}
    response = client.patch(f"{API}/brands/yanling-huangtao", json=body, headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["aliases"] == ["炎陵锦绣黄桃", "炎陵黄桃子"] and response.json["slug"] == "yanling-huangtao"
    with app.app_context():
        entries = count(LedgerEntry)
    again = client.patch(f"{API}/brands/yanling-huangtao", json=body, headers=headers)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    bad = client.patch(f"{API}/brands/yanling-huangtao", json={"slug": "x"},
                       headers=api_headers(app, "manager", world, **{"Accept-Language": "en"}))
    assert bad.status_code == 400 and set(bad.json["error"]["fields"]) == {"slug"}
    assert "cannot be changed" in bad.json["error"]["message"]
    forbidden = client.patch(f"{API}/brands/yanling-huangtao", json={"description": "x"},
                             headers=api_headers(app, "rival_manager", world))
    assert forbidden.status_code == 403
    with app.app_context():
        assert count(LedgerEntry) == entries
    headers = api_headers(app, "manager", world)
    assert client.post(f"{API}/brands/yanling-huangtao/retire", json={}, headers=headers).status_code == 400
    retired = client.post(f"{API}/brands/yanling-huangtao/retire", json={"reason": "品牌整合"}, headers=headers)
    assert retired.status_code == 200 and retired.json["retired_on"]
    assert client.post(f"{API}/brands/yanling-huangtao/retire", json={"reason": "再来"},
                       headers=headers).status_code == 409
    document = client.get(f"{API}/openapi.json").json
    assert "patch" in document["paths"]["/brands/{slug}"] and "post" in document["paths"]["/brands/{slug}/retire"]
    with app.app_context():
        assert brand_projection_differences() == []

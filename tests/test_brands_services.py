"""The brand registry's writes: registering and retiring brands, granting and revoking licences, each with
its ledger entry and nothing written on an error; ``ledger verify`` catching rows changed behind the
ledger; finding brands by name, alias, pinyin, initials and place. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from tests.factories import (
    brand_projection_differences,
    count,
    fetch,
    license_data,
    make_brand,
    make_brand_owner,
    make_license,
    make_world,
    projection_differences,
)
from traceapp import clock, db
from traceapp.brands.models import Brand, License
from traceapp.brands.search import matches, search_text
from traceapp.brands.services import grant_license, retire_brand, revoke_license
from traceapp.errors import Conflict, Forbidden, Rejected
from traceapp.ledger.store import LedgerEntry
from traceapp.validation import InvalidInput


@pytest.fixture
def world(app):
    """make_world's users plus two brand-owner organizations (owner, rival_owner) with a brand manager each."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["owner_org"], world["manager"] = make_brand_owner(s)
        world["rival_owner_org"], world["rival_manager"] = make_brand_owner(s, name="茶陵县茶叶协会")
        return world


@pytest.fixture
def brand(app, world):
    with app.app_context(), db.write_session() as s:
        return make_brand(s, world["manager"])


def body_of(seq: int) -> dict:
    with db.database().sessions() as s:
        return json.loads(s.scalar(select(LedgerEntry.body).where(LedgerEntry.seq == seq)))


def written() -> tuple[int, int, int]:
    return count(LedgerEntry), count(Brand), count(License)


def assert_clean() -> None:
    assert projection_differences() == []
    assert brand_projection_differences() == []


def verify(app):
    return app.test_cli_runner().invoke(args=["ledger", "verify"])


# -- registering ---------------------------------------------------------------------------

def test_registering_a_brand_writes_its_row_and_one_entry_with_a_pinyin_slug(app, world):
    owner = world["owner_org"]
    with app.app_context():
        before = count(LedgerEntry)
        with db.write_session() as s:
            brand = make_brand(s, world["manager"])  # no slug given
        assert count(LedgerEntry) == before + 1 and count(Brand) == 1
        row = fetch(Brand, brand.id)
        assert (row.slug, row.name, row.aliases, row.category, row.level, row.parent_id, row.owner_id, row.area,
                row.products, row.gi_number, row.standard, row.retired_on) == (
            "yanling-huangtao", "炎陵黄桃", ["炎陵锦绣黄桃"], "fruit", "county", None, owner.id, ["430225"],
            ["黄桃", "黄桃罐头"], "AGI2017-01-2058", "DB43/T 1166", None)
        assert row.search_text == search_text("炎陵黄桃", ["炎陵锦绣黄桃"], ["430225"])
        entry = body_of(row.ledger_seq)
        assert (entry["kind"], entry["subject"]) == ("brand.registered", "brand:yanling-huangtao")
        assert entry["data"] == {"name": "炎陵黄桃", "aliases": ["炎陵锦绣黄桃"], "slug": "yanling-huangtao",
                                 "category": "fruit", "level": "county", "parent": None, "owner": f"org:{owner.id}",
                                 "area": ["430225"], "products": ["黄桃", "黄桃罐头"], "gi_number": "AGI2017-01-2058",
                                 "standard": "DB43/T 1166", "description": "罗霄山脉中段的高山黄桃。"}
        assert_clean()
    result = verify(app)
    assert result.exit_code == 0 and "projection tables match" in result.output, result.output


def test_an_explicit_slug_is_kept_and_an_admin_registers_for_a_named_brand_owner(app, world):
    with app.app_context():
        with db.write_session() as s:
            brand = make_brand(s, world["admin"], slug="yl-huangtao-2026", owner=world["rival_owner_org"].id,
                               aliases=None, gi_number="", standard=None)
        row = fetch(Brand, brand.id)
        assert (row.slug, row.owner_id, row.aliases, row.gi_number, row.standard) == (
            "yl-huangtao-2026", world["rival_owner_org"].id, [], None, None)
        assert body_of(row.ledger_seq)["subject"] == "brand:yl-huangtao-2026"
        assert_clean()


def test_a_bad_explicit_slug_names_the_field_and_writes_nothing(app, world):
    with app.app_context():
        before = written()
        for slug in ("Yanling-Huangtao", "yanling huangtao", "yanling--huangtao", "-yanling", "yanling-", "炎陵",
                     "yanling_huangtao", "a" * 65):
            with pytest.raises(InvalidInput) as info, db.write_session() as s:
                make_brand(s, world["manager"], slug=slug)
            assert "slug" in info.value.fields, (slug, info.value.fields)
            assert written() == before, slug


def test_a_64_character_slug_is_the_longest(app, world):
    with app.app_context():
        with db.write_session() as s:
            brand = make_brand(s, world["manager"], slug="a" * 64)
        assert fetch(Brand, brand.id).slug == "a" * 64
        assert_clean()


def test_a_name_without_pinyin_needs_an_explicit_slug(app, world):
    with app.app_context():
        before = written()
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            make_brand(s, world["manager"], name="——")
        assert "slug" in info.value.fields, info.value.fields
        assert written() == before
        with db.write_session() as s:
            brand = make_brand(s, world["manager"], name="——", slug="dash")
        assert fetch(Brand, brand.id).slug == "dash"


def test_a_slug_in_use_is_a_conflict_and_writes_nothing(app, world, brand):
    with app.app_context():
        before = written()
        for overrides in ({}, {"name": "炎陵锦绣黄桃", "slug": "yanling-huangtao"}):  # generated, then explicit
            with pytest.raises(Conflict) as info, db.write_session() as s:
                make_brand(s, world["rival_manager"], **overrides)
            assert info.value.fields == {"slug": "duplicate"} and "yanling-huangtao" in info.value.message
            assert written() == before
        assert fetch(Brand, brand.id).owner_id == world["owner_org"].id


def test_an_area_of_unknown_or_missing_region_codes_names_area_and_writes_nothing(app, world):
    with app.app_context():
        before = written()
        for area in (["439999"], ["430225", "000000"], ["abc"], ["4302250"], [], "", None):
            with pytest.raises(InvalidInput) as info, db.write_session() as s:
                make_brand(s, world["manager"], area=area)
            assert "area" in info.value.fields, (area, info.value.fields)
            assert written() == before, area
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            make_brand(s, world["manager"], area=["430225", "439999"])
        assert "439999" in info.value.fields["area"]


def test_the_owner_must_be_a_brand_owner_organization(app, world):
    with app.app_context():
        before = written()
        # a cooperative and a certification body are not brand owners; an admin must name the owner
        for owner in (world["producer_org"].id, world["certifier_org"].id, 999999, None, "x"):
            with pytest.raises(InvalidInput) as info, db.write_session() as s:
                make_brand(s, world["admin"], owner=owner)
            assert "owner" in info.value.fields, (owner, info.value.fields)
            assert written() == before, owner


def test_a_brand_manager_registers_only_for_their_own_organization(app, world):
    manager, own, other = world["manager"], world["owner_org"].id, world["rival_owner_org"].id
    with app.app_context():
        before = written()
        for owner in (other, str(other)):
            with pytest.raises(Forbidden), db.write_session() as s:
                make_brand(s, manager, owner=owner)
            assert written() == before
        with db.write_session() as s:
            brand = make_brand(s, manager, owner=str(own))
        assert fetch(Brand, brand.id).owner_id == own
        assert_clean()


def test_other_roles_may_not_register_brands(app, world):
    with app.app_context():
        before = written()
        for who in ("producer", "rival", "inspector", "certifier", "regulator"):
            with pytest.raises(Forbidden), db.write_session() as s:
                make_brand(s, world[who], owner=world["owner_org"].id)
            assert written() == before, who


def test_a_child_brands_area_lies_within_its_parents(app, world):
    manager = world["manager"]
    with app.app_context():
        with db.write_session() as s:
            # 中国有机谷: four counties of 襄阳市
            parent = make_brand(s, manager, name="中国有机谷", slug="zhongguo-youjigu", aliases=[], level="city",
                                area=["420624", "420626", "420625", "420682"], products=["香菇", "核桃"])
        before = written()
        for area in (["420600"],  # the whole city is larger than the parent
                     ["420625", "420607"],  # 谷城县 is inside, 襄州区 is not
                     ["430225"]):
            with pytest.raises(InvalidInput) as info, db.write_session() as s:
                make_brand(s, manager, name="谷城香菇", parent="zhongguo-youjigu", area=area, products=["香菇"])
            assert "area" in info.value.fields and "中国有机谷" in info.value.fields["area"], area
            assert written() == before
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            make_brand(s, manager, name="谷城香菇", parent="no-such-brand", area=["420625"], products=["香菇"])
        assert "parent" in info.value.fields and written() == before
        with pytest.raises(InvalidInput) as info, db.write_session() as s:  # PostgreSQL cannot compare NUL
            make_brand(s, manager, name="谷城香菇", parent="zhongguo\x00youjigu", area=["420625"], products=["香菇"])
        assert "控制字符" in info.value.fields["parent"] and written() == before
        with db.write_session() as s:
            child = make_brand(s, manager, name="南漳保康香菇", parent="Zhongguo-Youjigu", area=["420624", "420626"],
                               products=["香菇"])
        row = fetch(Brand, child.id)
        assert (row.slug, row.parent_id) == ("nanzhang-baokang-xianggu", parent.id)
        assert body_of(row.ledger_seq)["data"]["parent"] == "zhongguo-youjigu"
        assert_clean()


def test_a_province_level_parent_contains_its_counties(app, world):
    with app.app_context():
        with db.write_session() as s:
            make_brand(s, world["manager"], name="湖南黄桃", level="province", area=["430000"])
            child = make_brand(s, world["manager"], parent="hunan-huangtao", area=["430225", "430224"])
        assert fetch(Brand, child.id).area == ["430225", "430224"]
        assert_clean()


def test_bad_brand_fields_are_named_and_nothing_is_written(app, world):
    with app.app_context():
        before = written()
        for overrides, field in (({"name": ""}, "name"), ({"name": "桃" * 101}, "name"),
                                 ({"category": "fruits"}, "category"), ({"level": "town"}, "level"),
                                 ({"products": []}, "products"), ({"products": ["黄桃", 3]}, "products")):
            with pytest.raises(InvalidInput) as info, db.write_session() as s:
                make_brand(s, world["manager"], **overrides)
            assert field in info.value.fields, (overrides, info.value.fields)
            assert written() == before, overrides
        with db.write_session() as s:  # a comma-separated form value is a list
            brand = make_brand(s, world["manager"], aliases="炎陵锦绣黄桃， 锦绣黄桃,  ")
        assert fetch(Brand, brand.id).aliases == ["炎陵锦绣黄桃", "锦绣黄桃"]


# -- retiring ------------------------------------------------------------------------------

def test_retiring_a_brand_appends_one_entry_and_happens_once(app, world, brand):
    with app.app_context():
        for who in ("rival_manager", "producer", "regulator"):
            with pytest.raises(Forbidden), db.write_session() as s:
                retire_brand(s, s.get(Brand, brand.id), {"reason": "停用"}, user=world[who])
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            retire_brand(s, s.get(Brand, brand.id), {"reason": " "}, user=world["manager"])
        assert "reason" in info.value.fields
        before = count(LedgerEntry)
        with db.write_session() as s:
            retire_brand(s, s.get(Brand, brand.id), {"reason": "并入湖南黄桃"}, user=world["manager"])
        assert count(LedgerEntry) == before + 1
        assert fetch(Brand, brand.id).retired_on == clock.today()
        with db.database().sessions() as s:
            last = s.scalar(select(LedgerEntry.seq).order_by(LedgerEntry.seq.desc()).limit(1))
        entry = body_of(last)
        assert (entry["kind"], entry["subject"], entry["data"]) == (
            "brand.retired", "brand:yanling-huangtao",
            {"retired_on": clock.today().isoformat(), "reason": "并入湖南黄桃"})
        with pytest.raises(Conflict), db.write_session() as s:
            retire_brand(s, s.get(Brand, brand.id), {"reason": "再停用"}, user=world["admin"])
        assert count(LedgerEntry) == before + 1
        assert_clean()


# -- licences ------------------------------------------------------------------------------

def test_granting_a_licence_writes_its_row_and_one_entry(app, world, brand):
    licensee = world["producer_org"]
    with app.app_context():
        before = count(LedgerEntry)
        with db.write_session() as s:
            lic = make_license(s, world["manager"], s.get(Brand, brand.id), licensee.id, quantity="50000.5",
                               products=["黄桃", "黄桃罐头"])
        assert count(LedgerEntry) == before + 1 and count(License) == 1
        row = fetch(License, lic.id)
        assert (row.brand_id, row.licensee_id, row.products, row.valid_from, row.valid_to, str(row.quantity),
                row.unit, row.bases, row.granted_by, row.revoked_on) == (
            brand.id, licensee.id, ["黄桃", "黄桃罐头"], date(2026, 1, 1), date(2026, 12, 31), "50000.500", "kg",
            ["鹿原镇九龙村基地"], world["manager"].username, None)
        entry = body_of(row.ledger_seq)
        assert (entry["kind"], entry["subject"]) == ("brand.licensed", f"license:{lic.id}")
        assert entry["data"] == {"brand": "yanling-huangtao", "licensee": f"org:{licensee.id}",
                                 "products": ["黄桃", "黄桃罐头"], "valid_from": "2026-01-01",
                                 "valid_to": "2026-12-31", "quantity": "50000.5", "unit": "kg",
                                 "bases": ["鹿原镇九龙村基地"]}
        assert_clean()


def test_only_the_brands_manager_or_an_admin_grants(app, world, brand):
    with app.app_context():
        before = written()
        for who in ("rival_manager", "producer", "inspector", "certifier", "regulator"):
            with pytest.raises(Forbidden), db.write_session() as s:
                make_license(s, world[who], s.get(Brand, brand.id), world["producer_org"].id)
            assert written() == before, who
        with db.write_session() as s:
            make_license(s, world["admin"], s.get(Brand, brand.id), world["producer_org"].id)
        assert count(License) == 1
        assert_clean()


BAD_LICENCES = [
    ({"products": ["黄桃", "苹果"]}, "products"),  # not among the brand's products
    ({"products": []}, "products"),
    ({"valid_from": "2026-06-02", "valid_to": "2026-06-01"}, "valid_to"),  # one day before valid_from
    ({"valid_to": "2026-13-01"}, "valid_to"),
    ({"quantity": "0"}, "quantity"),
    ({"quantity": "1.0001"}, "quantity"),
    ({"unit": "吨"}, "unit"),
    ({"licensee": 999999}, "licensee"),
    ({"licensee": None}, "licensee"),
]


def test_bad_licence_fields_are_named_and_nothing_is_written(app, world, brand):
    with app.app_context():
        before = written()
        for overrides, field in BAD_LICENCES:
            with pytest.raises(InvalidInput) as info, db.write_session() as s:
                grant_license(s, s.get(Brand, brand.id), license_data(world["producer_org"].id, **overrides),
                              user=world["manager"])
            assert field in info.value.fields, (overrides, info.value.fields)
            assert written() == before, overrides


def test_the_licensee_must_be_a_producer_and_products_are_named(app, world, brand):
    with app.app_context():
        for org in ("owner_org", "inspector_org"):
            with pytest.raises(InvalidInput) as info, db.write_session() as s:
                make_license(s, world["manager"], s.get(Brand, brand.id), world[org].id)
            assert "licensee" in info.value.fields
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            make_license(s, world["manager"], s.get(Brand, brand.id), world["producer_org"].id,
                         products=["黄桃", "苹果"])
        assert "苹果" in info.value.fields["products"] and "黄桃罐头" in info.value.fields["products"]
        assert count(License) == 0


def test_a_licence_of_one_day_is_valid(app, world, brand):
    with app.app_context():
        with db.write_session() as s:
            lic = make_license(s, world["manager"], s.get(Brand, brand.id), world["rival_org"].id,
                               valid_from="2026-06-01", valid_to="2026-06-01")
        assert (fetch(License, lic.id).valid_from, fetch(License, lic.id).valid_to) == (date(2026, 6, 1),) * 2


def test_revoking_a_licence_appends_one_entry_and_happens_once(app, world, brand):
    with app.app_context():
        with db.write_session() as s:
            lic = make_license(s, world["manager"], s.get(Brand, brand.id), world["producer_org"].id)
        for who in ("rival_manager", "producer"):
            with pytest.raises(Forbidden), db.write_session() as s:
                revoke_license(s, s.get(Brand, brand.id), s.get(License, lic.id), {"reason": "违规"}, user=world[who])
        with pytest.raises(InvalidInput) as info, db.write_session() as s:
            revoke_license(s, s.get(Brand, brand.id), s.get(License, lic.id), {}, user=world["manager"])
        assert "reason" in info.value.fields
        before = count(LedgerEntry)
        with db.write_session() as s:
            revoke_license(s, s.get(Brand, brand.id), s.get(License, lic.id), {"reason": "抽检不合格"},
                           user=world["manager"])
        assert count(LedgerEntry) == before + 1
        row = fetch(License, lic.id)
        assert (row.revoked_on, row.revoke_reason) == (clock.today(), "抽检不合格")
        entry = body_of(row.revoke_seq)
        assert (entry["kind"], entry["subject"], entry["data"]) == (
            "brand.license_revoked", f"license:{lic.id}", {"revoked_on": clock.today().isoformat(),
                                                           "reason": "抽检不合格"})
        with pytest.raises(Conflict), db.write_session() as s:
            revoke_license(s, s.get(Brand, brand.id), s.get(License, lic.id), {"reason": "再撤销"},
                           user=world["admin"])
        assert count(LedgerEntry) == before + 1 and fetch(License, lic.id).revoke_reason == "抽检不合格"
        assert_clean()


def test_a_retired_brand_grants_no_licence(app, world, brand):
    with app.app_context():
        with db.write_session() as s:
            retire_brand(s, s.get(Brand, brand.id), {"reason": "停用"}, user=world["manager"])
        before = written()
        with pytest.raises(Rejected) as info, db.write_session() as s:
            make_license(s, world["manager"], s.get(Brand, brand.id), world["producer_org"].id)
        assert info.value.status == 422 and "炎陵黄桃" in info.value.message
        assert written() == before


# -- rows changed behind the ledger ---------------------------------------------------------

def test_brand_rows_changed_behind_the_ledger_are_reported_by_verify(app, world, brand):
    columns = ("name", "area", "products", "owner_id", "parent_id", "retired_on", "ledger_seq")
    with app.app_context():
        with db.write_session() as s:
            other = make_brand(s, world["rival_manager"], name="茶陵白茶", area=["430224"], products=["白茶"])
            victims = [make_brand(s, world["manager"], slug=f"victim-{column.replace('_', '-')}")
                       for column in columns]
        values = {"name": "炎陵蜜桃", "area": ["430224"], "products": ["黄桃", "蜜桃"],
                  "owner_id": world["rival_owner_org"].id, "parent_id": other.id, "retired_on": date(2026, 9, 1),
                  "ledger_seq": other.ledger_seq}
        result = verify(app)
        assert result.exit_code == 0, result.output
        table = Brand.__table__
        with app.extensions["traceapp.db"].engine.begin() as conn:
            for column, victim in zip(columns, victims, strict=True):
                conn.execute(table.update().where(table.c.id == victim.id).values({column: values[column]}))
    result = verify(app)
    assert result.exit_code == 1
    fields = {"owner_id": "owner", "parent_id": "parent"}
    for column, victim in zip(columns, victims, strict=True):
        line = f"brands: {victim.slug} differs from entry {victim.ledger_seq} in {fields.get(column, column)}\n"
        assert line in result.output, (line, result.output)
    assert "yanling-huangtao" not in result.output and "chaling-baicha" not in result.output


def test_licence_rows_changed_behind_the_ledger_are_reported_by_verify(app, world, brand):
    changes = [("quantity", 60000, "quantity"), ("valid_to", date(2027, 12, 31), "valid_to"),
               ("products", ["黄桃", "黄桃罐头"], "products"), ("unit", "t", "unit"),
               ("revoked_on", date(2026, 9, 1), "revoked"), ("licensee_id", None, "licensee")]
    with app.app_context():
        with db.write_session() as s:
            found = s.get(Brand, brand.id)
            untouched = make_license(s, world["manager"], found, world["producer_org"].id)
            victims = [make_license(s, world["manager"], found, world["producer_org"].id) for _ in changes]
        result = verify(app)
        assert result.exit_code == 0, result.output
        table = License.__table__
        with app.extensions["traceapp.db"].engine.begin() as conn:
            for (column, value, _field), victim in zip(changes, victims, strict=True):
                value = world["rival_org"].id if column == "licensee_id" else value
                conn.execute(table.update().where(table.c.id == victim.id).values({column: value}))
    result = verify(app)
    assert result.exit_code == 1
    for (_column, _value, field), victim in zip(changes, victims, strict=True):
        line = f"licenses: {victim.id} differs from entry {victim.ledger_seq} in {field}\n"
        assert line in result.output, (line, result.output)
    assert f"licenses: {untouched.id} " not in result.output


def test_a_deleted_licence_row_is_reported_by_verify(app, world, brand):
    with app.app_context():
        with db.write_session() as s:
            lic = make_license(s, world["manager"], s.get(Brand, brand.id), world["producer_org"].id)
        table = License.__table__
        with app.extensions["traceapp.db"].engine.begin() as conn:
            conn.execute(table.delete().where(table.c.id == lic.id))
    result = verify(app)
    assert result.exit_code == 1
    assert f"licenses: {lic.id} is missing (recorded by entry {lic.ledger_seq})" in result.output


# -- search --------------------------------------------------------------------------------

YANLING = search_text("炎陵黄桃", ["炎陵锦绣黄桃"], ["430225"])


@pytest.mark.parametrize("query", [
    "炎陵黄桃", "炎陵", "黄桃", " 炎陵 黄桃 ",  # Chinese name and parts of it
    "炎陵锦绣黄桃", "锦绣",  # alias
    "yanlinghuangtao", "yanling huangtao", "yanling-huangtao", "Yan Ling Huang Tao", "YANLING-HUANGTAO",
    "yanling", "huang tao", "jinxiu",  # full pinyin, of the name and the alias, any case and spacing
    "ylht", "YLHT", "yljxht",  # initials
    "株洲", "湖南", "湖南省株洲市炎陵县", "yanlingxian", "yan-ling xian", "YanLingXian", "ylx",  # its place
])
def test_a_brand_is_found_by_name_alias_pinyin_initials_and_place(query):
    assert matches(query, YANLING)


@pytest.mark.parametrize("query", ["", "   ", "-", "茶陵", "chaling", "xiangyang", "ylhtx", "黄桃炎陵",
                                   "huangtaoyanling", "襄阳"])
def test_a_brand_is_not_found_by_what_it_is_not(query):
    assert not matches(query, YANLING)


def test_a_registered_brand_is_found_by_the_directory_search(app, world, brand):
    from traceapp.brands.queries import find_brands

    with app.app_context(), db.write_session() as s:
        make_brand(s, world["rival_manager"], name="茶陵白茶", aliases=[], area=["430224"], products=["白茶"])
    with app.app_context(), db.database().sessions() as s:
        assert [b.slug for b in find_brands(s, "Yan-Ling")] == ["yanling-huangtao"]
        assert [b.slug for b in find_brands(s, "clx")] == ["chaling-baicha"]
        assert sorted(b.slug for b in find_brands(s, "株洲")) == ["chaling-baicha", "yanling-huangtao"]
        assert find_brands(s, "xiangyang") == []

"""Checked brand claims: a batch that names a brand is registered only if, on its harvest date, its producer
holds a valid, unrevoked licence for that brand and product, its origin lies in the brand's area, and the
producer's quantity under the brand that year, this batch included, stays within the licence's cap.
Otherwise a 422 naming the rule and the amounts, and nothing is written. Each rule at its boundary;
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.factories import (
    batch_data,
    brand_projection_differences,
    count,
    fetch,
    make_batch,
    make_brand,
    make_brand_owner,
    make_license,
    make_world,
    projection_differences,
)
from traceapp import clock, db
from traceapp.auth.services import issue_token
from traceapp.brands.models import Brand, License
from traceapp.brands.services import retire_brand, revoke_license, used_quantity
from traceapp.errors import Rejected
from traceapp.ledger.store import LedgerEntry
from traceapp.records import regions
from traceapp.records.models import Batch
from traceapp.validation import InvalidInput

SLUG = "yanling-huangtao"
API = "/api/v1"


@pytest.fixture
def world(app):
    """make_world's users; 炎陵黄桃 (area 炎陵县, products 黄桃 and 黄桃罐头) owned by a brand-owner organization
    with its manager; ``licence``: the producer may claim it for 黄桃 in 2026, up to 50,000 kg."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["owner_org"], world["manager"] = make_brand_owner(s)
        world["brand"] = make_brand(s, world["manager"])
        world["licence"] = make_license(s, world["manager"], world["brand"], world["producer_org"].id)
        return world


def claim(world, who: str = "producer", **overrides) -> Batch:
    """Register a batch claiming 炎陵黄桃 (harvested 2026-08-01 in 炎陵县 unless overridden)."""
    with db.write_session() as s:
        return make_batch(s, world[who], **{"brand": SLUG, "pack_date": None, **overrides})


def refused(world, fields: dict, who: str = "producer", **overrides) -> str:
    """Assert the claim is refused with a 422 naming ``fields`` and writes nothing; return the message."""
    before = (count(LedgerEntry), count(Batch))
    with pytest.raises(Rejected) as info:
        claim(world, who, **overrides)
    assert info.value.status == 422 and info.value.code == "rejected"
    assert info.value.fields == fields, info.value.fields
    assert (count(LedgerEntry), count(Batch)) == before
    return info.value.message


def used(world, org: str = "producer_org", year: int = 2026, unit: str = "kg") -> Decimal:
    with db.database().sessions() as s:
        return used_quantity(s, s.get(Brand, world["brand"].id), world[org].id, year, unit)


def grant(world, org: str, **overrides) -> License:
    with db.write_session() as s:
        return make_license(s, world["manager"], s.get(Brand, world["brand"].id), world[org].id, **overrides)


def assert_clean() -> None:
    assert projection_differences() == []
    assert brand_projection_differences() == []


# -- the yearly cap --------------------------------------------------------------------------

def test_a_claim_exactly_at_the_cap_passes_and_one_gram_more_is_refused_with_the_amounts(app, world):
    with app.app_context():
        first = claim(world, quantity="48200")
        assert first.brand == SLUG and fetch(Batch, first.id).brand == SLUG
        message = refused(world, {"quantity": "over_cap"}, quantity="2000")
        assert message == "许可允许 2026 年使用 50,000 kg；已登记 48,200 kg；本批次 2,000 kg 将超出 200 kg。"
        claim(world, quantity="1799.999")
        claim(world, quantity="0.001")  # exactly 50,000 kg
        assert used(world) == Decimal(50000)
        message = refused(world, {"quantity": "over_cap"}, quantity="0.001")
        assert message == "许可允许 2026 年使用 50,000 kg；已登记 50,000 kg；本批次 0.001 kg 将超出 0.001 kg。"
        assert count(Batch) == 3
        assert_clean()


def test_the_cap_is_compared_across_kg_t_and_jin(app, world):
    with app.app_context():
        grant(world, "rival_org", quantity="50", unit="t")
        claim(world, "rival", quantity="30", unit="t")
        claim(world, "rival", quantity="19000", unit="kg")
        claim(world, "rival", quantity="1998", unit="斤")  # 999 kg
        assert used(world, "rival_org", unit="t") == Decimal("49.999")
        message = refused(world, {"quantity": "over_cap"}, "rival", quantity="1.001", unit="kg")
        assert message == "许可允许 2026 年使用 50 t；已登记 49.999 t；本批次 0.001001 t 将超出 0.000001 t。"
        claim(world, "rival", quantity="2", unit="斤")  # 1 kg: exactly 50 t
        assert (used(world, "rival_org", unit="kg"), used(world, "rival_org", unit="斤")) == (50000, 100000)
        message = refused(world, {"quantity": "over_cap"}, "rival", quantity="1", unit="g")
        assert "已登记 50 t" in message and "将超出 0.000001 t" in message, message
        refused(world, {"unit": "not_convertible"}, "rival", quantity="1", unit="箱")
        assert count(Batch) == 4
        assert_clean()


def test_jin_are_half_kilograms_against_a_cap_in_kg(app, world):
    with app.app_context():
        claim(world, quantity="100000", unit="斤")  # 50,000 kg
        message = refused(world, {"quantity": "over_cap"}, quantity="1", unit="斤")
        assert message == "许可允许 2026 年使用 50,000 kg；已登记 50,000 kg；本批次 0.5 kg 将超出 0.5 kg。"


def test_batches_of_another_year_producer_or_none_do_not_count(app, world):
    with app.app_context():
        grant(world, "producer_org", valid_from="2025-01-01", valid_to="2025-12-31")
        grant(world, "rival_org")
        claim(world, quantity="50000", harvest_date="2025-12-31")  # the whole of 2025's cap
        message = refused(world, {"quantity": "over_cap"}, quantity="0.001", harvest_date="2025-12-31")
        assert "2025 年" in message and "已登记 50,000 kg" in message
        claim(world, quantity="49000", harvest_date="2026-01-01")
        claim(world, "rival", quantity="5000")  # the rival's batches count toward the rival's cap only
        claim(world, brand=None, quantity="7000")  # a batch without the brand does not count at all
        claim(world, quantity="1000")
        assert (used(world, year=2025), used(world, year=2026), used(world, "rival_org")) == (50000, 50000, 5000)
        message = refused(world, {"quantity": "over_cap"}, quantity="0.001")
        assert "已登记 50,000 kg" in message and "将超出 0.001 kg" in message
        assert_clean()


# -- the licence's dates, product and revocation -----------------------------------------------

def test_the_licence_is_valid_from_its_first_to_its_last_day(app, world):
    with app.app_context():
        grant(world, "rival_org", valid_from="2026-03-01", valid_to="2026-03-31")  # expired since
        for harvest in ("2026-02-28", "2026-04-01"):
            message = refused(world, {"brand": "license_not_valid"}, "rival", harvest_date=harvest)
            assert message == f"采收日期 {harvest} 不在品牌 炎陵黄桃 使用许可的有效期（2026-03-01 – 2026-03-31）内。"
        for harvest in ("2026-03-01", "2026-03-15", "2026-03-31"):
            batch = claim(world, "rival", harvest_date=harvest)
            assert fetch(Batch, batch.id).harvest_date == date.fromisoformat(harvest)
        assert count(Batch) == 3
        assert_clean()


def test_a_producer_without_a_licence_is_refused_whoever_registers(app, world):
    with app.app_context():
        message = refused(world, {"brand": "no_license"}, "rival")
        assert message == "生产主体没有品牌 炎陵黄桃 的使用许可。"
        # an admin registering for an organization is held to that organization's licence
        refused(world, {"brand": "no_license"}, "admin", organization=world["rival_org"].id)
        batch = claim(world, "admin", organization=world["producer_org"].id)
        assert fetch(Batch, batch.id).organization_id == world["producer_org"].id


def test_a_licence_not_covering_the_product_is_refused(app, world):
    with app.app_context():
        for product in ("黄桃罐头", "苹果", "黄桃干"):  # 黄桃罐头 is the brand's, not in the licence
            message = refused(world, {"product": "not_licensed"}, product=product)
            assert message == f"品牌 炎陵黄桃 的使用许可不包含产品 {product}（许可产品：黄桃）。"


def test_a_revoked_licence_stops_new_claims_at_once_and_earlier_batches_stay(app, world):
    with app.app_context():
        earlier = claim(world, quantity="1000", harvest_date="2026-08-01")
        with db.write_session() as s:
            revoke_license(s, s.get(Brand, world["brand"].id), s.get(License, world["licence"].id),
                           {"reason": "抽检不合格"}, user=world["manager"])
        # harvested before the revocation, registered after it: refused all the same
        message = refused(world, {"brand": "license_revoked"}, quantity="1", harvest_date="2026-08-01")
        assert message == f"品牌 炎陵黄桃 的使用许可已于 {clock.today().isoformat()} 撤销：抽检不合格"
        row = fetch(Batch, earlier.id)
        assert (row.brand, row.quantity, row.ledger_seq) == (SLUG, Decimal(1000), earlier.ledger_seq)
        assert_clean()
        result = app.test_cli_runner().invoke(args=["ledger", "verify"])
        assert result.exit_code == 0, result.output
        # a new licence lets new claims in again; the earlier batch still counts toward the year
        grant(world, "producer_org", quantity="2000")
        claim(world, quantity="1000")
        assert used(world) == 2000
        refused(world, {"quantity": "over_cap"}, quantity="0.001")


def test_a_retired_brand_takes_no_claim_harvested_on_or_after_its_retirement(app, world):
    with app.app_context():
        with db.write_session() as s:
            retire_brand(s, s.get(Brand, world["brand"].id), {"reason": "停用"}, user=world["manager"])
        today = clock.today().isoformat()
        message = refused(world, {"brand": "retired"}, harvest_date=today)
        assert message == f"品牌 炎陵黄桃 已于 {today} 停用。"


def test_an_unknown_brand_is_refused_and_a_malformed_one_is_a_field_error(app, world):
    with app.app_context():
        message = refused(world, {"brand": "unknown"}, brand="no-such-brand")
        assert "no-such-brand" in message
        before = (count(LedgerEntry), count(Batch))
        for bad in ("Yanling-Huangtao", "炎陵黄桃", "yanling huangtao"):
            with pytest.raises(InvalidInput) as info:
                claim(world, brand=bad)
            assert "brand" in info.value.fields, bad
        # a bad field is reported before the claim is checked
        with pytest.raises(InvalidInput) as info:
            claim(world, quantity="60000", origin_region="439999")
        assert "origin_region" in info.value.fields
        assert (count(LedgerEntry), count(Batch)) == before


# -- the brand's area ------------------------------------------------------------------------

AREAS = [
    ("420600", "420625", True),  # 谷城县 lies in 襄阳市
    ("420600", "420600", True),
    ("420600", "420000", False),  # 湖北省 is larger than 襄阳市
    ("420600", "430225", False),
    ("430225", "430225", True),
    ("430225", "430224", False),  # 茶陵县 neighbours 炎陵县
    ("430225", "430200", False),  # 株洲市 contains 炎陵县, not the reverse
    ("430000", "430224", True),  # a province-level area contains its cities and counties
    ("430000", "431000", True),
    ("430000", "430000", True),
    ("430000", "420625", False),
]


def test_the_origin_must_lie_in_the_brands_area(app, world):
    with app.app_context():
        with db.write_session() as s:
            for area in {area for area, _origin, _ok in AREAS}:
                brand = make_brand(s, world["manager"], name=f"测试{area}", slug=f"test-{area}", aliases=[],
                                   area=[area], products=["黄桃"])
                make_license(s, world["manager"], brand, world["producer_org"].id)
        for area, origin, ok in AREAS:
            if ok:
                batch = claim(world, brand=f"test-{area}", origin_region=origin)
                assert fetch(Batch, batch.id).origin_region == origin
            else:
                message = refused(world, {"origin_region": "outside"}, brand=f"test-{area}", origin_region=origin)
                assert message == (f"产地 {regions.full_name(origin)} 不在品牌 测试{area} 的产地范围"
                                   f"（{regions.full_name(area)}）之内。"), (area, origin)
        assert count(Batch) == sum(ok for _area, _origin, ok in AREAS)
        assert_clean()


# -- through the API ---------------------------------------------------------------------------

def test_an_api_claim_over_the_cap_is_a_422_in_the_requested_language(app, client, world):
    with app.app_context():
        with db.write_session() as s:
            token = issue_token(s, world["producer"].username)
        claim(world, quantity="48200")
        before = (count(LedgerEntry), count(Batch))
    body = batch_data(brand=SLUG, quantity="2000")
    headers = {"Authorization": f"Bearer {token}"}
    english = client.post(f"{API}/batches", json=body, headers={**headers, "Accept-Language": "en"})
    assert english.status_code == 422 and english.mimetype == "application/json"
    assert english.get_json() == {"error": {
        "code": "rejected", "fields": {"quantity": "over_cap"},
        "message": "The licence allows 50,000 kg in 2026; 48,200 kg already registered; "
                   "this batch of 2,000 kg would exceed it by 200 kg."}}
    chinese = client.post(f"{API}/batches", json=body, headers=headers)
    assert chinese.status_code == 422
    assert chinese.get_json()["error"]["message"] == ("许可允许 2026 年使用 50,000 kg；已登记 48,200 kg；"
                                                      "本批次 2,000 kg 将超出 200 kg。")
    with app.app_context():
        assert (count(LedgerEntry), count(Batch)) == before
    accepted = client.post(f"{API}/batches", json={**body, "quantity": "1800"}, headers=headers)
    assert accepted.status_code == 201, accepted.get_json()
    assert accepted.get_json()["brand"] == SLUG
    with app.app_context():
        assert used(world) == 50000
        assert_clean()


def test_an_api_claim_outside_the_area_is_a_422_naming_the_field(app, client, world):
    with app.app_context(), db.write_session() as s:
        token = issue_token(s, world["producer"].username)
    response = client.post(f"{API}/batches", json=batch_data(brand=SLUG, origin_region="430224"),
                           headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert (error["code"], error["fields"]) == ("rejected", {"origin_region": "outside"})
    assert error["message"] == ("Origin 湖南省株洲市茶陵县 is outside the area of brand 炎陵黄桃 "
                                "(湖南省株洲市炎陵县).")
    with app.app_context():
        assert count(Batch) == 0


def test_a_correction_of_a_branded_batch_is_checked_against_the_claim_again(app):
    """Registering 1 kg under the brand and correcting it upward must not get round the cap."""
    from tests.factories import make_brand, make_brand_owner, make_license, make_org, make_user
    from traceapp.records.corrections import correct_batch

    with app.app_context():
        with db.write_session() as s:
            _owner, manager = make_brand_owner(s)
            brand = make_brand(s, manager)
            producer_org = make_org(s)
            producer = make_user(s, "producer", producer_org.id, password=None)
            make_license(s, manager, brand, producer_org.id, quantity="100", unit="kg")
            batch = make_batch(s, producer, brand=brand.slug, quantity="1", product="黄桃")
        before = count(LedgerEntry)
        with pytest.raises(Rejected) as info, db.write_session() as s:
            correct_batch(s, s.get(Batch, batch.id), {"fields": {"quantity": "101"}, "reason": "x"}, user=producer)
        assert info.value.fields == {"quantity": "over_cap"} and count(LedgerEntry) == before
        with db.write_session() as s:  # exactly the cap, its own earlier 1 kg not counted twice
            correct_batch(s, s.get(Batch, batch.id), {"fields": {"quantity": "100"}, "reason": "复秤"}, user=producer)
        assert fetch(Batch, batch.id).quantity == 100

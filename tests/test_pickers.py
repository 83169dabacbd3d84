"""Pickers instead of codes (issue 24 item 4): the region type-ahead by name and pinyin and the 省 → 市 → 县
cascade, the organization picker by name or 统一社会信用代码 with an individual's name masked for those who
may not see it, the brand picker listing only licences valid today with what is left of this year's cap,
and forms and filters that take what a person types (a name) when the pickers' script does not run."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from tests.factories import make_batch, make_brand, make_brand_owner, make_license, make_org, make_user
from traceapp import clock, db
from traceapp.auth.models import User
from traceapp.brands.models import Brand
from traceapp.brands.services import retire_brand, revoke_license
from traceapp.pickers import queries
from traceapp.records.models import Batch, Certification, Organization

PASSWORD = "password-123"


def log_in(client, username: str) -> str:
    """Sign in through the form; return a CSRF token for posts."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302, response.text
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', client.get("/home").text).group(1)


def codes(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["code"] for item in response.get_json()["items"]]


def world(app):
    """A producer cooperative, an individual farmer, a brand owner with 炎陵黄桃, and users of each role."""
    with app.app_context(), db.write_session() as session:
        coop = make_org(session, name="炎陵县鹿原镇黄桃专业合作社")
        farmer = make_org(session, name="欧阳娜娜", kind="individual", uscc=None)
        owner, manager = make_brand_owner(session)
        brand = make_brand(session, manager)
        make_user(session, "producer", coop.id, name="coop")
        make_user(session, "producer", farmer.id, name="farmer")
        make_user(session, "brand_manager", owner.id, name="manager")
        make_user(session, "regulator", None, name="regulator")
        make_user(session, "admin", None, name="root")
        return {"coop": coop.id, "coop_uscc": coop.uscc, "farmer": farmer.id, "owner": owner.id,
                "brand": brand.slug, "manager_user": manager}


# -- regions --------------------------------------------------------------------------------------------

def test_region_type_ahead_finds_the_county_by_name_pinyin_initials_and_code(app, client):
    world(app)
    log_in(client, "coop")
    assert "430225" in codes(client.get("/pickers/regions", query_string={"q": "炎陵"}))
    assert "430225" in codes(client.get("/pickers/regions", query_string={"q": "yanling"}))
    assert "430225" in codes(client.get("/pickers/regions", query_string={"q": "Yán Líng"}))
    assert "430225" in codes(client.get("/pickers/regions", query_string={"q": "ylx"}))
    assert codes(client.get("/pickers/regions", query_string={"q": "4302"}))[:2] == ["430200", "430202"]
    item = client.get("/pickers/regions", query_string={"q": "炎陵县"}).get_json()["items"][0]
    assert item["full_name"] == "湖南省株洲市炎陵县" and item["path"] == ["430000", "430200", "430225"]


def test_region_cascade_goes_from_province_to_city_to_county(app, client):
    world(app)
    log_in(client, "coop")
    provinces = codes(client.get("/pickers/regions"))
    assert "430000" in provinces and "110000" in provinces and "430200" not in provinces
    cities = codes(client.get("/pickers/regions", query_string={"parent": "430000"}))
    assert "430200" in cities and "430225" not in cities
    assert "430225" in codes(client.get("/pickers/regions", query_string={"parent": "430200"}))
    # a municipality's districts hang directly under it
    assert "110105" in codes(client.get("/pickers/regions", query_string={"parent": "110000"}))
    refused = client.get("/pickers/regions", query_string={"parent": "999999"})
    assert refused.status_code == 400 and "parent" in refused.get_json()["error"]["fields"]


def test_pickers_answer_signed_in_users_only(app, client):
    world(app)
    for url in ("/pickers/regions?q=yanling", "/pickers/organizations?q=炎陵", "/pickers/brands?q=炎陵"):
        response = client.get(url)
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"


# -- organizations --------------------------------------------------------------------------------------

def test_organization_picker_finds_by_part_of_the_name_or_the_credit_code(app, client):
    w = world(app)
    log_in(client, "manager")
    found = client.get("/pickers/organizations", query_string={"q": "鹿原镇"}).get_json()["items"]
    assert [o["id"] for o in found] == [w["coop"]]
    assert found[0]["name"] == "炎陵县鹿原镇黄桃专业合作社" and found[0]["region_name"] == "湖南省株洲市炎陵县"
    by_code = client.get("/pickers/organizations", query_string={"q": w["coop_uscc"][:12].lower()}).get_json()
    assert w["coop"] in [o["id"] for o in by_code["items"]]
    producers = client.get("/pickers/organizations",
                           query_string={"q": "炎陵县", "kinds": "cooperative,individual"}).get_json()["items"]
    assert w["owner"] not in [o["id"] for o in producers]  # 炎陵县黄桃产业协会 is a brand owner


def test_an_individual_is_masked_for_a_brand_manager_and_shown_to_a_regulator_and_itself(app):
    w = world(app)
    manager, regulator, farmer = app.test_client(), app.test_client(), app.test_client()
    log_in(manager, "manager")
    log_in(regulator, "regulator")
    log_in(farmer, "farmer")
    # part of a person's name reveals nothing to those who may not see it …
    assert manager.get("/pickers/organizations", query_string={"q": "娜娜"}).get_json()["items"] == []
    # … the full name finds the farmer, shown by surname and 某
    named = manager.get("/pickers/organizations", query_string={"q": "欧阳娜娜"}).get_json()["items"]
    assert [o["id"] for o in named] == [w["farmer"]] and named[0]["name"] == "欧阳某"  # a compound surname
    assert "娜娜" not in named[0]["text"]
    for client in (regulator, farmer):
        seen = client.get("/pickers/organizations", query_string={"q": "娜娜"}).get_json()["items"]
        assert [(o["id"], o["name"]) for o in seen] == [(w["farmer"], "欧阳娜娜")]


# -- brands ---------------------------------------------------------------------------------------------

def licences_world(app):
    """炎陵黄桃 licensed today with part of the cap used; four other brands whose licences do not count
    today: expired, not yet valid, revoked, and a brand retired."""
    w = world(app)
    today = clock.today()
    with app.app_context(), db.write_session() as session:
        owner = session.get(Organization, w["owner"])
        manager = session.scalar(select(User).where(User.username == "manager"))
        coop = session.get(Organization, w["coop"])
        brand = session.scalar(select(Brand).where(Brand.slug == w["brand"]))
        span = {"valid_from": (today - timedelta(days=30)).isoformat(),
                "valid_to": (today + timedelta(days=30)).isoformat()}
        make_license(session, manager, brand, coop.id, quantity="2", unit="t", **span)
        expired = make_brand(session, manager, name="炎陵白茶", slug="yanling-baicha", products=["白茶"])
        make_license(session, manager, expired, coop.id, products=["白茶"],
                     valid_from=(today - timedelta(days=60)).isoformat(),
                     valid_to=(today - timedelta(days=1)).isoformat())
        later = make_brand(session, manager, name="炎陵茶油", slug="yanling-chayou", products=["茶油"])
        make_license(session, manager, later, coop.id, products=["茶油"],
                     valid_from=(today + timedelta(days=1)).isoformat(),
                     valid_to=(today + timedelta(days=90)).isoformat())
        revoked = make_brand(session, manager, name="炎陵笋干", slug="yanling-sungan", products=["笋干"])
        lic = make_license(session, manager, revoked, coop.id, products=["笋干"], **span)
        revoke_license(session, revoked, lic, {"reason": "抽检不合格"}, user=manager)
        retired = make_brand(session, manager, name="炎陵蜜桔", slug="yanling-mijie", products=["蜜桔"])
        make_license(session, manager, retired, coop.id, products=["蜜桔"], **span)
        retire_brand(session, retired, {"retired_on": today.isoformat(), "reason": "并入"}, user=manager)
        producer = session.scalar(select(User).where(User.username == "coop"))
        make_batch(session, producer, quantity="600", unit="kg", harvest_date=today.isoformat(), pack_date="",
                   brand=brand.slug)
        assert owner is not None
    return w


def test_brand_picker_lists_only_licences_valid_today_with_what_is_left_of_the_cap(app, client):
    w = licences_world(app)
    with app.app_context():
        listed = queries.licensed_brands(db.session(), w["coop"], clock.today())
    assert [(b["slug"], b["cap"], b["used"], b["remaining"], b["unit"]) for b in listed] == [
        ("yanling-huangtao", "2", "0.6", "1.4", "t")]
    log_in(client, "coop")
    form = client.get("/batches/new").text
    assert 'data-slug="yanling-huangtao"' in form and "剩余 1.4 / 2 t" in form
    for other in ("yanling-baicha", "yanling-chayou", "yanling-sungan", "yanling-mijie"):
        assert other not in form


def test_the_batch_form_takes_a_brand_and_an_origin_by_name_without_the_script(app, client):
    licences_world(app)
    token = log_in(client, "coop")
    today = clock.today().isoformat()
    response = client.post("/batches/new", data={
        "csrf_token": token, "product": "黄桃", "category": "fruit", "quantity": "100", "unit": "kg",
        "harvest_date": today, "origin_region": "湖南省株洲市炎陵县", "base": "鹿原镇九龙村基地", "brand": "炎陵黄桃"})
    assert response.status_code == 303, response.text
    code = re.search(r"/batches/([A-Z0-9]{13})", response.location).group(1)
    with app.app_context():
        batch = db.session().scalar(select(Batch).where(Batch.code == code))
        assert (batch.brand, batch.origin_region) == ("yanling-huangtao", "430225")
        assert queries.licensed_brands(db.session(), batch.organization_id, clock.today())[0]["remaining"] == "1.3"


def test_a_name_that_matches_nothing_or_several_is_refused_beside_its_field_and_nothing_is_written(app, client):
    licences_world(app)
    token = log_in(client, "coop")
    with app.app_context():
        before = len(db.session().scalars(select(Batch)).all())
    response = client.post("/batches/new", data={
        "csrf_token": token, "product": "黄桃", "category": "fruit", "quantity": "abc", "unit": "kg",
        "harvest_date": clock.today().isoformat(), "origin_region": "朝阳区", "base": "基地", "brand": "炎陵红桃"})
    assert response.status_code == 400
    page = response.text
    assert re.search(r'id="e-origin_region"[^>]*>[^<]*朝阳区[^<]*北京市朝阳区', page)  # which ones it could be
    assert re.search(r'id="e-brand"[^>]*>品牌：没有名为“炎陵红桃”的品牌', page)
    assert 'id="e-quantity"' in page  # the service's own refusals are shown too
    with app.app_context():
        assert len(db.session().scalars(select(Batch)).all()) == before


def test_the_organization_form_takes_a_region_by_pinyin(app, client):
    world(app)
    token = log_in(client, "root")
    response = client.post("/organizations/new", data={
        "csrf_token": token, "name": "炎陵县测试家庭农场", "kind": "family_farm", "uscc": "", "region": "yanlingxian",
        "address": "", "contact": ""})
    assert response.status_code == 400  # two counties are called yan ling xian: 鄢陵县 and 炎陵县
    assert "河南省许昌市鄢陵县" in response.text and "湖南省株洲市炎陵县" in response.text
    response = client.post("/organizations/new", data={
        "csrf_token": token, "name": "炎陵县测试家庭农场", "kind": "family_farm", "uscc": "", "region": "炎陵县",
        "address": "", "contact": ""})
    assert response.status_code == 303
    with app.app_context():
        org = db.session().scalar(select(Organization).where(Organization.name == "炎陵县测试家庭农场"))
        assert org.region == "430225"


def test_a_certifier_finds_the_holder_by_name_and_the_form_lists_no_ones_name(app, client):
    w = world(app)
    with app.app_context(), db.write_session() as session:
        body = make_org(session, name="中绿华夏有机产品认证中心", kind="certification_body")
        make_user(session, "certifier", body.id, name="certifier")
    token = log_in(client, "certifier")
    form = client.get("/certifications/new").text
    assert "欧阳娜娜" not in form and "鹿原镇黄桃专业合作社" not in form  # no list of every producer
    response = client.post("/certifications/new", data={
        "csrf_token": token, "kind": "green_food", "number": "GF430225260777", "holder": "炎陵县鹿原镇黄桃专业合作社",
        "products": "黄桃", "valid_from": "2026-03-01", "valid_to": "2029-02-28", "issuer": "中绿华夏有机产品认证中心"})
    assert response.status_code in (302, 303), response.text
    with app.app_context():
        cert = db.session().scalar(select(Certification).where(Certification.number == "GF430225260777"))
        assert cert.holder_id == w["coop"]


# -- filters --------------------------------------------------------------------------------------------

def test_risk_and_export_filters_take_the_picked_organization_by_id_or_by_name(app, client):
    w = licences_world(app)
    with app.app_context(), db.write_session() as session:
        farmer = session.scalar(select(User).where(User.username == "farmer"))
        other = make_batch(session, farmer, harvest_date=clock.today().isoformat(), pack_date="").code
        own = session.scalar(select(Batch.code).where(Batch.organization_id == w["coop"]))
    log_in(client, "regulator")
    for producer in (str(w["coop"]), "炎陵县鹿原镇黄桃专业合作社", w["coop_uscc"]):
        page = client.get("/audit/risks/", query_string={"producer": producer, "region": "炎陵县", "brand": "炎陵黄桃"})
        assert page.status_code == 200, page.text
        # the pickers show what the filters hold: the organization's id, the county's code, the brand's slug
        assert f'data-value="{w["coop"]}"' in page.text and 'data-value="430225"' in page.text
        assert 'data-value="yanling-huangtao"' in page.text
        export = client.get("/audit/export", query_string={"format": "csv", "producer": producer})
        assert export.status_code == 200, export.text
        text = export.get_data(as_text=True)
        assert own in text and other not in text
    refused = client.get("/audit/risks/", query_string={"producer": "没有这个合作社"})
    assert refused.status_code == 400 and "生产主体：没有名称或统一社会信用代码为“没有这个合作社”的组织" in refused.text

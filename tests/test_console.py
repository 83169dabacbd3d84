"""The brand owner's console: the licence list's statuses and use equal what the rows hold, grants,
revocations (asked first), profile changes and brand registrations go through the services into the
ledger with the brand manager as actor, the batch list filters, the brand manager's home lists what
needs attention, and every console page refuses other roles and other owners' brand managers (403).
SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.factories import (
    brand_projection_differences,
    make_batch,
    make_brand,
    make_inspection,
    make_license,
    make_org,
    make_user,
)
from traceapp import clock, db
from traceapp.brands.models import Brand, BrandAttachment, License
from traceapp.ledger.store import LedgerEntry
from traceapp.records.models import Batch

PASSWORD = "password-123"


@pytest.fixture
def ui_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


@pytest.fixture
def world(ui_app):
    """Two brand owners with a brand and a manager each, three producers (one licensed for this year and
    near its cap, one not yet valid, one revoked), a batch of each licensee this year, and users of every
    other role."""
    today = clock.today()
    year_end = today.replace(month=12, day=31)
    with ui_app.app_context(), db.write_session() as s:
        owner = make_org(s, kind="brand_owner", name="炎陵县黄桃产业协会")
        rival_owner = make_org(s, kind="brand_owner", name="宜章县脐橙协会")
        w = {"manager": make_user(s, "brand_manager", owner.id, name="manager").username,
             "rival": make_user(s, "brand_manager", rival_owner.id, name="rival").username}
        manager_user = s.scalar(select_user("manager"))
        rival_user = s.scalar(select_user("rival"))
        brand = make_brand(s, manager_user, slug="yanling-huangtao")
        make_brand(s, rival_user, name="宜章脐橙", slug="yizhang-qicheng", aliases=[], area=["431022"],
                   products=["脐橙"])
        orgs = {key: make_org(s, name=name) for key, name in (
            ("luyuan", "炎陵县鹿原镇黄桃专业合作社"), ("ceyuan", "炎陵县策源乡果蔬专业合作社"),
            ("shuikou", "炎陵县水口镇黄桃种植专业合作社"))}
        producers = {key: make_user(s, "producer", org.id, name=f"p_{key}") for key, org in orgs.items()}
        active = make_license(s, manager_user, brand, orgs["luyuan"].id, valid_from=today.replace(month=1, day=1)
                              .isoformat(), valid_to=min(today + timedelta(days=10), year_end).isoformat(),
                              quantity="1000")
        pending = make_license(s, manager_user, brand, orgs["ceyuan"].id,
                               valid_from=(today + timedelta(days=400)).isoformat(),
                               valid_to=(today + timedelta(days=800)).isoformat())
        revoked = make_license(s, manager_user, brand, orgs["shuikou"].id,
                               valid_from=today.replace(month=1, day=1).isoformat(), valid_to=year_end.isoformat())
        s.flush()
        for quantity, unit in (("700", "kg"), ("300", "斤")):  # 850 kg of 1,000: near the cap
            make_batch(s, producers["luyuan"], brand="yanling-huangtao", quantity=quantity, unit=unit,
                       harvest_date=today.isoformat(), pack_date=None)
        make_batch(s, producers["shuikou"], brand="yanling-huangtao", quantity="40", harvest_date=today.isoformat(),
                   pack_date=None)
        from traceapp.brands.services import revoke_license
        revoke_license(s, brand, revoked, {"reason": "不再符合生产规范"}, user=manager_user)
        bodies = {kind: make_org(s, kind=kind, name=f"{kind}组织").id
                  for kind in ("inspection_body", "certification_body", "regulator")}
        for role, org in (("producer", orgs["luyuan"].id), ("inspector", bodies["inspection_body"]),
                          ("certifier", bodies["certification_body"]), ("regulator", bodies["regulator"]),
                          ("admin", None)):
            w[role] = make_user(s, role, org, name=f"{role}_ui").username
        w.update(active=active.id, pending=pending.id, revoked=revoked.id, brand=brand.id,
                 orgs={k: o.id for k, o in orgs.items()})
    return w


def select_user(name: str):
    from traceapp.auth.models import User

    return select(User).where(User.username == name)


def log_in(client, username: str) -> str:
    token = csrf_token(client.get("/login").text)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return csrf_token(client.get("/home").text)


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html).group(1)


def hidden_fields(html: str) -> dict[str, str]:
    form = html.split('id="confirm-form"')[1].split("</form>")[0]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def entries(app, kind: str) -> list[dict]:
    """The ledger's entries of ``kind`` as written (decoded from the hashed bytes), oldest first."""
    with app.app_context(), db.database().sessions() as s:
        return [json.loads(bytes(body)) for body in s.scalars(
            select(LedgerEntry.body).where(LedgerEntry.kind == kind).order_by(LedgerEntry.seq))]


def actor(app, username: str) -> dict:
    """How the ledger names this user's writes (the user's own ``actor()``)."""
    with app.app_context(), db.database().sessions() as s:
        return s.scalar(select_user(username)).actor()


def ledger_size(app) -> int:
    with app.app_context(), db.database().sessions() as s:
        return s.scalar(select(func.count()).select_from(LedgerEntry))


def licence_block(html: str, licence_id: int) -> str:
    return html.split(f'id="licence-{licence_id}"')[1].split("</li>")[0]


def test_the_licence_list_shows_each_status_and_this_years_use_from_the_rows(ui_app, client, world):
    log_in(client, world["manager"])
    page = client.get("/console/yanling-huangtao/")
    assert page.status_code == 200
    html = page.text
    with ui_app.app_context(), db.database().sessions() as s:
        for licence_id, status in ((world["active"], "有效"), (world["pending"], "尚未生效"),
                                   (world["revoked"], "已撤销")):
            lic = s.get(License, licence_id)
            block = licence_block(html, licence_id)
            assert status in block
            year = clock.today().year
            rows = s.execute(select(Batch.quantity, Batch.unit).where(
                Batch.brand == "yanling-huangtao", Batch.organization_id == lic.licensee_id,
                func.extract("year", Batch.harvest_date) == year)).all()
            used = sum((q * (Decimal("0.5") if u == "斤" else 1) for q, u in rows), Decimal(0))
            share = used / lic.quantity
            meter = re.search(r'<meter[^>]*value="([0-9.]+)"', block).group(1)
            assert abs(Decimal(meter) - share) < Decimal("0.0001")
            assert f"{len(rows)} 个批次" in block
            assert ("撤销许可" in block) == (status != "已撤销")
    assert "不再符合生产规范" in licence_block(html, world["revoked"])


def test_granting_a_licence_by_the_licensees_name_writes_brand_licensed_by_the_manager(ui_app, client, world):
    token = log_in(client, world["manager"])
    form = {"csrf_token": token, "licensee": "炎陵县策源乡果蔬专业合作社", "product-0": "on",
            "valid_from": clock.today().isoformat(), "valid_to": clock.today().replace(month=12, day=31).isoformat(),
            "quantity": "2500", "unit": "kg", "bases": "策源乡梨树洲基地\n"}
    before = len(entries(ui_app, "brand.licensed"))
    response = client.post("/console/yanling-huangtao/licences/new", data=form)
    assert response.status_code == 303, response.text[:3000]
    page = client.get(response.location)
    assert "已向炎陵县策源乡果蔬专业合作社发放品牌“炎陵黄桃”的使用许可" in page.text
    granted = entries(ui_app, "brand.licensed")
    assert len(granted) == before + 1
    entry = granted[-1]
    assert entry["actor"] == actor(ui_app, world["manager"])
    with ui_app.app_context():
        assert brand_projection_differences() == []
        with db.database().sessions() as s:
            lic = s.get(License, int(entry["subject"].split(":")[1]))
            assert (lic.licensee_id, lic.products, lic.quantity, lic.bases) == (
                world["orgs"]["ceyuan"], ["黄桃"], Decimal("2500"), ["策源乡梨树洲基地"])


def test_a_grant_without_products_or_licensee_is_refused_naming_the_fields_and_writes_nothing(ui_app, client,
                                                                                             world):
    token = log_in(client, world["manager"])
    before = ledger_size(ui_app)
    response = client.post("/console/yanling-huangtao/licences/new", data={
        "csrf_token": token, "licensee": "", "valid_from": "2026-01-01", "valid_to": "2026-12-31",
        "quantity": "abc", "unit": "kg"})
    assert response.status_code == 400
    errors = dict(re.findall(r'<p class="field-error" id="e-([a-z_-]+)" role="alert">(.*?)</p>', response.text))
    assert "被许可主体" in errors["licensee"]
    assert "产品" in errors["products"]
    assert "数量" in errors["quantity"]
    assert ledger_size(ui_app) == before


def test_revoking_asks_first_then_writes_brand_license_revoked_with_the_reason(ui_app, client, world):
    token = log_in(client, world["manager"])
    url = f"/console/yanling-huangtao/licences/{world['active']}/revoke"
    assert client.get(url).status_code == 200
    before = ledger_size(ui_app)
    asked = client.post(url, data={"csrf_token": token, "reason": "抽检不合格"})
    assert asked.status_code == 200 and 'id="confirm-form"' in asked.text
    assert "此操作不可撤销" in asked.text
    assert ledger_size(ui_app) == before
    done = client.post(url, data=hidden_fields(asked.text))
    assert done.status_code == 303
    assert "品牌使用许可已撤销" in client.get(done.location).text
    revoked = entries(ui_app, "brand.license_revoked")[-1]
    assert (revoked["subject"], revoked["actor"]) == (f"license:{world['active']}", actor(ui_app, world["manager"]))
    with ui_app.app_context(), db.database().sessions() as s:
        assert s.get(License, world["active"]).revoke_reason == "抽检不合格"
    assert "已撤销" in licence_block(client.get("/console/yanling-huangtao/").text, world["active"])


def test_editing_the_profile_writes_brand_changed_with_the_reason_and_previous_values(ui_app, client, world):
    token = log_in(client, world["manager"])
    form = {"csrf_token": token, "name": "炎陵黄桃", "aliases": "炎陵锦绣黄桃、炎陵高山黄桃",
            "description": "罗霄山脉中段的高山黄桃。", "products": "黄桃、黄桃罐头、黄桃干",
            "area-0": "炎陵县", "area-1": "", "gi_number": "AGI2017-01-2058", "standard": "DB43/T 1166",
            "qr_digital_link": "on", "reason": "新增黄桃干产品"}
    response = client.post("/console/yanling-huangtao/profile", data=form)
    assert response.status_code == 303, response.text[:3000]
    assert "资料已修改" in client.get(response.location).text
    entry = entries(ui_app, "brand.changed")[-1]
    assert entry["actor"] == actor(ui_app, world["manager"])
    data = entry["data"]
    with ui_app.app_context(), db.database().sessions() as s:
        brand = s.get(Brand, world["brand"])
        assert brand.products == ["黄桃", "黄桃罐头", "黄桃干"]
        assert brand.aliases == ["炎陵锦绣黄桃", "炎陵高山黄桃"]
        assert brand.qr_digital_link is True and brand.area == ["430225"]
    assert data["reason"] == "新增黄桃干产品"
    assert data["previous"]["products"] == ["黄桃", "黄桃罐头"]
    assert data["changes"]["products"] == ["黄桃", "黄桃罐头", "黄桃干"]
    with ui_app.app_context():
        assert brand_projection_differences() == []


def test_an_unknown_area_is_refused_by_its_label_and_nothing_changes(ui_app, client, world):
    token = log_in(client, world["manager"])
    before = ledger_size(ui_app)
    response = client.post("/console/yanling-huangtao/profile", data={
        "csrf_token": token, "name": "炎陵黄桃", "products": "黄桃", "area-0": "没有这个县", "reason": "x"})
    assert response.status_code == 400
    assert "产地范围" in re.search(r'id="e-area" role="alert">(.*?)</p>', response.text).group(1)
    assert ledger_size(ui_app) == before


def test_a_brand_manager_registers_a_brand_and_a_sub_brand_for_its_own_organization(ui_app, client, world):
    token = log_in(client, world["manager"])
    response = client.post("/console/new-brand", data={
        "csrf_token": token, "name": "炎陵茶油", "category": "oil_crop", "level": "county", "products": "茶油",
        "area-0": "430225"})
    assert response.status_code == 303, response.text[:3000]
    sub = client.post("/console/yanling-huangtao/sub-brands/new", data={
        "csrf_token": csrf_token(client.get("/console/yanling-huangtao/sub-brands/new").text),
        "name": "鹿原黄桃", "slug": "luyuan-huangtao", "category": "fruit", "level": "enterprise",
        "products": "黄桃", "area-0": "430225"})
    assert sub.status_code == 303, sub.text[:3000]
    with ui_app.app_context(), db.database().sessions() as s:
        tea = s.scalar(select(Brand).where(Brand.name == "炎陵茶油"))
        child = s.scalar(select(Brand).where(Brand.slug == "luyuan-huangtao"))
        parent = s.get(Brand, world["brand"])
        assert tea.owner_id == child.owner_id == parent.owner_id
        assert child.parent_id == parent.id
    registered = entries(ui_app, "brand.registered")[-2:]
    assert [e["actor"] for e in registered] == [actor(ui_app, world["manager"])] * 2


def test_the_manager_accepts_another_owners_request_to_attach_from_the_console(ui_app, client, world):
    with ui_app.app_context(), db.write_session() as s:
        rival = s.scalar(select_user("rival"))
        from traceapp.brands.services import change_brand, get_brand
        child = get_brand(s, "yizhang-qicheng")
        child.area = ["430225"]  # placed inside the parent's area for the test
        change_brand(s, child, {"area": ["430225"], "parent": "yanling-huangtao"}, user=rival)
    token = log_in(client, world["manager"])
    page = client.get("/console/yanling-huangtao/")
    attachment_id = int(re.search(r'id="attachment-([0-9]+)"', page.text).group(1))
    response = client.post(f"/console/yanling-huangtao/attachments/{attachment_id}/accept",
                           data={"csrf_token": token})
    assert response.status_code == 303
    assert "挂靠为下级品牌" in client.get(response.location).text
    with ui_app.app_context(), db.database().sessions() as s:
        assert s.get(BrandAttachment, attachment_id).state == "accepted"
    assert entries(ui_app, "brand.attachment_accepted")[-1]["actor"] == actor(ui_app, world["manager"])


def test_the_batch_list_filters_by_licensee_product_dates_and_outcome(ui_app, client, world):
    with ui_app.app_context(), db.write_session() as s:
        inspector_org = make_org(s, kind="inspection_body", name="检测站")
        inspector = make_user(s, "inspector", inspector_org.id, password=None)
        shuikou = s.scalar(select(Batch).where(Batch.organization_id == world["orgs"]["shuikou"]))
        make_inspection(s, inspector, shuikou, inspected_on=clock.today().isoformat(), verdict="fail",
                        items=[{"name": "毒死蜱", "method": "GB 23200.113", "value": "0.5", "limit": "0.02",
                                "unit": "mg/kg", "verdict": "fail"}])
    log_in(client, world["manager"])
    base = "/console/yanling-huangtao/batches"

    def codes(query: str) -> set[str]:
        page = client.get(base + query)
        assert page.status_code == 200, page.text[:2000]
        return set(re.findall(r"<code>([0-9A-Z]{13})</code>", page.text))

    with ui_app.app_context(), db.database().sessions() as s:
        def expected(*where) -> set[str]:
            return set(s.scalars(select(Batch.code).where(Batch.brand == "yanling-huangtao", *where)))
        luyuan = world["orgs"]["luyuan"]
        assert codes("") == expected()
        assert codes(f"?licensee={luyuan}") == expected(Batch.organization_id == luyuan)
        assert codes("?outcome=fail") == expected(Batch.organization_id == world["orgs"]["shuikou"])
        assert codes("?outcome=none") == expected(Batch.organization_id == luyuan)
        assert codes("?product=黄桃罐头") == set()
        tomorrow = (clock.today() + timedelta(days=1)).isoformat()
        assert codes(f"?harvest_from={tomorrow}") == set()
        assert codes(f"?harvest_to={tomorrow}") == expected()
    bad = client.get(base + "?harvest_from=2026-13-01")
    assert bad.status_code == 400 and "采收日期起" in bad.text


def test_the_batch_list_pages_by_harvest_date_without_repeating_or_skipping(ui_app, client, world):
    with ui_app.app_context(), db.write_session() as s:
        producer = s.scalar(select_user("p_luyuan"))
        for n in range(4):
            make_batch(s, producer, brand="yanling-huangtao", quantity="1",
                       harvest_date=(clock.today() - timedelta(days=n + 1)).isoformat(), pack_date=None)
    log_in(client, world["manager"])
    import traceapp.console.queries as q
    q.BATCHES_PAGE, saved = 2, q.BATCHES_PAGE
    try:
        seen: list[str] = []
        url = "/console/yanling-huangtao/batches"
        while url:
            page = client.get(url).text
            seen += re.findall(r"<code>([0-9A-Z]{13})</code>", page)
            found = re.search(r'<a href="([^"]+)" rel="next">', page)
            url = found.group(1).replace("&amp;", "&") if found else None
    finally:
        q.BATCHES_PAGE = saved
    with ui_app.app_context(), db.database().sessions() as s:
        ordered = list(s.scalars(select(Batch.code).where(Batch.brand == "yanling-huangtao")
                                 .order_by(Batch.harvest_date.desc(), Batch.id.desc())))
    assert seen == ordered


def test_the_brand_managers_home_lists_licences_ending_soon_and_licensees_near_their_cap(ui_app, client, world):
    with ui_app.app_context(), db.write_session() as s:  # another producer's batch: not the manager's business
        other = make_org(s, name="别处的合作社")
        make_batch(s, make_user(s, "producer", other.id, password=None), product="白菜", category="vegetable")
        elsewhere = s.scalar(select(Batch.code).where(Batch.organization_id == other.id))
    log_in(client, world["manager"])
    home = client.get("/home").text
    ending = home.split('id="ending-soon"')[1].split("</section>")[0]
    near = home.split('id="near-cap"')[1].split("</section>")[0]
    assert "炎陵县鹿原镇黄桃专业合作社" in ending
    assert "炎陵县水口镇" not in ending  # revoked
    assert "炎陵县鹿原镇黄桃专业合作社" in near and "850 / 1,000 kg" in near
    assert elsewhere not in home


CONSOLE_PAGES = ("/console/yanling-huangtao/", "/console/yanling-huangtao/profile",
                 "/console/yanling-huangtao/licences/new", "/console/yanling-huangtao/batches",
                 "/console/yanling-huangtao/sub-brands/new", "/console/yanling-huangtao/licences/{active}/revoke")

WRITES = {"/console/new-brand", *(path for path in CONSOLE_PAGES if not path.endswith(("/", "/batches")))}


@pytest.mark.parametrize("role", ["producer", "inspector", "certifier", "regulator"])
def test_console_pages_refuse_other_roles(ui_app, client, world, role):
    token = log_in(client, world[role])
    before = ledger_size(ui_app)
    for path in ("/console/", "/console/new-brand", *CONSOLE_PAGES):
        url = path.format(active=world["active"])
        assert client.get(url).status_code == 403, url
        if path in WRITES:
            assert client.post(url, data={"csrf_token": token, "reason": "x", "name": "x"}).status_code == 403, url
    assert ledger_size(ui_app) == before


def test_console_pages_refuse_another_owners_brand_manager(ui_app, client, world):
    token = log_in(client, world["rival"])
    before = ledger_size(ui_app)
    for path in CONSOLE_PAGES:
        url = path.format(active=world["active"])
        assert client.get(url).status_code == 403, url
        if path in WRITES:
            post = client.post(url, data={"csrf_token": token, "reason": "x", "confirm": "1", "licensee": "1"})
            assert post.status_code == 403, url
    assert client.post("/console/yanling-huangtao/attachments/1/accept", data={"csrf_token": token}).status_code == 403
    assert ledger_size(ui_app) == before
    # its own brand is open to it, and the console's index lists only its own brands
    assert client.get("/console/yizhang-qicheng/").status_code == 200
    index = client.get("/console/").text
    assert "宜章脐橙" in index and "炎陵黄桃" not in index


def test_an_admin_opens_any_brands_console(ui_app, client, world):
    log_in(client, world["admin"])
    for path in CONSOLE_PAGES:
        assert client.get(path.format(active=world["active"])).status_code == 200, path


def test_an_admin_registers_a_brand_for_an_owner_typed_by_name(ui_app, client, world):
    token = log_in(client, world["admin"])
    response = client.post("/console/new-brand", data={
        "csrf_token": token, "name": "宜章莽山茶", "category": "tea", "level": "county", "products": "红茶",
        "area-0": "431022", "owner": "宜章县脐橙协会"})
    assert response.status_code == 303, response.text[:3000]
    with ui_app.app_context(), db.database().sessions() as s:
        made = s.scalar(select(Brand).where(Brand.name == "宜章莽山茶"))
        rival_owner = s.get(Brand, s.scalar(select(Brand.id).where(Brand.slug == "yizhang-qicheng"))).owner_id
        assert made.owner_id == rival_owner
    assert entries(ui_app, "brand.registered")[-1]["actor"] == actor(ui_app, world["admin"])


def test_a_brand_manager_cannot_register_a_brand_for_another_owner(ui_app, client, world):
    token = log_in(client, world["manager"])
    before = ledger_size(ui_app)
    response = client.post("/console/new-brand", data={
        "csrf_token": token, "name": "冒名品牌", "category": "fruit", "level": "county", "products": "黄桃",
        "area-0": "430225", "owner": "宜章县脐橙协会"})
    with ui_app.app_context(), db.database().sessions() as s:
        made = s.scalar(select(Brand).where(Brand.name == "冒名品牌"))
        owner = s.get(Brand, world["brand"]).owner_id
    assert response.status_code == 303
    assert made.owner_id == owner  # the owner field is not offered to it: the brand is its own organization's
    assert ledger_size(ui_app) == before + 1


def test_refusing_a_request_to_attach_needs_a_reason_and_writes_it(ui_app, client, world):
    with ui_app.app_context(), db.write_session() as s:
        from traceapp.brands.services import change_brand, get_brand
        change_brand(s, get_brand(s, "yizhang-qicheng"), {"area": ["430225"], "parent": "yanling-huangtao"},
                     user=s.scalar(select_user("rival")))
    token = log_in(client, world["manager"])
    attachment_id = int(re.search(r'id="attachment-([0-9]+)"', client.get("/console/yanling-huangtao/").text)
                        .group(1))
    url = f"/console/yanling-huangtao/attachments/{attachment_id}/refuse"
    before = ledger_size(ui_app)
    assert client.post(url, data={"csrf_token": token, "reason": " "}).status_code == 400
    assert ledger_size(ui_app) == before
    response = client.post(url, data={"csrf_token": token, "reason": "产地范围不符"})
    assert response.status_code == 303
    assert "挂靠申请" in client.get(response.location).text
    refused = entries(ui_app, "brand.attachment_refused")[-1]
    assert refused["data"]["reason"] == "产地范围不符" and refused["actor"] == actor(ui_app, world["manager"])

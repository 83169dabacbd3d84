"""The GS1 Digital Link resolver (/01/<gtin>/10/<lot>): redirects to the consumer page and its other links,
the RFC 9264 linkset, 303 for unknown lots, 410 for voided codes, 400/404 for bad and unknown GTINs, the
resolver description file, and brands choosing Digital Link QR codes. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.factories import (
    brand_projection_differences,
    make_batch,
    make_brand,
    make_brand_owner,
    make_compliance,
    make_license,
    make_world,
)
from tests.test_qr_decode import decode_png, decode_svg
from traceapp import db
from traceapp.auth.services import issue_token
from traceapp.ledger.store import LedgerEntry
from traceapp.public.qr import target_url
from traceapp.records.codes import gtin_check_digit
from traceapp.records.models import Batch

BASE = "http://traceapp.test"  # the app fixture's TRACEAPP_PUBLIC_URL
BRANDED = "06901234567892"
PLAIN = "0690123456790" + gtin_check_digit("0690123456790")
UNUSED = "0690123456791" + gtin_check_digit("0690123456791")
LOT = "A+B#1"  # '+' and '#' must be percent-encoded in the URI
LOT_PATH = "A%2BB%231"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
GS1 = "https://gs1.org/voc/"


@pytest.fixture
def world(app):
    """make_world's users; the 炎陵黄桃 brand licensed to the producer; a branded batch with GTIN BRANDED and
    lot LOT, a second lot of it, and an unbranded batch with GTIN PLAIN and lot Lot7."""
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        world["owner_org"], world["manager"] = make_brand_owner(s)
        world["brand"] = make_brand(s, world["manager"])
        make_license(s, world["manager"], world["brand"], world["producer_org"].id)
        world["branded"] = make_batch(s, world["producer"], brand="yanling-huangtao", gtin=BRANDED, lot=LOT)
        world["second"] = make_batch(s, world["producer"], brand="yanling-huangtao", gtin=BRANDED, lot="B2",
                                     quantity="10")
        world["plain"] = make_batch(s, world["rival"], product="黄桃罐头", category="processed", gtin=PLAIN,
                                    lot="Lot7")
        return world


def void_code(world, batch, reason: str) -> None:
    """Void a batch's code through the code-state service (a regulator's ``code.voided``)."""
    from traceapp.records.code_states import void_code as void

    with db.write_session() as s:
        void(s, s.get(Batch, batch.id), {"reason": reason}, user=world["regulator"])


def test_a_lot_redirects_307_to_its_consumer_page_in_every_gtin_spelling(client, world):
    code = world["branded"].code
    for path in (f"/01/{BRANDED}/10/{LOT_PATH}", f"/01/{BRANDED}/10/{LOT_PATH}/", f"/01/{BRANDED[1:]}/10/{LOT_PATH}"):
        response = client.get(path, headers=BROWSER)
        assert (response.status_code, response.headers["Location"]) == (307, f"{BASE}/t/{code}"), path
    plain = client.get(f"/01/{PLAIN}/10/Lot7")
    assert (plain.status_code, plain.headers["Location"]) == (307, f"{BASE}/t/{world['plain'].code}")
    links = client.get(f"/01/{BRANDED}/10/{LOT_PATH}").headers["Link"]
    linkset = f"{BASE}/01/{BRANDED}/10/{LOT_PATH}?linkType=linkset"
    assert links == f'<{linkset}>; rel="linkset"; type="application/linkset+json"'


def test_the_query_string_is_passed_on_with_the_redirect(client, world):
    response = client.get(f"/01/{PLAIN}/10/Lot7?17=271231&lang=en")
    assert response.headers["Location"] == f"{BASE}/t/{world['plain'].code}?17=271231&lang=en"


def test_an_unknown_lot_of_a_branded_gtin_303s_to_the_brand_page_and_lots_are_case_sensitive(client, world):
    for lot in ("a%2Bb%231", "NOPE"):
        response = client.get(f"/01/{BRANDED}/10/{lot}")
        assert (response.status_code, response.headers["Location"]) == (303, f"{BASE}/brands/yanling-huangtao")


def test_an_unknown_lot_of_an_unbranded_gtin_303s_to_the_gtin_page(client, world):
    response = client.get(f"/01/{PLAIN}/10/lot7")
    assert (response.status_code, response.headers["Location"]) == (303, f"{BASE}/01/{PLAIN}")
    page = client.get(f"/01/{PLAIN}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "黄桃罐头" in text and "rival组织" in text and "Lot7" in text
    assert f'href="{BASE}/01/{PLAIN}/10/Lot7"' in text
    assert f'href="{BASE}/01/{PLAIN}?linkType=linkset"' in text


def test_the_gtin_page_lists_its_lots_and_marks_voided_ones(app, client, world):
    with app.app_context():
        void_code(world, world["second"], "标签印错")
    text = client.get(f"/01/{BRANDED}", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert "炎陵黄桃" in text and f"{BASE}/01/{BRANDED}/10/{LOT_PATH}" in text and "/01/06901234567892/10/B2" in text
    assert text.count("已作废") == 1


def test_a_bad_gtin_is_400_naming_it_in_html_and_json(client, world):
    for gtin, rule in ((BRANDED[:-1] + "3", "校验位"), ("0690123456789X", "8、12、13 或 14 位数字"),
                       ("123456789", "8、12、13 或 14 位数字"), ("٠٦٩٠١٢٣٤٥٦٧٨٩٢", "8、12、13 或 14 位数字")):
        html = client.get(f"/01/{gtin}/10/{LOT_PATH}", headers={"Accept-Language": "zh"})
        assert html.status_code == 400 and html.mimetype == "text/html"
        page = html.get_data(as_text=True)
        assert "GTIN" in page and "<code>gtin</code>" not in page and rule in page
        api = client.get(f"/01/{gtin}/10/{LOT_PATH}", headers={"Accept": "application/json"})
        assert api.status_code == 400 and set(api.get_json()["error"]["fields"]) == {"gtin"}
    english = client.get(f"/01/{BRANDED[:-1]}3", headers={"Accept": "application/json", "Accept-Language": "en"})
    assert english.get_json()["error"]["message"] == ("GTIN 06901234567893 has a wrong check digit: the last digit "
                                                      "should be 2.")


def test_a_lot_that_cannot_exist_is_400_naming_it(client, world):
    for lot in ("L" * 21, "A%20B", "A%00B"):
        response = client.get(f"/01/{BRANDED}/10/{lot}", headers={"Accept": "application/json"})
        assert response.status_code == 400 and set(response.get_json()["error"]["fields"]) == {"lot"}, lot


def test_an_unknown_gtin_is_404(client, world):
    for path in (f"/01/{UNUSED}/10/Lot7", f"/01/{UNUSED}"):
        response = client.get(path, headers={"Accept": "application/json"})
        assert response.status_code == 404 and UNUSED in response.get_json()["error"]["message"]


def test_a_voided_code_is_410_with_its_reason(app, client, world):
    with app.app_context():
        void_code(world, world["branded"], "包装被仿冒，已回收")
    page = client.get(f"/01/{BRANDED}/10/{LOT_PATH}", headers={"Accept-Language": "zh"})
    assert page.status_code == 410 and "Location" not in page.headers
    text = page.get_data(as_text=True)
    assert "此追溯码已作废" in text and "包装被仿冒，已回收" in text and world["branded"].code in text
    for ask in ({"query_string": {"linkType": "linkset"}}, {"headers": {"Accept": "application/linkset+json"}}):
        body = client.get(f"/01/{BRANDED}/10/{LOT_PATH}", **ask)
        assert body.status_code == 410 and "包装被仿冒，已回收" in body.get_json()["error"]["message"]
    assert client.get(f"/01/{BRANDED}/10/B2").status_code == 307  # the other lot is untouched


def test_link_types_redirect_to_their_targets_and_missing_ones_are_404_with_the_available_links(
        app, client, world):
    code = world["branded"].code
    path = f"/01/{BRANDED}/10/{LOT_PATH}"
    pip = client.get(path, query_string={"linkType": "gs1:pip"})
    assert (pip.status_code, pip.headers["Location"]) == (307, f"{BASE}/t/{code}?linkType=gs1:pip")
    brand = client.get(path, query_string={"linkType": "gs1:homepage"})
    assert brand.headers["Location"].startswith(f"{BASE}/brands/yanling-huangtao?")
    missing = client.get(path, query_string={"linkType": "gs1:certificationInfo"}, headers={"Accept-Language": "zh"})
    assert missing.status_code == 404
    text = missing.get_data(as_text=True)
    assert "gs1:certificationInfo" in text and f'href="{BASE}/t/{code}"' in text and "gs1:traceability" in text
    with app.app_context(), db.write_session() as s:
        make_compliance(s, world["producer"], s.get(Batch, world["branded"].id))
    for link_type in ("gs1:certificationInfo", f"{GS1}certificationInfo", "https://ref.gs1.org/voc/certificationInfo"):
        found = client.get(path, query_string={"linkType": link_type})
        assert found.status_code == 307
        location = found.headers["Location"]
        assert location.startswith(f"{BASE}/t/{code}?linkType=") and location.endswith("#compliance-certificates")
    unknown = client.get(path, query_string={"linkType": "gs1:recipeInfo"}, headers={"Accept": "application/json"})
    assert unknown.status_code == 404 and set(unknown.get_json()["error"]["fields"]) == {"linkType"}
    assert "gs1:certificationInfo" in unknown.get_json()["error"]["message"]


def test_the_linkset_lists_every_link_with_one_default(app, client, world):
    code = world["branded"].code
    path = f"/01/{BRANDED}/10/{LOT_PATH}"
    by_param = client.get(path, query_string={"linkType": "linkset"})
    by_accept = client.get(path, headers={"Accept": "application/linkset+json"})
    for response in (by_param, by_accept):
        assert response.status_code == 200 and response.mimetype == "application/linkset+json"
        assert 'rel="http://www.w3.org/ns/json-ld#context"' in response.headers["Link"]
    assert by_param.data == by_accept.data
    [item] = json.loads(by_param.data)["linkset"]
    page = {"href": f"{BASE}/t/{code}", "title": "产品追溯页", "type": "text/html", "hreflang": ["zh", "en"]}
    assert item == {
        "anchor": f"{BASE}{path}", "itemDescription": f"黄桃 · {LOT}",
        f"{GS1}defaultLink": [{"href": page["href"], "title": page["title"]}], f"{GS1}pip": [page],
        f"{GS1}traceability": [{"href": f"{BASE}/t/{code}.json", "title": "追溯记录与账本证明（JSON）",
                                "type": "application/json"}],
        f"{GS1}homepage": [{"href": f"{BASE}/brands/yanling-huangtao", "title": "炎陵黄桃", "type": "text/html",
                            "hreflang": ["zh", "en"]}]}
    with app.app_context(), db.write_session() as s:
        make_compliance(s, world["producer"], s.get(Batch, world["branded"].id))
    [item] = client.get(path, query_string={"linkType": "linkset"}).get_json(force=True)["linkset"]
    assert item[f"{GS1}certificationInfo"][0]["href"] == f"{BASE}/t/{code}#compliance-certificates"
    [plain] = client.get(f"/01/{PLAIN}/10/Lot7", headers={"Accept": "application/linkset+json",
                                                          "Accept-Language": "en"}).get_json(force=True)["linkset"]
    assert f"{GS1}homepage" not in plain and plain[f"{GS1}pip"][0]["title"] == "Product traceability page"


def test_a_browser_preferring_html_gets_the_redirect_not_the_linkset(client, world):
    accept = {"Accept": "text/html, application/linkset+json;q=0.5"}
    assert client.get(f"/01/{PLAIN}/10/Lot7", headers=accept).status_code == 307


def test_the_gtin_linkset_points_to_its_page_and_brand(client, world):
    response = client.get(f"/01/{BRANDED}", query_string={"linkType": "linkset"})
    assert response.mimetype == "application/linkset+json"
    [item] = response.get_json(force=True)["linkset"]
    assert item["anchor"] == f"{BASE}/01/{BRANDED}"
    assert item[f"{GS1}defaultLink"][0]["href"] == f"{BASE}/01/{BRANDED}"
    assert item[f"{GS1}homepage"][0]["href"] == f"{BASE}/brands/yanling-huangtao"
    assert client.get(f"/01/{BRANDED}", query_string={"linkType": "gs1:pip"}).status_code == 200
    assert client.get(f"/01/{BRANDED}", query_string={"linkType": "gs1:epil"}).status_code == 404


def test_the_resolver_description_follows_the_gs1_schema(client):
    response = client.get("/.well-known/gs1resolver")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == {
        "name": "traceapp GS1 Digital Link resolver", "resolverRoot": BASE, "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [{"namespace": GS1, "prefix": "gs1:"}], "linkTypeDefaultCanBeLinkset": False,
        "jsonLdContextLocation": "https://ref.gs1.org/standards/resolver/linkset-context"}


def api_headers(app, world, who: str = "manager") -> dict:
    with app.app_context(), db.write_session() as s:
        return {"Authorization": f"Bearer {issue_token(s, world[who].username)}"}


def last_entry(app) -> dict:
    with app.app_context(), db.database().sessions() as s:
        return json.loads(bytes(s.scalar(select(LedgerEntry.body).order_by(LedgerEntry.seq.desc()).limit(1))))


def qr_text(app, client, batch) -> str:
    with app.app_context(), db.database().sessions() as s:
        expected = target_url(s, s.get(Batch, batch.id))
    assert decode_png(client.get(f"/qr/{batch.code}.png").data)[0] == expected
    assert decode_svg(client.get(f"/qr/{batch.code}.svg?ec=Q").data)[0] == expected
    return expected


def test_a_brand_manager_switches_qr_codes_to_digital_link_through_the_api(app, client, world):
    app.config["QR_CACHE_SECONDS"] = 0  # a worker would notice the new target within that many seconds
    headers = api_headers(app, world)
    brand_url = "/api/v1/brands/yanling-huangtao"
    assert client.get(brand_url, headers=headers).get_json()["qr_digital_link"] is False
    assert qr_text(app, client, world["branded"]) == f"{BASE}/t/{world['branded'].code}"

    response = client.patch(brand_url, json={"qr_digital_link": True, "reason": "包装改印 GS1 二维码"}, headers=headers)
    assert response.status_code == 200 and response.get_json()["qr_digital_link"] is True
    assert last_entry(app)["data"] == {"changes": {"qr_digital_link": True}, "previous": {"qr_digital_link": False},
                                       "reason": "包装改印 GS1 二维码"}
    uri = qr_text(app, client, world["branded"])
    assert uri == f"{BASE}/01/{BRANDED}/10/{LOT_PATH}"
    scanned = client.get(uri.removeprefix(BASE))
    assert (scanned.status_code, scanned.headers["Location"]) == (307, f"{BASE}/t/{world['branded'].code}")
    assert qr_text(app, client, world["plain"]) == f"{BASE}/t/{world['plain'].code}"  # not the brand's
    with app.app_context():
        assert brand_projection_differences() == []

    off = client.patch(brand_url, json={"qr_digital_link": False}, headers=headers)
    assert off.status_code == 200 and off.get_json()["qr_digital_link"] is False
    assert last_entry(app)["data"] == {"changes": {"qr_digital_link": False}, "previous": {"qr_digital_link": True}}
    assert qr_text(app, client, world["branded"]) == f"{BASE}/t/{world['branded'].code}"
    with app.app_context():
        assert brand_projection_differences() == []


def test_a_branded_batch_without_a_lot_keeps_its_consumer_url(app, client, world):
    with app.app_context(), db.write_session() as s:
        batch = make_batch(s, world["producer"], brand="yanling-huangtao", gtin=BRANDED, quantity="5")
    client.patch("/api/v1/brands/yanling-huangtao", json={"qr_digital_link": True}, headers=api_headers(app, world))
    assert qr_text(app, client, batch) == f"{BASE}/t/{batch.code}"


def test_the_setting_must_be_a_boolean_and_is_the_managers_own(app, client, world):
    headers = api_headers(app, world)
    bad = client.patch("/api/v1/brands/yanling-huangtao", json={"qr_digital_link": "yes"}, headers=headers)
    assert bad.status_code == 400 and set(bad.get_json()["error"]["fields"]) == {"qr_digital_link"}
    refused = client.patch("/api/v1/brands/yanling-huangtao", json={"qr_digital_link": True},
                           headers=api_headers(app, world, "producer"))
    assert refused.status_code == 403
    assert client.get("/api/v1/brands/yanling-huangtao", headers=headers).get_json()["qr_digital_link"] is False


def test_every_demo_lot_resolves_to_its_page_and_its_compliance_certificate(demo):
    """What a visitor of ``make run`` tries first: each packed demo lot's Digital Link opens its page, and
    ``linkType=gs1:certificationInfo`` its 合格证 section."""
    client = demo.test_client()
    with demo.app_context():
        lots = db.session().execute(select(Batch.gtin, Batch.lot, Batch.code).where(Batch.gtin.is_not(None))).all()
    assert len(lots) >= 2
    for gtin, lot, code in lots:
        path = f"/01/{gtin}/10/{lot}"
        assert client.get(path, headers=BROWSER).headers["Location"] == f"{BASE}/t/{code}"
        certificate = client.get(path, query_string={"linkType": "gs1:certificationInfo"}, headers=BROWSER)
        assert certificate.status_code == 307, (code, certificate.status_code)
        assert certificate.headers["Location"].startswith(f"{BASE}/t/{code}?linkType=")
        assert certificate.headers["Location"].endswith("#compliance-certificates")
        page = client.get(f"/t/{code}", headers={"Accept-Language": "zh"}).get_data(as_text=True)
        assert 'id="compliance-certificates"' in page and "尚未开具合格证" not in page

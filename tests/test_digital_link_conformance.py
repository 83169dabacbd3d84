"""The resolver against the GS1-Conformant Resolver standard's conformance statements (issue 27): CORS
on every resolver response, 400 for a path that is not a GS1 Digital Link, the linkset link on redirects,
HEAD like GET. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select

from tests import test_digital_link
from tests.test_digital_link import BASE, BRANDED, BROWSER, LOT_PATH, PLAIN, UNUSED, void_code
from traceapp import db
from traceapp.records.models import Batch

LINKSET_SCHEMA = Path(__file__).parent / "data" / "gs1-linkset-schema.json"  # see its .SOURCE.md
DESCRIPTION_SCHEMA = Path(__file__).parent / "data" / "gs1-resolver-ce-description-file-schema.json"  # and this

world = test_digital_link.world  # the same batches, brand and GTINs
LOT_URI = f"/01/{BRANDED}/10/{LOT_PATH}"


def test_every_resolver_response_allows_any_origin_and_preflights_list_methods_and_headers(client, world):
    origin = {"Origin": "https://scanner.example"}
    answers = {
        "307": client.get(LOT_URI, headers={**BROWSER, **origin}),
        "303": client.get(f"/01/{BRANDED}/10/nope", headers=origin),
        "linkset": client.get(LOT_URI, query_string={"linkType": "linkset"}, headers=origin),
        "400": client.get("/01/123/10/x", headers=origin),
        "404 gtin": client.get(f"/01/{UNUSED}/10/x", headers=origin),
        "404 link type": client.get(LOT_URI, query_string={"linkType": "gs1:epil"}, headers=origin),
        "gtin page": client.get(f"/01/{PLAIN}", headers=origin),
        "description": client.get("/.well-known/gs1resolver", headers=origin),
    }
    for name, response in answers.items():
        assert response.headers.get("Access-Control-Allow-Origin") == "*", name
    for path in (LOT_URI, f"/01/{PLAIN}", "/.well-known/gs1resolver"):
        preflight = client.options(path, headers={**origin, "Access-Control-Request-Method": "GET",
                                                  "Access-Control-Request-Headers": "accept-language"})
        assert preflight.status_code in (200, 204), path
        assert preflight.headers["Access-Control-Allow-Origin"] == "*"
        methods = {m.strip() for m in preflight.headers["Access-Control-Allow-Methods"].split(",")}
        assert methods == {"GET", "HEAD", "OPTIONS"}, path
        allowed = {h.strip().lower() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
        assert {"accept", "accept-language"} <= allowed, path
    # CORS is the resolver's: the app's other pages do not open themselves to every origin.
    assert "Access-Control-Allow-Origin" not in client.get("/brands/", headers=origin).headers


def test_a_path_that_is_not_a_digital_link_is_400_saying_why_and_valid_unknown_ones_stay_404(client, world):
    english = {"Accept": "application/json", "Accept-Language": "en"}
    bad = {
        f"{LOT_URI}/foo": "pairs",  # a trailing segment without its value
        f"/01/{BRANDED}/21/7/10/{LOT_PATH}": "order",  # serial before lot
        f"/01/{BRANDED}/10/{LOT_PATH}/10/B2": "order",  # a qualifier twice
        f"/01/{BRANDED}/17/271231": "17",  # a data attribute belongs in the query string
        f"/01/{BRANDED}/10/{LOT_PATH}/21/": "empty",
        f"/01/{BRANDED}/21/{'9' * 21}": "20",
    }
    for path, hint in bad.items():
        response = client.get(path, headers=english)
        assert response.status_code == 400, path
        error = response.get_json()["error"]
        assert error["code"] == "invalid_field" and set(error["fields"]) == {"path"}, path
        assert error["message"].startswith("This is not a valid GS1 Digital Link:"), path
        if hint.isdigit():
            assert hint in error["message"], (path, error["message"])
    page = client.get(f"{LOT_URI}/foo", headers={"Accept-Language": "zh"})
    assert page.status_code == 400 and "数字链接" in page.get_data(as_text=True)
    # Valid URIs with qualifiers this resolver keeps no records for walk up to what it knows.
    serial = client.get(f"/01/{PLAIN}/10/Lot7/21/12345", headers=BROWSER)
    assert serial.status_code == 307 and serial.headers["Location"].endswith(f"/t/{world['plain'].code}")
    assert client.get(f"/01/{PLAIN}/22/A1", headers=BROWSER).status_code == 200  # the GTIN's page
    assert client.get(f"/01/{PLAIN}/22/A1/10/Lot7", headers=BROWSER).status_code == 200
    assert client.get(f"/01/{UNUSED}/10/x/21/1", headers=english).status_code == 404
    assert client.get(f"/01/{UNUSED}/22/A1", headers=english).status_code == 404


def linkset_errors(response) -> list[str]:
    """The ways a resolver answer breaks GS1's linkset schema, empty when it validates."""
    from jsonschema import Draft7Validator

    schema = json.loads(LINKSET_SCHEMA.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    assert response.status_code == 200 and response.mimetype == "application/linkset+json"
    document = json.loads(response.data)
    return [f"/{'/'.join(map(str, e.path))}: {e.message}" for e in Draft7Validator(schema).iter_errors(document)]


def test_every_demo_linkset_validates_against_gs1s_linkset_schema(demo):
    client = demo.test_client()
    with demo.app_context():
        lots = db.session().execute(select(Batch.gtin, Batch.lot).where(Batch.gtin.is_not(None))).all()
    assert len(lots) >= 2
    for gtin, lot in lots:
        for path in ([f"/01/{gtin}/10/{quote(lot, safe='')}"] if lot else []) + [f"/01/{gtin}"]:
            for language in ("zh", "en"):
                response = client.get(path, query_string={"linkType": "linkset"},
                                      headers={"Accept-Language": language})
                assert linkset_errors(response) == [], (path, language)


def test_the_linkset_of_a_voided_lots_neighbour_validates(app, client, world):
    with app.app_context():
        void_code(world, world["second"], "标签印错，已全部回收销毁")
    assert client.get(f"/01/{BRANDED}/10/B2", headers=BROWSER).status_code == 410
    for path in (LOT_URI, f"/01/{BRANDED}", f"/01/{PLAIN}/10/Lot7", f"/01/{PLAIN}/10/Lot7/21/1"):
        response = client.get(path, headers={"Accept": "application/linkset+json"})
        assert linkset_errors(response) == [], path


def test_a_redirect_links_only_its_linkset_and_the_default_link_has_no_type_or_language(client, world):
    linkset = f'<{BASE}{LOT_URI}?linkType=linkset>; rel="linkset"; type="application/linkset+json"'
    for query in ({}, {"linkType": "gs1:homepage"}, {"linkType": "gs1:traceability"}):
        response = client.get(LOT_URI, query_string=query, headers=BROWSER)
        assert response.status_code == 307 and response.headers.getlist("Link") == [linkset], query
    walked_up = client.get(f"/01/{BRANDED}/10/{LOT_PATH}/21/9", headers=BROWSER)
    assert walked_up.headers.getlist("Link") == [linkset]  # the linkset of the lot it resolved to
    followed = client.get(f"{BASE}{LOT_URI}?linkType=linkset")
    [item] = json.loads(followed.data)["linkset"]
    [default] = item["https://gs1.org/voc/defaultLink"]
    assert default == {"href": f"{BASE}/t/{world['branded'].code}", "title": "产品追溯页"}
    assert item["https://gs1.org/voc/pip"][0]["type"] == "text/html"  # the same target under its own type keeps it
    [gtin_default] = client.get(f"/01/{BRANDED}?linkType=linkset").get_json(force=True)["linkset"][0][
        "https://gs1.org/voc/defaultLink"]
    assert set(gtin_default) == {"href", "title"}


def resolver_urls(gtin: str, lot: str) -> list[tuple[str, dict]]:
    """Every kind of resolver answer for one lot: redirects, linksets, pages, errors."""
    uri = f"/01/{gtin}/10/{quote(lot, safe='')}"
    return [(uri, BROWSER), (uri, {"Accept": "application/linkset+json"}), (f"{uri}?linkType=gs1:homepage", BROWSER),
            (f"{uri}?linkType=gs1:epil", BROWSER), (f"/01/{gtin}", BROWSER), (f"/01/{gtin}?linkType=linkset", {}),
            (f"/01/{gtin}/10/nope", BROWSER), (f"{uri}/foo", BROWSER), (f"{uri}/21/1", BROWSER),
            ("/01/123", BROWSER), ("/.well-known/gs1resolver", {})]


def test_head_answers_like_get_without_a_body(client, world):
    for path, headers in resolver_urls(BRANDED, "A+B#1") + [(f"/01/{PLAIN}/10/Lot7", {})]:
        got, head = client.get(path, headers=headers), client.head(path, headers=headers)
        assert head.status_code == got.status_code, path
        assert head.data == b"", path
        for name in ("Location", "Link", "Content-Type", "Access-Control-Allow-Origin", "Vary"):
            assert head.headers.get(name) == got.headers.get(name), (path, name)
        assert int(head.headers.get("Content-Length", 0)) in (0, len(got.data)), path


def test_the_description_file_has_the_fields_the_standard_lists(client):
    """The standard's description-file schema (ref.gs1.org/standards/resolver/description-file-schema)
    is published only on ref.gs1.org, not in a GS1 repository we can pin, so this validates against the
    schema GS1 published with its Resolver Community Edition (see its .SOURCE.md) and checks the fields
    standard 1.2 lists: resolverRoot and supportedPrimaryKeys required, the rest typed as it says."""
    from urllib.parse import urlsplit

    from jsonschema import Draft7Validator

    response = client.get("/.well-known/gs1resolver")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    schema = json.loads(DESCRIPTION_SCHEMA.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    assert [e.message for e in Draft7Validator(schema).iter_errors(document)] == []
    assert {"resolverRoot", "supportedPrimaryKeys"} <= set(document)
    assert urlsplit(document["resolverRoot"]).scheme in ("http", "https") and document["resolverRoot"] == BASE
    assert document["supportedPrimaryKeys"] == ["01"]
    assert isinstance(document["name"], str) and isinstance(document["linkTypeDefaultCanBeLinkset"], bool)
    for link_type in document["supportedLinkType"]:
        assert set(link_type) == {"namespace", "prefix"}
        assert urlsplit(link_type["namespace"]).scheme == "https" and link_type["prefix"].endswith(":")
    assert urlsplit(document["jsonLdContextLocation"]).scheme == "https"
    known = {"name", "resolverRoot", "supportedPrimaryKeys", "supportedLinkType", "linkTypeDefaultCanBeLinkset",
             "supportedContextValuesEnumerated", "supportedContextValuesExternal", "contact", "extensionProfile",
             "jsonLdContextLocation", "termsOfUse", "dataDump"}
    assert set(document) <= known


def test_every_link_of_every_demo_linkset_ends_in_a_page(demo):
    """What a client that reads the linkset does next: each target, and the linkset link of each
    redirect, answers 2xx (a lot's page, its JSON record, its brand, the GTIN's page)."""
    client = demo.test_client()
    with demo.app_context():
        lots = db.session().execute(select(Batch.gtin, Batch.lot).where(Batch.gtin.is_not(None),
                                                                        Batch.lot.is_not(None))).all()
    followed = set()
    for gtin, lot in lots:
        uri = f"/01/{gtin}/10/{quote(lot, safe='')}"
        redirect = client.get(uri, headers=BROWSER)
        if redirect.status_code == 410:
            continue
        assert redirect.status_code == 307, uri
        linkset_url = redirect.headers["Link"].split(">", 1)[0].lstrip("<")
        for url in (linkset_url, f"{BASE}/01/{gtin}?linkType=linkset"):
            [item] = json.loads(client.get(url).data)["linkset"]
            for relation, targets in item.items():
                if relation in ("anchor", "itemDescription"):
                    continue
                for target in targets:
                    href = target["href"].partition("#")[0]
                    assert href.startswith(BASE), (uri, relation)
                    answer = client.get(href, headers={"Accept": target.get("type", "text/html")})
                    assert 200 <= answer.status_code < 300, (uri, relation, href, answer.status_code)
                    if "type" in target:
                        assert answer.mimetype == target["type"], (uri, relation, href)
                    followed.add(relation)
    assert {f"https://gs1.org/voc/{name}" for name in ("defaultLink", "pip", "traceability", "homepage",
                                                       "certificationInfo")} <= followed

"""Every staff form submitted with bad input answers 4xx with each message beside its field (the field's
error element ``e-<name>``), in the page's language, naming fields by their labels and codes by their
names, and writes nothing. Through the Flask test client with CSRF on; SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from traceapp import db
from traceapp.auth.models import ROLES
from traceapp.auth.services import issue_token
from traceapp.brands.models import Brand, License
from traceapp.field_labels import LABELS
from traceapp.ledger.store import LedgerEntry
from traceapp.records import labels as record_labels
from traceapp.records.models import (
    Batch,
    Certification,
    ComplianceCertificate,
    Inspection,
    Organization,
)

PASSWORD = "traceapp-demo"
LANGUAGES = ("zh", "en")
MODELS = (LedgerEntry, Batch, Inspection, Certification, ComplianceCertificate, Organization, Brand, License)

# What no message may show: a token with an underscore (harvest_date, over_cap, pollution_free), a path
# into a JSON body (items[1].method), or, in Chinese sentences, any code or field key in ASCII.
UNDERSCORE_TOKEN = re.compile(r"[A-Za-z0-9]*_[A-Za-z0-9_]*")
PATH = re.compile(r"[a-z]+\[[0-9]+\]")
CODES = {code for table in record_labels.all_labels().values() for code in table} | set(LABELS) | set(ROLES) | {
    "over_cap", "pass", "fail", "fields", "batch", "downstream", "active", "frozen", "void", "to", "org",
    "from", "recall", "producer", "issuer_org", "format"}


def leaks(message: str, language: str) -> list[str]:
    """Return the internal identifiers ``message`` shows."""
    found = UNDERSCORE_TOKEN.findall(message) + PATH.findall(message)
    if language == "zh":
        found += [word for word in re.findall(r"[A-Za-z][A-Za-z_-]*", message) if word in CODES]
    else:  # English labels are words that may equal a code ("a producer"); but a key opens no sentence
        first = re.match(r"[a-z_]+", message)  # and a list of choices lists labels ("Pass, Fail")
        if first and first.group() in CODES:
            found.append(first.group())
        choices = re.search(r"one of:? (.*)", message)
        if choices:
            found += [item for item in re.split(r"[,.]\s*", choices.group(1)) if item.strip() in CODES]
    return found


def counts(app) -> tuple[int, ...]:
    with app.app_context(), db.database().sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(model)) for model in MODELS)


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)


def log_in(client, username: str) -> None:
    page = client.get("/login").text
    response = client.post("/login", data={"csrf_token": csrf_token(page), "username": username,
                                           "password": PASSWORD})
    assert response.status_code == 302, response.text


def field_errors(page: str) -> dict[str, str]:
    """Return the text of each field's error element, by field name."""
    return {name: html.unescape(re.sub(r"<[^>]+>", "", text)).strip() for name, text in
            re.findall(r'<p class="field-error" id="e-([^"]+)"[^>]*>(.*?)</p>', page, re.S)}


def all_messages(page: str) -> list[str]:
    """Return every error text on the page: banners, field errors, loose error paragraphs."""
    main = page.split("<main", 1)[-1]
    return [html.unescape(re.sub(r"<[^>]+>", "", text)).strip() for text in
            re.findall(r'<(?:p|li)[^>]*class="[^"]*(?:error|field-error)[^"]*"[^>]*>(.*?)</(?:p|li)>', main, re.S)]


def demo_codes(app) -> dict[str, str]:
    """Return the code of 鹿原's demo batch of 1,200 kg harvested on 2026-07-28 (inspected, not recalled)."""
    with app.app_context(), db.database().sessions() as s:
        return {"plain": s.scalar(select(Batch.code).where(Batch.quantity == 1200,
                                                           Batch.harvest_date == date(2026, 7, 28)))}


# (form, user, page to open, where to post (None: the page), bad values, fields that must carry a message)
FORMS = [
    ("batch", "luyuan", "/batches/new", None,
     {"product": "", "category": "fruit", "quantity": "许多", "unit": "kg", "harvest_date": "2999-01-01",
      "origin_region": "12", "base": "鹿原镇九龙村基地", "inputs-0-code": "ZZZZZZZZZZZZZ",
      "inputs-0-quantity": "5"},
     ("product", "quantity", "harvest_date", "origin_region", "inputs-0-code")),
    ("batch input quantity", "luyuan", "/batches/new", None,
     {"product": "黄桃", "category": "fruit", "quantity": "10", "unit": "kg", "harvest_date": "2026-08-01",
      "origin_region": "430225", "base": "鹿原镇九龙村基地", "inputs-1-code": "{plain}",
      "inputs-1-quantity": "许多"},
     ("inputs-1-quantity",)),
    ("batch over its licence", "luyuan", "/batches/new", None,
     {"product": "黄桃", "category": "fruit", "quantity": "9999999", "unit": "kg", "harvest_date": "2026-08-01",
      "origin_region": "430225", "base": "鹿原镇九龙村基地", "brand": "yanling-huangtao"},
     ("quantity",)),
    ("batch with a bad choice", "luyuan", "/batches/new", None,
     {"product": "黄桃", "category": "fruits", "quantity": "10", "unit": "kg", "harvest_date": "2026-08-01",
      "origin_region": "430225", "base": "鹿原镇九龙村基地"},
     ("category",)),
    ("inspection", "inspector", "/inspections/new", None,
     {"batch": "{plain}", "inspected_on": "2026-08-10", "report_no": "", "verdict": "maybe",
      "items-0-name": "毒死蜱", "items-0-method": "", "items-0-value": "0.01", "items-0-verdict": "pass",
      "items-2-name": "克百威", "items-2-method": "速测", "items-2-value": "阴性", "items-2-verdict": "good"},
     ("report_no", "verdict", "items-0-method", "items-2-verdict")),
    ("inspection verdict", "inspector", "/inspections/new", None,
     {"batch": "{plain}", "inspected_on": "2026-08-10", "report_no": "ZZJC-T-9", "verdict": "pass",
      "items-0-name": "毒死蜱", "items-0-method": "GB 23200.113", "items-0-value": "0.5",
      "items-0-verdict": "fail"},
     ("verdict",)),
    ("certificate", "certifier", "/certifications/new", None,
     {"kind": "", "number": "", "holder": "", "products": "", "valid_from": "2026-13-01", "valid_to": ""},
     ("kind", "number", "holder", "products", "valid_from", "valid_to")),
    ("compliance certificate", "luyuan", "/batches/{plain}/compliance-certificates/new", None,
     {"basis": "self_test", "quantity": "许多", "issued_on": "2026-08-10", "promiser": "someone",
      "contact": ""},
     ("inspection", "quantity", "promiser", "contact")),
    ("correction", "luyuan", "/batches/{plain}/correct", None,
     {"quantity": "许多", "harvest_date": "2999-01-01", "reason": ""},
     ("quantity", "harvest_date", "reason")),
    ("recall", "regulator", "/batches/{plain}/recall", None, {"reason": "", "scope": "everything"},
     ("reason", "scope")),
    ("transfer", "luyuan", "/batches/{plain}/transfer", None, {"to": "", "quantity": "许多"},
     ("to", "quantity")),
    ("code freeze", "luyuan", "/batches/{plain}/code-state/freeze", None, {"reason": ""}, ("reason",)),
    ("code void", "luyuan", "/batches/{plain}/code-state/void", None, {"reason": ""}, ("reason",)),
    ("label print", "luyuan", "/batches/{plain}/labels", None, {"n": "0", "package": "许多", "layout": "a4-24"},
     ("n", "package")),
    ("organization", "admin", "/organizations/new", None,
     {"name": "", "kind": "cooperative", "uscc": "", "region": "12"},
     ("name", "uscc", "region")),
    ("password", "luyuan", "/account/password", None, {"current": "", "new": "abc", "repeat": ""},
     ("current", "repeat")),
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("form", FORMS, ids=[form[0] for form in FORMS])
def test_bad_input_is_named_beside_its_fields_in_the_pages_language_and_writes_nothing(demo, form, language):
    name, user, page, target, values, expected = form
    codes = demo_codes(demo)
    page, target = page.format(**codes), (target or page).format(**codes)
    values = {key: value.format(**codes) for key, value in values.items()}
    client = demo.test_client()
    log_in(client, user)
    token = csrf_token(client.get(page).text)
    before = counts(demo)
    response = client.post(f"{target}?lang={language}", data={"csrf_token": token, **values})
    assert 400 <= response.status_code < 500, (response.status_code, response.location)
    errors = field_errors(response.text)
    assert set(expected) <= set(errors), (name, errors)
    for message in [*errors.values(), *all_messages(response.text)]:
        assert message, name
        assert not leaks(message, language), (name, message)
        if language == "zh":
            assert re.search(r"[\u4e00-\u9fff]", message), message
        else:
            assert not re.search(r"[\u4e00-\u9fff]", message.replace("许多", "")), message
    assert counts(demo) == before


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_bad_login_is_named_beside_its_field(demo, language):
    client = demo.test_client()
    token = csrf_token(client.get("/login").text)
    response = client.post(f"/login?lang={language}", data={"csrf_token": token, "username": "", "password": ""})
    assert response.status_code == 400
    errors = field_errors(response.text)
    assert set(errors) == {"username", "password"}
    for message in errors.values():
        assert not leaks(message, language)
        assert bool(re.search(r"[\u4e00-\u9fff]", message)) == (language == "zh"), message


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_bad_export_filter_is_named_by_its_label_beside_its_field(demo, language):
    client = demo.test_client()
    log_in(client, "regulator")
    labels = {"zh": ("品牌", "生产主体", "行政区划代码", "开始日期", "召回批次码"),
              "en": ("Brand", "Producer", "Administrative division code", "From", "Recalled batch code")}[language]
    for args, field in (({"brand": "Yanling Huangtao"}, "brand"), ({"brand": "no-such-brand"}, "brand"),
                        ({"producer": "abc"}, "producer"), ({"region": "12"}, "region"),
                        ({"from": "2026-09-01", "to": "2026-08-01"}, "from"), ({"from": "yesterday"}, "from"),
                        ({"recall": "ABC"}, "recall")):
        before = counts(demo)
        response = client.get("/audit/export", query_string={**args, "format": "csv", "lang": language})
        assert response.status_code == 400, args
        errors = field_errors(response.text)
        assert field in errors, (args, errors)
        message = errors[field]
        assert not leaks(message, language) and "参数" not in message and "parameter" not in message, message
        if language == "zh":  # English words may coincide with keys ("the brand's identifier"); Chinese never
            assert not re.search(rf"(?<![A-Za-z-]){field}(?![A-Za-z-])", message), message
        assert any(message.startswith(label) for label in labels), message
        assert counts(demo) == before


def api_refusal(client, token: str, method: str, path: str, body, language: str) -> dict:
    response = client.open(path, method=method, json=body, headers={
        "Authorization": f"Bearer {token}", "Accept-Language": language})
    assert 400 <= response.status_code < 500, response.get_json()
    return response.get_json()["error"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_api_errors_keep_their_keys_and_speak_the_requests_language(demo, language):
    with demo.app_context(), db.write_session() as s:
        tokens = {name: issue_token(s, name) for name in ("luyuan", "brand", "inspector", "admin")}
    client = demo.test_client()
    cases = [
        ("luyuan", "POST", "/api/v1/batches", {"product": "", "category": "fruit", "quantity": "9999999",
                                               "unit": "kg", "harvest_date": "2026-08-01",
                                               "origin_region": "430225", "base": "基地",
                                               "brand": "yanling-huangtao"}, "product"),
        ("luyuan", "POST", "/api/v1/batches", {"product": "黄桃", "category": "fruit", "quantity": "9999999",
                                               "unit": "kg", "harvest_date": "2026-08-01",
                                               "origin_region": "430225", "base": "基地",
                                               "brand": "yanling-huangtao"}, "quantity"),
        ("inspector", "POST", "/api/v1/inspections", {"batch": "ZZZZZZZZZZZZZ", "inspected_on": "2026-08-10",
                                                      "report_no": "R-1", "verdict": "maybe",
                                                      "items": [{"name": "x", "value": "1",
                                                                 "verdict": "pass"}]}, "items[0].method"),
        ("brand", "POST", "/api/v1/brands/yanling-huangtao/licenses",
         {"licensee": None, "products": [], "valid_from": "2026-01-01", "valid_to": "2025-01-01"}, "licensee"),
        ("admin", "POST", "/api/v1/brands", {"name": "", "slug": "Bad Slug", "level": "planet"}, "slug"),
        ("admin", "POST", "/api/v1/organizations", {"name": "合作社", "kind": "cooperative", "uscc": "",
                                                    "region": "430225"}, "uscc"),
    ]
    for user, method, path, body, field in cases:
        before = counts(demo)
        error = api_refusal(client, tokens[user], method, path, body, language)
        assert field in error["fields"], (path, error)
        assert all(re.fullmatch(r"[a-z_]+(\[[0-9]+\](\.[a-z_]+)?)?", key) for key in error["fields"]), error
        assert not leaks(error["message"], language), (path, error["message"])
        if language == "zh":
            assert re.search(r"[\u4e00-\u9fff]", error["message"]), error["message"]
        else:
            assert not re.search(r"[\u4e00-\u9fff]", error["message"]), error["message"]
        assert counts(demo) == before


BOGUS = {"kind": "bogus", "verdict": "bogus", "level": "bogus", "scope": "bogus", "basis": "bogus", "promiser": "bogus",
         "role": "bogus", "unit": "bogus", "category": "bogus", "layout": "bogus"}


def test_no_api_write_answers_a_bad_body_with_an_internal_name(demo):
    """Every write the OpenAPI document lists, sent an empty body, an unknown field and unknown choices by each
    role, in both languages: no sentence shows a key, a code or a path (``fields`` keeps them as keys)."""
    client = demo.test_client()
    with demo.app_context(), db.write_session() as s:
        tokens = [issue_token(s, name) for name in ("admin", "luyuan", "inspector", "certifier", "brand", "regulator")]
    code = demo_codes(demo)["plain"]
    found = []
    for path, operations in client.get("/api/v1/openapi.json").get_json()["paths"].items():
        url = re.sub(r"\{[a-z_]+\}", "1", path.replace("{code}", code).replace("{slug}", "yanling-huangtao"))
        for method in set(operations) & {"post", "patch", "put"}:
            for body in ({}, {"unknown": 1}, BOGUS):
                for token in tokens:
                    for language in LANGUAGES:
                        response = client.open("/api/v1" + url, method=method.upper(), json=body, headers={
                            "Authorization": f"Bearer {token}", "Accept-Language": language})
                        if response.status_code < 400 or not response.is_json:
                            continue
                        error = response.get_json()["error"]
                        sentences = [error["message"], *(text for text in error["fields"].values()
                                                          if not re.fullmatch(r"[a-z_]+", text))]
                        found += [(method, url, language, text) for text in sentences if leaks(text, language)]
    assert sorted(set(found)) == []

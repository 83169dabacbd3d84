"""Every page a role can reach, in Chinese and in English, on the demo data: from the role's home
page the crawler (tests/e2e/crawl.py) follows every same-origin link and opens every GET form, one
page per URL pattern, and no page may answer 5xx, log a console error, be wider than its screen
(360 px for public pages, 768 and 1366 px for every page), have a form control without a label or
an <html lang> other than its language's, or, in Chinese, show an internal
identifier: a key with an underscore, a JSON field name, a stored code such as over_cap or pass."""

from __future__ import annotations

import importlib
import re

import pytest

from tests.e2e.crawl import LAPTOP, PHONE, ROLES, TABLET, crawl, is_public, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# The modules whose constants list the codes stored in records and shown through a label table:
# every lower-case code in their tuples and in their dicts' keys counts as an internal identifier.
CODE_MODULES = ("traceapp.records.models", "traceapp.records.labels", "traceapp.records.recalls",
                "traceapp.records.lineage", "traceapp.records.regions", "traceapp.auth.models",
                "traceapp.audit.models", "traceapp.audit.risk", "traceapp.audit.risk.rules",
                "traceapp.audit.export_filters", "traceapp.audit.exports")
# Codes written as literals where they are stored: how an export was made (audit/export_views.py)
# and an exported certificate row's status (audit/exports.py).
LITERAL_CODES = {"session", "token", "issued"}
CODE = re.compile(r"[a-z][a-z_]+")
# A key with an underscore, or a path into a JSON body (items[1].method), standing as a word of its own.
KEYISH = re.compile(r"(?<![A-Za-z0-9_.-])(?:[a-z]+_[a-z_]+|[a-z_]+\[[0-9]+\]\.[a-z_]+)(?![A-Za-z0-9_-])")
# A word of its own; one inside an address (a path, a query's name: /ledger/entries?start=N&limit=K
# on the /ledger/ page, for auditors to type) is part of that address, not of the sentence.
WORD = re.compile(r"(?<![A-Za-z0-9_./:@?&=-])[a-z][a-z_]+(?![A-Za-z0-9_/@=-])")


def _codes() -> set[str]:
    from traceapp.records.models import UNITS

    codes = set(LITERAL_CODES)
    for module_name in CODE_MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if name.startswith("__"):
                continue
            items = value.keys() if isinstance(value, dict) else value
            if isinstance(value, (tuple, list, frozenset, set, dict)):
                codes |= {item for item in items if isinstance(item, str) and CODE.fullmatch(item)}
        for rule in getattr(module, "RULES", ()):
            codes.add(rule.name)
    return codes - set(UNITS)  # kg, g, t … are the units a quantity is shown in


def _json_names(spec) -> set[str]:
    names: set[str] = set()
    if isinstance(spec, dict):
        properties = spec.get("properties")
        if isinstance(properties, dict):
            names |= {k for k in properties if CODE.fullmatch(k)}
        for value in spec.values():
            names |= _json_names(value)
    elif isinstance(spec, list):
        for value in spec:
            names |= _json_names(value)
    return names


@pytest.fixture
def identifiers(app):
    from traceapp.api import openapi

    words = _codes() | _json_names(openapi.build(app))
    assert {"cooperative", "pass", "pollution_free", "complete", "harvest_date"} <= words  # found where they live
    assert KEYISH.search("数量: over_cap") and KEYISH.search("items[1].method 是必填项")

    def find(text: str) -> list[str]:
        return KEYISH.findall(text) + [w for w in WORD.findall(text) if w in words]

    return find


def viewports_for(path: str) -> tuple[int, ...]:
    return (PHONE, TABLET, LAPTOP) if is_public(path) else (TABLET, LAPTOP)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the pages, not the database, are under test
@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_a_role_reaches_works_and_fits(role, language, demo, live_server, browser, identifiers):
    context = browser.new_context(viewport={"width": LAPTOP, "height": 900})
    context.add_cookies([{"name": "lang", "value": language, "url": live_server}])
    page = context.new_page()
    try:
        user = ROLES[role]
        if user:
            log_in(page, live_server, user)
        result = crawl(page, live_server, "/home" if user else "/", viewports_for=viewports_for,
                       find_identifiers=identifiers if language == "zh" else None)
    finally:
        context.close()
    assert len(result.pages) >= (4 if user is None else 6), [p.url for p in result.pages]
    problems = result.problems(language)
    failures = [f"{kind}: {line}" for kind, lines in problems.items() for line in lines]
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)

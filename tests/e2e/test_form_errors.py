"""A bad batch form in the browser, in Chinese and in English: each message stands right under the input it
is about (inside that field's box, input row included), names the field by its label in the page's
language, shows no key, code or path, and nothing is written."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from traceapp import db
from traceapp.ledger.store import LedgerEntry

pytestmark = pytest.mark.e2e

EXPECTED = {  # field -> how its message starts, per language
    "zh": {"quantity": "许可允许", "harvest_date": "采收日期", "origin_region": "产地（行政区划代码）",
           "inputs-1-quantity": "第 1 个原料批次的数量"},
    "en": {"quantity": "The licence allows", "harvest_date": "Harvest date", "origin_region": "Place of origin",
           "inputs-1-quantity": "Quantity of input batch 1"},
}


def ledger_size(app) -> int:
    with app.app_context(), db.database().sessions() as s:
        return s.scalar(select(func.count()).select_from(LedgerEntry))


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_bad_batch_form_shows_each_message_beside_its_field(demo, live_server, browser, language):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(live_server + "/login")
    page.fill("#username", "luyuan")
    page.fill("#password", "traceapp-demo")
    page.click("main form button[type=submit]")
    page.wait_for_url(live_server + "/home")
    with demo.app_context(), db.database().sessions() as s:
        from traceapp.records.models import Batch

        source = s.scalar(select(Batch.code).where(Batch.quantity == 1200))
    before = ledger_size(demo)

    page.goto(f"{live_server}/batches/new?lang={language}")
    page.fill("#f-product", "黄桃")
    page.select_option("#f-category", "fruit")
    page.fill("#f-quantity", "9999999")  # over the brand licence's yearly cap: a Rejected with a code
    page.fill("#f-brand", "yanling-huangtao")
    page.fill("#f-harvest_date", "2999-01-01")
    page.fill("#f-origin_region", "43")
    page.fill("#f-base", "鹿原镇九龙村基地")
    page.fill("#f-inputs-1-code", source)  # the second row: the first stays empty
    page.fill("#f-inputs-1-quantity", "许多")
    _submit(page)

    assert page.locator("html").get_attribute("lang").startswith(language)
    for field, start in EXPECTED[language].items():
        if field == "quantity":
            continue  # refused only once the other fields are right (below)
        _assert_beside(page, field, start, language)

    page.fill("#f-harvest_date", "2026-08-01")
    page.fill("#f-origin_region", "430225")
    page.fill("#f-inputs-1-code", "")
    page.fill("#f-inputs-1-quantity", "")
    _submit(page)
    _assert_beside(page, "quantity", EXPECTED[language]["quantity"], language)
    assert ledger_size(demo) == before
    context.close()


def _submit(page) -> None:
    # Wait for the answer's load event, not only for its message to be in the DOM: until its stylesheet
    # applies, the page is laid out unstyled and a message spans the whole width.
    with page.expect_navigation(wait_until="load"):
        page.click("main form button[type=submit]")


def _assert_beside(page, field: str, start: str, language: str) -> None:
    error = page.locator(f"#e-{field}")
    text = error.inner_text().strip()
    assert text.startswith(start), (field, text)
    assert not re.search(r"[A-Za-z0-9]*_[A-Za-z0-9_]*|[a-z]+\[[0-9]+\]|\bover_cap\b", text), (field, text)
    assert bool(re.search(r"[\u4e00-\u9fff]", text.replace("许多", ""))) == (language == "zh"), (field, text)
    # Beside: in the same field box as its input (a picker's hint may stand between), under it and aligned
    # with it, and announced with it.
    same_box = page.evaluate(
        "([f, e]) => document.getElementById(f).closest('.field') === document.getElementById(e).closest('.field')",
        [f"f-{field}", f"e-{field}"])
    assert same_box, field
    box, under = page.locator(f"#f-{field}").bounding_box(), error.bounding_box()
    assert under["y"] >= box["y"] + box["height"] and abs(under["x"] - box["x"]) < 40, (field, box, under)
    assert f"e-{field}" in page.locator(f"#f-{field}").get_attribute("aria-describedby").split()

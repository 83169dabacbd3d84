"""The pickers in Debian's chromium on a tablet (768×1024): a cooperative registers a branded batch by
typing 炎陵 and the brand's name, with the keyboard only; the 省 → 市 → 县 selects follow a typed county;
a regulator filters the risk signals by a producer found by part of its name."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from traceapp import db
from traceapp.records.models import Batch

pytestmark = pytest.mark.e2e


@pytest.fixture
def tablet(browser):
    context = browser.new_context(viewport={"width": 768, "height": 1024}, locale="zh-CN", has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.console_errors = errors
    yield page
    context.close()


def asking(text: str):
    """Match the type-ahead request for exactly ``text``."""
    return lambda response: "/pickers/" in response.url and parse_qs(urlsplit(response.url).query).get("q") == [text]


def _log_in(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", "traceapp-demo")
    page.click("main form button[type=submit]")
    page.wait_for_url(base + "/home")


def test_a_cooperative_picks_the_origin_and_the_brand_by_typing_names(live_server, tablet, demo):
    _log_in(tablet, live_server, "luyuan")
    tablet.goto(live_server + "/batches/new")
    tablet.fill("#f-product", "黄桃")
    tablet.select_option("#f-category", "fruit")
    tablet.fill("#f-quantity", "12.5")
    tablet.fill("#f-base", "鹿原镇九龙村基地")

    origin = tablet.locator("#f-origin_region")
    origin.click()
    with tablet.expect_response(asking("yanling")):  # the answer to the whole word, not to a prefix
        origin.press_sequentially("yanling")
    options = tablet.locator("#l-origin_region [role=option]")
    expect(tablet.locator("#l-origin_region")).to_contain_text("湖南省株洲市炎陵县")
    assert origin.get_attribute("aria-expanded") == "true"
    # 鄢陵县 and 炎陵县 are both "yan ling": move to 炎陵县 with the arrow keys and choose it with Enter
    labels = options.all_inner_texts()
    target = next(i for i, text in enumerate(labels) if "湖南省株洲市炎陵县" in text)
    for _ in range(target + 1):
        origin.press("ArrowDown")
    assert origin.get_attribute("aria-activedescendant") == f"l-origin_region-{target}"
    origin.press("Enter")
    assert origin.input_value() == "湖南省株洲市炎陵县"
    assert tablet.locator("input[type=hidden][name=origin_region]").input_value() == "430225"
    # the cascade follows: 湖南省 → 株洲市 → 炎陵县
    expect(tablet.locator('select[data-level=county]')).to_have_value('430225')
    assert tablet.locator("select[data-level=province]").input_value() == "430000"
    assert tablet.locator("select[data-level=city]").input_value() == "430200"

    brand = tablet.locator("#f-brand")
    brand.click()  # the producer's licensed brands, each with what is left of this year's cap
    tablet.locator("#l-brand [role=option]").first.wait_for()
    assert re.search(r"炎陵黄桃.*剩余", tablet.locator("#l-brand").inner_text(), re.S)
    brand.press_sequentially("炎陵")
    expect(tablet.locator("#l-brand [role=option]")).to_have_count(1)
    brand.press("ArrowDown")
    brand.press("Enter")
    assert brand.input_value() == "炎陵黄桃"
    assert tablet.locator("input[type=hidden][name=brand]").input_value() == "yanling-huangtao"

    assert tablet.evaluate("document.documentElement.scrollWidth") <= 768
    tablet.click("main form button[type=submit]")
    tablet.wait_for_url(re.compile(r".*/batches/[0-9A-Z]{13}$"))
    code = tablet.url.rsplit("/", 1)[1]
    with demo.app_context():
        batch = db.session().scalar(select(Batch).where(Batch.code == code))
        assert (batch.origin_region, batch.brand) == ("430225", "yanling-huangtao")
    assert tablet.console_errors == []


def test_the_cascade_sets_the_region_step_by_step(live_server, tablet):
    _log_in(tablet, live_server, "admin")
    tablet.goto(live_server + "/organizations/new")
    tablet.locator("select[data-level=province] option[value='430000']").wait_for(state="attached")
    tablet.select_option("select[data-level=province]", "430000")
    tablet.locator("select[data-level=city] option[value='430200']").wait_for(state="attached")
    tablet.select_option("select[data-level=city]", "430200")
    tablet.locator("select[data-level=county] option[value='430225']").wait_for(state="attached")
    tablet.select_option("select[data-level=county]", "430225")
    assert tablet.locator("input[type=hidden][name=region]").input_value() == "430225"
    assert tablet.locator("#f-region").input_value() == "湖南省株洲市炎陵县"
    # a municipality's districts come straight after it
    tablet.select_option("select[data-level=province]", "110000")
    tablet.locator("select[data-level=county] option[value='110105']").wait_for(state="attached")
    assert tablet.locator("select[data-level=city]").is_hidden()
    assert tablet.evaluate("document.documentElement.scrollWidth") <= 768
    assert tablet.console_errors == []


def test_a_regulator_filters_risks_by_a_producer_found_by_part_of_its_name(live_server, tablet, demo):
    _log_in(tablet, live_server, "regulator")
    tablet.goto(live_server + "/audit/risks/")
    producer = tablet.locator("#f-producer")
    producer.click()
    with tablet.expect_response(asking("鹿原")):
        producer.press_sequentially("鹿原")
    expect(tablet.locator("#l-producer")).to_contain_text("鹿原")
    tablet.locator("#l-producer [role=option]").first.click()
    picked = tablet.locator("input[type=hidden][name=producer]").input_value()
    assert re.fullmatch(r"[1-9][0-9]*", picked)
    tablet.click("#risk-filters button[type=submit]")
    tablet.wait_for_url(re.compile(rf".*producer={picked}.*"))
    assert "鹿原" in tablet.locator("#f-producer").input_value()  # shown by name, posted by id
    assert tablet.console_errors == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the pages, not the database, are under test
@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_pickers_have_no_serious_accessibility_violation_with_their_lists_open(language, live_server, browser):
    from tests.e2e.test_accessibility import AXE, _violations

    if not AXE.exists():
        pytest.skip(f"{AXE} is missing: `make test` installs axe-core")
    script = AXE.read_text()
    failures = []
    for user, path, box, text in (("luyuan", "/batches/new", "#f-origin_region", "yanling"),
                                  ("luyuan", "/batches/new", "#f-brand", "炎陵"),
                                  ("regulator", "/audit/risks/", "#f-producer", "炎陵")):
        context = browser.new_context(viewport={"width": 768, "height": 1024}, bypass_csp=True)
        context.add_cookies([{"name": "lang", "value": language, "url": live_server}])
        page = context.new_page()
        _log_in(page, live_server, user)
        page.goto(live_server + path)
        if box == "#f-brand":  # the licensed brands come with the page
            page.locator(box).press_sequentially(text)
        else:
            with page.expect_response(asking(text)):
                page.locator(box).press_sequentially(text)
        expect(page.locator(f"{box} ~ [role=listbox]")).to_contain_text(text if box != "#f-origin_region" else "炎陵")
        page.locator(box).press("ArrowDown")
        failures += [f"{path} {box}: {v}" for v in _violations(page, script)]
        context.close()
    assert failures == []

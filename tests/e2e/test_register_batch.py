"""A cooperative on a tablet: log in, register a batch on one screen, see its QR code; a
mistake is shown beside its field and saves nothing. Also the form on a phone."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture
def tablet(browser):
    context = browser.new_context(viewport={"width": 768, "height": 1024}, locale="zh-CN", has_touch=True)
    page = context.new_page()
    yield page
    context.close()


def _log_in(page, base: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", "luyuan")
    page.fill("#password", "traceapp-demo")
    page.click("main form button[type=submit]")
    page.wait_for_url(base + "/home")


def test_a_cooperative_registers_a_batch_on_a_tablet_and_sees_its_qr_code(live_server, tablet):
    _log_in(tablet, live_server)
    tablet.get_by_role("link", name="登记新批次").click()
    tablet.wait_for_url("**/batches/new")
    # One screen: the whole form, save button included, fits a portrait tablet without scrolling sideways.
    assert tablet.evaluate("document.documentElement.scrollWidth") <= 768
    tablet.fill("#f-product", "黄桃")
    tablet.select_option("#f-category", "fruit")
    tablet.fill("#f-quantity", "abc")
    tablet.fill("#f-harvest_date", "2026-08-01")
    tablet.fill("#f-origin_region", "430225")
    tablet.fill("#f-base", "鹿原镇九龙村基地")
    tablet.click("main form button[type=submit]")
    error = tablet.locator("#e-quantity")
    assert error.inner_text().startswith("数量") and "十进制" in error.inner_text()  # the label, not the key
    assert tablet.locator("#f-product").input_value() == "黄桃"  # what was typed is kept
    tablet.fill("#f-quantity", "1250.5")
    tablet.click("main form button[type=submit]")
    tablet.wait_for_url(re.compile(r".*/batches/[0-9A-Z]{13}$"))
    assert "批次已保存" in tablet.locator(".notice").inner_text()
    qr = tablet.locator("#batch-qr")
    assert qr.is_visible()
    loaded = tablet.evaluate("() => { const i = document.getElementById('batch-qr'); "
                             "return i.complete && i.naturalWidth }")
    assert loaded > 0
    code = tablet.url.split("/batches/")[1]
    assert len(code) == 13
    response = tablet.request.get(f"{live_server}/qr/{code}.svg")
    assert response.ok and b"<svg" in response.body()
    tablet.goto(live_server + "/home")
    assert code in tablet.locator("#todo-certificate .list").inner_text()  # the home asks for its 合格证


def test_the_batch_form_works_on_a_phone(live_server, phone):
    _log_in(phone, live_server)
    phone.goto(live_server + "/batches/new")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    box = phone.locator("main form button[type=submit]").bounding_box()
    assert box["height"] >= 44 and box["width"] >= 100


def test_voiding_a_code_asks_first_then_says_it_is_done(live_server, tablet):
    """The confirmation is a page of its own (no script): the first click writes nothing."""
    _log_in(tablet, live_server)
    tablet.get_by_role("link", name="登记新批次").click()
    tablet.fill("#f-product", "黄桃")
    tablet.select_option("#f-category", "fruit")
    tablet.fill("#f-quantity", "10")
    tablet.fill("#f-harvest_date", "2026-08-01")
    tablet.fill("#f-origin_region", "430225")
    tablet.fill("#f-base", "鹿原镇九龙村基地")
    tablet.click("main form button[type=submit]")
    tablet.wait_for_url(re.compile(r".*/batches/[0-9A-Z]{13}$"))
    batch_url = tablet.url
    tablet.fill("#code-void-reason", "标签印错")
    tablet.get_by_role("button", name="作废追溯码").click()
    assert "此操作不可撤销" in tablet.locator("#confirm-form").inner_text()
    tablet.get_by_role("link", name="取消").click()
    assert "正常" in tablet.locator("#code-state").inner_text()  # cancelled: nothing was written
    tablet.fill("#code-void-reason", "标签印错")
    tablet.get_by_role("button", name="作废追溯码").click()
    tablet.get_by_role("button", name="确认作废追溯码").click()
    tablet.wait_for_url(batch_url + "#code-state")
    assert "已作废" in tablet.locator(".notice").inner_text()
    assert "已作废" in tablet.locator("#code-state").inner_text()

"""The home page on a phone-sized screen: Chinese first, English one tap away, the ledger
figures shown, and nothing wider than the screen."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_home_page_on_a_phone_switches_from_chinese_to_english(live_server, phone):
    phone.goto(live_server + "/")
    assert phone.locator("h1").inner_text() == "农产品追溯与区域品牌登记"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    size = phone.locator("dd").nth(1).inner_text()
    assert int(size) >= 24
    phone.get_by_role("link", name="English").click()
    phone.wait_for_load_state()
    assert phone.locator("h1").inner_text() == "Agricultural traceability and regional brand registry"
    phone.goto(live_server + "/")  # the choice is remembered
    assert phone.locator("h1").inner_text().startswith("Agricultural")

"""A consumer finds a brand in the directory by pinyin, opens its page and follows a batch
to its consumer page, on a phone."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_search_yanling_open_the_brand_and_follow_a_batch(live_server, phone):
    phone.goto(live_server + "/brands/")
    phone.fill("#q", "yanling")
    phone.click("form.search button[type=submit]")
    phone.wait_for_url("**/brands/?q=yanling*")
    results = phone.locator("ul.brands li a")
    assert results.count() >= 1 and "炎陵黄桃" in results.first.inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    results.first.click()
    phone.wait_for_url("**/brands/yanling-huangtao")
    assert phone.locator("h1").inner_text().startswith("炎陵黄桃")
    assert int(phone.locator("#batch-count").inner_text()) >= 1
    assert phone.locator("#licensees tbody tr").count() >= 2
    link = phone.locator("section.card ul.list li a").first
    code = link.locator("code").inner_text()
    link.click()
    phone.wait_for_url(f"**/t/{code}")
    assert "黄桃" in phone.locator("h1").inner_text()

"""Lists and search in the browser on a tablet, through the UI only: a producer finds a batch by
product name and harvest dates; a regulator finds every batch of a brand in a county."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from traceapp import db
from traceapp.records.models import Batch, Organization

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
    assert errors == []
    context.close()


def _log_in(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", "traceapp-demo")
    page.click("main form button[type=submit]")
    page.wait_for_url(base + "/home")


def _shown_codes(page) -> list[str]:
    return page.locator("#batch-results tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")


def test_a_producer_finds_a_batch_by_product_name_and_harvest_dates(demo, live_server, tablet):
    with demo.app_context():
        session = db.session()
        org = session.scalar(select(Organization.id).where(Organization.name.like("%鹿原镇%")))
        expected = [b.code for b in session.scalars(select(Batch).where(
            Batch.organization_id == org).order_by(Batch.harvest_date.desc(), Batch.id.desc()))
            if "黄桃" in b.product and "2026-07-01" <= b.harvest_date.isoformat() <= "2026-08-31"]
        others = [b.code for b in session.scalars(select(Batch).where(Batch.organization_id != org))]
    assert expected  # the demo's 2026 season
    _log_in(tablet, live_server, "luyuan")
    tablet.get_by_role("link", name="我的批次").click()
    tablet.wait_for_url("**/batches/")
    tablet.fill("#f-product", "黄桃")
    tablet.fill("#f-from", "2026-07-01")
    tablet.fill("#f-to", "2026-08-31")
    tablet.get_by_role("button", name="查询").click()
    tablet.wait_for_url("**/batches/?*")
    assert _shown_codes(tablet) == expected
    assert tablet.locator("#list-count").inner_text() == f"共 {len(expected)} 条"
    assert not set(others) & set(_shown_codes(tablet))
    assert tablet.evaluate("document.documentElement.scrollWidth") <= 768
    tablet.locator("#batch-results tbody tr").first.get_by_role("link").click()
    tablet.wait_for_url(f"**/batches/{expected[0]}")


def test_a_regulator_finds_every_batch_of_a_brand_in_a_county(demo, live_server, tablet):
    with demo.app_context():
        session = db.session()
        expected = [b.code for b in session.scalars(select(Batch).where(
            Batch.brand == "yanling-huangtao", Batch.origin_region == "430225")
            .order_by(Batch.harvest_date.desc(), Batch.id.desc()))]
    assert expected
    _log_in(tablet, live_server, "regulator")
    tablet.get_by_role("link", name="批次查询").click()
    tablet.wait_for_url("**/batches/")
    brand = tablet.locator("#f-brand")  # the brand by its name, the county through 省 → 市 → 县
    brand.click()
    brand.press_sequentially("炎陵黄桃")
    tablet.locator("#l-brand [role=option]").first.wait_for()
    brand.press("ArrowDown")
    brand.press("Enter")
    assert tablet.locator("input[type=hidden][name=brand]").input_value() == "yanling-huangtao"
    # (each level's options arrive after the one above is chosen; waiting on them needs no eval, which the CSP forbids)
    tablet.select_option("select[data-level=province]", label="湖南省")
    tablet.locator("select[data-level=city] option", has_text="株洲市").wait_for(state="attached")
    tablet.select_option("select[data-level=city]", label="株洲市")
    tablet.locator("select[data-level=county] option", has_text="炎陵县").wait_for(state="attached")
    tablet.select_option("select[data-level=county]", label="炎陵县")
    assert tablet.locator("input[type=hidden][name=region]").input_value() == "430225"
    tablet.get_by_role("button", name="查询").click()
    tablet.wait_for_url("**/batches/?*")
    assert _shown_codes(tablet) == expected
    assert tablet.locator("#list-count").inner_text() == f"共 {len(expected)} 条"
    assert tablet.evaluate("document.documentElement.scrollWidth") <= 768

"""A brand manager's whole job on a tablet (768×1024), through the UI only: edit the brand with a
reason, grant a licence to a producer found by typing part of its name, watch that licensee's use bar
move once the producer (signed in in another browser context) registers a batch under the brand
picked from the brand picker, and revoke the licence after the confirmation page. Every write is in
the ledger under the user who made it, and ``ledger verify`` passes at the end."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from traceapp import db
from traceapp.auth.models import User
from traceapp.ledger.store import LedgerEntry

pytestmark = pytest.mark.e2e
TABLET = {"width": 768, "height": 1024}


def _tablet(browser):
    context = browser.new_context(viewport=TABLET, locale="zh-CN", has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.console_errors = errors
    return context, page


def _sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", "traceapp-demo")
    page.click("main form button[type=submit]")
    page.wait_for_url(base + "/home")


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"], page.url


def _notice(page) -> str:
    return page.locator("p.notice[role=status]").inner_text()


def _use(page, licence_id: int) -> tuple[float, str]:
    block = page.locator(f"#licence-{licence_id}")
    return float(block.locator("meter").get_attribute("value")), block.locator(".batch-count").inner_text()


def test_a_brand_manager_does_the_whole_job_on_a_tablet(live_server, browser, demo):
    base = live_server
    manager_context, manager = _tablet(browser)
    producer_context, producer = _tablet(browser)
    try:
        _sign_in(manager, base, "brand")
        # the home leads to the console and lists what needs attention, not the registry's batches
        assert manager.locator("#ending-soon").is_visible() and manager.locator("#near-cap").is_visible()
        manager.get_by_role("link", name="品牌管理").first.click()
        manager.get_by_role("link", name=re.compile("炎陵黄桃")).first.click()
        manager.wait_for_url(re.compile(r".*/console/yanling-huangtao/$"))
        _fits(manager)

        # edit the brand with a reason
        manager.locator(".console-tabs").get_by_role("link", name="编辑品牌资料").click()
        manager.fill("#f-description", "罗霄山脉中段海拔 800 米以上的高山黄桃。")
        manager.fill("#f-reason", "简介补充海拔")
        _fits(manager)
        manager.click("#profile-form button[type=submit]")
        manager.wait_for_url(re.compile(r".*/console/yanling-huangtao/$"))
        assert "资料已修改" in _notice(manager)
        assert "海拔 800 米" in manager.locator("#brand-description").inner_text()

        # grant a licence to a producer found by typing part of its name
        manager.locator(".console-tabs").get_by_role("link", name="发放许可").click()
        licensee = manager.locator("#f-licensee")
        licensee.click()
        licensee.press_sequentially("李家茶园")
        manager.locator("#l-licensee [role=option]", has_text="李家茶园家庭农场").first.click()
        assert re.fullmatch(r"[1-9][0-9]*", manager.locator("input[type=hidden][name=licensee]").input_value())
        manager.check("#f-product-0")  # 黄桃
        manager.fill("#f-quantity", "1000")
        manager.select_option("#f-unit", "kg")
        manager.fill("#f-bases", "李家茶园黄桃基地")
        _fits(manager)
        manager.click("#licence-form button[type=submit]")
        manager.wait_for_url(re.compile(r".*/console/yanling-huangtao/#licence-[0-9]+$"))
        assert "发放品牌“炎陵黄桃”的使用许可" in _notice(manager)
        licence_id = int(manager.url.rsplit("-", 1)[1])
        block = manager.locator(f"#licence-{licence_id}")
        assert "李家茶园家庭农场" in block.inner_text() and "有效" in block.inner_text()
        assert _use(manager, licence_id) == (0.0, "0 个批次")

        # the producer registers a batch under the brand, picked from the brand picker
        _sign_in(producer, base, "teafarm")
        producer.goto(base + "/batches/new")
        producer.fill("#f-product", "黄桃")
        producer.select_option("#f-category", "fruit")
        producer.fill("#f-quantity", "250")
        producer.fill("#f-base", "李家茶园黄桃基地")
        origin = producer.locator("#f-origin_region")
        origin.click()
        origin.press_sequentially("炎陵")
        producer.locator("#l-origin_region [role=option]", has_text="湖南省株洲市炎陵县").first.click()
        brand = producer.locator("#f-brand")
        brand.click()
        producer.locator("#l-brand [role=option]", has_text="炎陵黄桃").first.click()
        assert producer.locator("input[type=hidden][name=brand]").input_value() == "yanling-huangtao"
        producer.click("main form button[type=submit]")
        producer.wait_for_url(re.compile(r".*/batches/[0-9A-Z]{13}$"))
        code = producer.url.rsplit("/", 1)[1]

        # the use bar moves: 250 of 1,000 kg, one batch
        manager.reload()
        assert _use(manager, licence_id) == (0.25, "1 个批次")
        assert "250 / 1,000 kg" in manager.locator(f"#licence-{licence_id} .use-figures").inner_text()
        manager.locator(".console-tabs").get_by_role("link", name="品牌批次").click()
        assert code in manager.locator("#brand-batches").inner_text()

        # revoke it: a reason, then the confirmation page, then the notice
        manager.goto(base + "/console/yanling-huangtao/")
        manager.locator(f"#licence-{licence_id}").get_by_role("link", name="撤销许可").click()
        manager.fill("#f-reason", "未按约定使用包装")
        _fits(manager)
        manager.click("#revoke-form button[type=submit]")
        assert "此操作不可撤销" in manager.locator("#confirm-form").inner_text()
        manager.click("#confirm-form button[type=submit]")
        manager.wait_for_url(re.compile(rf".*/console/yanling-huangtao/#licence-{licence_id}$"))
        assert "品牌使用许可已撤销" in _notice(manager)
        assert "已撤销" in manager.locator(f"#licence-{licence_id} .status").inner_text()
        assert manager.locator(f"#licence-{licence_id}").get_by_role("link", name="撤销许可").count() == 0
        assert manager.console_errors == [] and producer.console_errors == []
    finally:
        manager_context.close()
        producer_context.close()

    with demo.app_context():
        session = db.session()
        actors = {name: session.scalar(select(User).where(User.username == name)).actor()
                  for name in ("brand", "teafarm")}
        written = {}
        for body in session.scalars(select(LedgerEntry.body).where(LedgerEntry.kind.in_((
                "brand.changed", "brand.licensed", "batch.registered", "brand.license_revoked")))
                .order_by(LedgerEntry.seq)):
            entry = json.loads(bytes(body))
            written[(entry["kind"], entry["subject"])] = entry
        changed = [e for (kind, _s), e in written.items() if kind == "brand.changed"][-1]
        assert changed["actor"] == actors["brand"] and changed["data"]["reason"] == "简介补充海拔"
        assert written[("brand.licensed", f"license:{licence_id}")]["actor"] == actors["brand"]
        registered = written[("batch.registered", f"batch:{code}")]
        assert registered["actor"] == actors["teafarm"] and registered["data"]["brand"] == "yanling-huangtao"
        revoked = written[("brand.license_revoked", f"license:{licence_id}")]
        assert revoked["actor"] == actors["brand"] and revoked["data"]["reason"] == "未按约定使用包装"
    result = demo.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output

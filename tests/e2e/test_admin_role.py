"""An admin's whole job on a tablet, through the UI only: register an organization, create a user
for it, reset the user's password, deactivate the user (who then cannot sign in), and issue and
revoke an API token (a call with it then gets 401). Every organization write is in the ledger
under the admin, and ``ledger verify`` passes at the end."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from traceapp import db
from traceapp.auth.models import AccountEvent, User
from traceapp.ledger.store import LedgerEntry

pytestmark = pytest.mark.e2e


@pytest.fixture
def tablet(browser):
    context = browser.new_context(viewport={"width": 768, "height": 1024}, locale="zh-CN", has_touch=True)
    page = context.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.console_errors = errors
    yield page
    context.close()


def _sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main form button[type=submit]")


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 768, page.url


def test_an_admin_does_the_whole_job_on_a_tablet(live_server, tablet, demo):
    base = live_server
    _sign_in(tablet, base, "admin", "traceapp-demo")
    tablet.wait_for_url(base + "/home")
    assert tablet.locator("h1").inner_text() == "管理"
    _fits(tablet)

    # an organization
    tablet.get_by_role("link", name="登记组织").first.click()
    tablet.fill("#f-name", "桃源县测试茶叶专业合作社")
    tablet.select_option("#f-kind", "cooperative")
    tablet.fill("#f-uscc", _uscc())
    region = tablet.locator("#f-region")  # the region picker: typed in pinyin, chosen from the list
    region.click()
    region.press_sequentially("taoyuan")
    tablet.locator("#l-region [role=option]", has_text="湖南省常德市桃源县").first.click()
    assert tablet.locator("input[type=hidden][name=region]").input_value() == "430725"
    tablet.fill("#f-contact", "0736-0000000")
    tablet.click("main form button[type=submit]")
    tablet.wait_for_url(re.compile(r".*/admin/organizations/[0-9]+$"))
    assert "已登记并写入账本" in tablet.locator(".notice").inner_text()
    assert "桃源县" in tablet.locator("main").inner_text()
    _fits(tablet)
    org_id = int(tablet.url.rsplit("/", 1)[1])

    # a user for it, with a temporary password
    tablet.get_by_role("link", name="为这个组织新建用户").click()
    tablet.fill("#f-username", "taoyuan_li")
    tablet.select_option("#f-role", "producer")
    assert tablet.locator("input[type=hidden][name=org]").input_value() == str(org_id)
    assert "桃源县测试茶叶专业合作社" in tablet.locator("#f-org").input_value()
    tablet.click("main form button[type=submit]")
    first = tablet.locator("#temporary-password").input_value()
    _fits(tablet)
    tablet.get_by_role("link", name="返回用户页").click()

    # reset the password: the first temporary one stops working, the new one signs in
    tablet.get_by_role("link", name="重置密码").click()
    tablet.get_by_role("button", name="确认重置密码").click()
    second = tablet.locator("#temporary-password").input_value()
    assert second != first
    other = tablet.context.browser.new_context(viewport={"width": 768, "height": 1024}, locale="zh-CN")
    user_page = other.new_page()
    _sign_in(user_page, base, "taoyuan_li", first)
    assert "用户名或密码不正确" in user_page.locator("main").inner_text()
    _sign_in(user_page, base, "taoyuan_li", second)
    user_page.wait_for_url("**/account/password")  # a temporary password opens only this page

    # deactivate the user: signed out, and signing in fails
    tablet.get_by_role("link", name="返回用户页").click()
    tablet.get_by_role("link", name="停用账号").click()
    tablet.get_by_role("button", name="确认停用").click()
    assert "账号已停用" in tablet.locator(".notice").inner_text()
    _fits(tablet)
    user_page.goto(base + "/home")
    assert "/login" in user_page.url
    _sign_in(user_page, base, "taoyuan_li", second)
    assert "用户名或密码不正确" in user_page.locator("main").inner_text()
    other.close()

    # a token of the admin's own: it works, then, revoked, gets 401
    tablet.goto(base + "/home")
    tablet.get_by_role("link", name="我的 API 令牌").click()
    tablet.get_by_role("button", name="新建令牌").click()
    token = tablet.locator("#token-value").input_value()
    assert token.startswith("ta_")
    _fits(tablet)
    api = tablet.context.request
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get(f"{base}/api/v1/organizations/{org_id}", headers=headers).status == 200
    tablet.goto(base + "/account/tokens")
    assert token[:10] in tablet.locator("#token-list").inner_text() and token not in tablet.content()
    tablet.locator("#token-list li", has_text=token[:10]).get_by_role("link", name="撤销").click()
    tablet.get_by_role("button", name="确认撤销").click()
    assert "令牌已撤销" in tablet.locator(".notice").inner_text()
    assert api.get(f"{base}/api/v1/organizations/{org_id}", headers=headers).status == 401

    # the home lists the latest account actions; the log shows what was done, by labels
    tablet.goto(base + "/home")
    assert "taoyuan_li" in tablet.locator("main").inner_text() and "停用账号" in tablet.locator("main").inner_text()
    tablet.goto(base + "/admin/log")
    log = tablet.locator("main").inner_text()
    assert "创建账号" in log and "重置密码" in log and "停用账号" in log and "撤销 API 令牌" in log
    assert "user.created" not in log
    _fits(tablet)
    assert tablet.console_errors == []

    with demo.app_context():
        session = db.session()
        admin = session.scalar(select(User).where(User.username == "admin"))
        registered = json.loads(bytes(session.scalar(select(LedgerEntry.body).where(
            LedgerEntry.subject == f"org:{org_id}", LedgerEntry.kind == "org.registered"))))
        assert registered["actor"] == admin.actor()
        actions = [(e.action, e.actor_id) for e in session.scalars(select(AccountEvent).order_by(AccountEvent.id))]
        assert actions == [("user.created", admin.id), ("user.password_reset", admin.id),
                           ("user.deactivated", admin.id), ("token.issued", admin.id), ("token.revoked", admin.id)]
    result = demo.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output


def _uscc() -> str:
    from tests.factories import uscc

    return uscc()

"""The Content-Security-Policy breaks no page: Debian's chromium loads the main pages (home, login, batch
form, consumer page, brand pages, audit desk, and the pages whose scripts and styles moved out of the HTML:
batch page, label preview and sheet, 合格证 print) as their users would, and fails on any violation the
browser reports, in the console or as a ``securitypolicyviolation`` event. The print buttons, whose
inline handlers moved to static/print.js, still print."""

from __future__ import annotations

import pytest

from tests.factories import make_printed_pages
from traceapp.audit import verification

pytestmark = pytest.mark.e2e

# Runs before any of the page's own scripts (Playwright injects it outside the page's policy): keeps the
# violations the page reports, and counts print() calls instead of opening the print dialog.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile + ":" + e.lineNumber);
});
window.__printed = 0;
window.print = function () { window.__printed += 1; };
"""


@pytest.fixture
def sample(app):
    """A batch of luyuan's with a 合格证 and a printed label sheet, and a plain demo batch."""
    return make_printed_pages(app)


@pytest.fixture
def watched(browser):
    """A tablet whose console messages about the policy are kept in ``page.csp_console``."""
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN")
    context.add_init_script(WATCH)
    page = context.new_page()
    page.csp_console = []
    page.on("console", lambda m: page.csp_console.append(m.text)
            if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text else None)
    yield page
    context.close()


def visit(page, url: str) -> None:
    """Open ``url``, let its scripts run, and fail on any policy violation it reported."""
    response = page.goto(url)
    assert response.ok, (url, response.status)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    violations = page.evaluate("window.__violations")
    assert violations == [] and page.csp_console == [], (url, violations, page.csp_console)


def log_in(page, base: str, username: str) -> None:
    visit(page, base + "/login")
    page.fill("#username", username)
    page.fill("#password", "traceapp-demo")
    page.click("main form button[type=submit]")
    page.wait_for_url(base + "/home")
    assert page.evaluate("window.__violations") == [] and page.csp_console == []


def test_public_pages_load_without_a_policy_violation(live_server, sample, watched):
    for path in ("/", "/login", "/brands/", "/brands/yanling-huangtao", f"/t/{sample['plain']}",
                 f"/t/{sample['code']}?lang=en"):
        visit(watched, live_server + path)
    watched.goto(f"{live_server}/t/{sample['plain']}")
    watched.wait_for_function("() => document.getElementById('ledger-proof').dataset.status !== 'pending'")
    assert watched.get_attribute("#ledger-proof", "data-status") == "verified"  # verify.js ran, fetch allowed


def test_a_producers_pages_load_without_a_policy_violation_and_still_print(live_server, sample, watched):
    base, code = live_server, sample["code"]
    log_in(watched, base, "luyuan")
    for path in ("/home", "/batches/new", f"/batches/{code}/correct", f"/batches/{code}/labels",
                 "/brands/yanling-huangtao", f"/t/{code}"):
        visit(watched, base + path)
    visit(watched, f"{base}/batches/{code}")
    assert watched.evaluate("document.getElementById('batch-qr').naturalWidth") > 0  # img-src 'self'
    watched.get_by_role("button", name="打印二维码").click()
    assert watched.evaluate("window.__printed") == 1

    visit(watched, f"{base}/batches/{code}/labels?n=3&package=5&layout=a4-24")
    label = watched.locator(".label-preview .label").nth(1)
    assert label.evaluate("l => getComputedStyle(l).position") == "absolute"  # the nonce'd geometry applies
    assert label.evaluate("l => l.getBoundingClientRect().left") > watched.locator(
        ".label-preview .label").first.evaluate("l => l.getBoundingClientRect().left")

    visit(watched, f"{base}/batches/{code}/labels/{sample['print']}.html")
    labels = watched.locator(".label-sheet .label")
    assert labels.count() == 30
    positions = {tuple(labels.nth(n).evaluate("l => [l.offsetLeft, l.offsetTop]")) for n in range(24)}
    assert len(positions) == 24  # every label of a page in its own place
    watched.get_by_role("button", name="打印").click()
    assert watched.evaluate("window.__printed") == 1

    visit(watched, f"{base}/compliance-certificates/{sample['cert']}?size=100x70")
    watched.get_by_role("button", name="打印").click()
    assert watched.evaluate("window.__printed") == 1


def test_the_audit_desk_loads_without_a_policy_violation(app, live_server, sample, watched):
    log_in(watched, live_server, "regulator")
    for path in ("/audit/", "/audit/exports", "/audit/risks", f"/batches/{sample['code']}"):
        visit(watched, live_server + path)
    watched.goto(live_server + "/audit/")
    watched.get_by_role("button", name="运行完整校验").click()
    watched.locator('#verify-result[data-status="ok"]').wait_for(timeout=30_000)  # audit.js polled, allowed
    assert watched.evaluate("window.__violations") == [] and watched.csp_console == []
    verification.wait(app)

"""The audit desk on a tablet: a regulator runs a full verification and watches its progress bar
reach the result, which the page's script fetches while the job runs in the background."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from traceapp import db
from traceapp.audit import verification
from traceapp.audit.models import VerificationRun

pytestmark = pytest.mark.e2e
FILLER = 3000


@pytest.fixture
def tablet(browser):
    context = browser.new_context(viewport={"width": 768, "height": 1024}, locale="zh-CN", has_touch=True)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desk(app, live_server):
    """The demo ledger plus a few thousand more entries, so a verification has work to do."""
    with app.app_context(), db.write_session() as s:
        ledger = db.ledger()
        for n in range(FILLER):
            ledger.append(s, "test.filler", {"user": "tests", "org": None}, f"filler:{n}", {"n": str(n)})
    yield live_server
    verification.wait(app)


def _log_in(page, base: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", "regulator")
    page.fill("#password", "traceapp-demo")
    page.click("main form button[type=submit]")
    page.wait_for_url(base + "/home")


def _size(app) -> int:
    with app.app_context():
        return db.ledger().latest_checkpoint(db.session())[0]


def test_a_regulator_runs_a_full_verification_and_sees_the_result(app, desk, tablet):
    _log_in(tablet, desk)
    tablet.get_by_role("link", name="审计台", exact=True).click()
    tablet.wait_for_url(desk + "/audit/")
    assert tablet.locator("h1").inner_text() == "审计台"
    assert tablet.evaluate("document.documentElement.scrollWidth") <= 768
    tablet.get_by_role("button", name="运行完整校验").click()
    progress = tablet.locator("#verify-progress")
    progress.wait_for(state="visible")
    result = tablet.locator('#verify-result[data-status="ok"]')
    result.wait_for(timeout=30_000)
    size = _size(app)
    assert size > FILLER
    assert progress.evaluate("p => [p.value, p.max]") == [size, size]
    assert "账本完好" in result.inner_text()
    assert tablet.get_by_role("button", name="运行完整校验").is_enabled()


def test_the_progress_bar_follows_a_running_verification_to_its_result(app, desk, tablet):
    # A run another worker started and has got part of the way through.
    with app.app_context(), db.write_session() as s:
        run, _ = verification.start_verification(s, db.ledger(), "regulator")
    with app.app_context(), db.database().sessions() as s:
        s.execute(update(VerificationRun).where(VerificationRun.id == run.id).values(entries_checked=1000))
        s.commit()
    _log_in(tablet, desk)
    tablet.goto(desk + "/audit/")
    progress = tablet.locator("#verify-progress")
    assert progress.evaluate("p => [p.value, p.max]") == [1000, run.total]
    assert tablet.locator("#verify-start").is_disabled()
    assert tablet.locator("#verify-result").get_attribute("data-status") is None
    tablet.wait_for_function("() => document.getElementById('verify-result').textContent.includes('正在校验')")

    verification.launch(app, run.id)  # the job itself now runs that verification to its end
    result = tablet.locator('#verify-result[data-status="ok"]')
    result.wait_for(timeout=30_000)
    assert progress.evaluate("p => [p.value, p.max]") == [run.total, run.total]
    assert "账本完好" in result.inner_text()
    assert tablet.locator("#verify-finished").inner_text().endswith("(UTC+8)")  # Asia/Shanghai, the default zone
    assert tablet.locator("#verify-start").is_enabled()

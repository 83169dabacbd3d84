"""axe-core (the npm package `make test` installs under tests/e2e/node) finds no serious or
critical accessibility violation on the pages people meet first: the home page, the consumer page,
the batch form, a brand page and the audit desk, in Chinese and in English."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.e2e.crawl import log_in
from traceapp import db
from traceapp.records.models import Batch

pytestmark = pytest.mark.e2e
AXE = Path(__file__).parent / "node" / "node_modules" / "axe-core" / "axe.min.js"
# (who logs in, the page, the width it is used at): the consumer's pages on a phone, staff on a tablet.
PAGES = [(None, "/", 360), (None, "/t/{code}", 360), ("luyuan", "/batches/new", 768),
         (None, "/brands/yanling-huangtao", 360), ("regulator", "/audit/", 768),
         ("brand", "/console/yanling-huangtao/", 768), ("brand", "/console/yanling-huangtao/licences/new", 768),
         ("admin", "/admin/", 768), ("admin", "/admin/organizations", 768),
         ("admin", "/admin/organizations/1/edit", 768), ("admin", "/admin/users/new", 768),
         ("luyuan", "/account/tokens", 768), ("regulator", "/dashboards/regulator", 768),
         ("brand", "/dashboards/brand", 768), ("luyuan", "/dashboards/producer", 1366)]
BLOCKING = ("serious", "critical")


@pytest.fixture(scope="module")
def axe_script() -> str:
    if not AXE.exists():
        message = f"{AXE} is missing: `make test` installs axe-core (npm ci --prefix tests/e2e/node)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return AXE.read_text()


def _violations(page, script: str) -> list[str]:
    # The app's Content-Security-Policy allows no inline script: the context bypasses it for axe only.
    page.evaluate(script)
    found = page.evaluate("""async () => {
      const r = await axe.run(document, {resultTypes: ['violations']});
      return r.violations.map(v => [v.impact, v.id, v.help, v.nodes.slice(0, 3).map(n => n.target.join(' '))]);
    }""")
    return [f"{impact} {rule}: {text} at {targets}" for impact, rule, text, targets in found if impact in BLOCKING]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the pages, not the database, are under test
@pytest.mark.parametrize("language", ["zh", "en"])
def test_first_pages_have_no_serious_accessibility_violation(language, demo, live_server, browser, axe_script):
    with demo.app_context():
        code = db.session().scalar(select(Batch.code).order_by(Batch.id))
    failures = []
    for user, path, width in PAGES:
        context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
        context.add_cookies([{"name": "lang", "value": language, "url": live_server}])
        page = context.new_page()
        if user:
            log_in(page, live_server, user)
        page.goto(live_server + path.format(code=code))
        assert page.evaluate("document.documentElement.lang") == ("zh-CN" if language == "zh" else "en")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
        failures += [f"{path}: {v}" for v in _violations(page, axe_script)]
        context.close()
    assert not failures, "\n".join(failures)

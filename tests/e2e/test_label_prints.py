"""The label printing page lists the batch's earlier prints: on a phone each print is a card with its
fields named, and the page is no wider than the screen."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.e2e.crawl import log_in
from traceapp import db
from traceapp.records.models import Batch, LabelPrint, Organization

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the page, not the database, is under test
@pytest.mark.parametrize(("width", "language"), [(360, "zh"), (360, "en"), (768, "en")])
def test_the_prints_of_a_batch_fit_the_screen(demo, live_server, browser, width, language):
    with demo.app_context():
        session = db.session()
        code = session.scalar(select(Batch.code).join(LabelPrint, LabelPrint.batch_id == Batch.id)
                              .join(Organization, Organization.id == Batch.organization_id)
                              .where(Organization.name.like("%鹿原镇%")).order_by(Batch.id))
    assert code, "the demo data has a print of one of luyuan's batches"
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    log_in(page, live_server, "luyuan")
    page.goto(f"{live_server}/batches/{code}/labels?lang={language}")
    assert page.locator("table.prints tbody tr").count() >= 1
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if width <= 600:  # a card: every cell but the links names its field
        named = page.evaluate("""() => [...document.querySelectorAll('table.prints tbody tr:first-child td')]
          .map(td => getComputedStyle(td, '::before').content)""")
        assert sum(1 for c in named if c not in ("none", '""', "normal")) == 6, named
    context.close()

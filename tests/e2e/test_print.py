"""Printed pages: the record on paper, without the site's header, menus, forms and buttons, and no
wider than an A4 page's printable width; the batch page prints its QR code only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.e2e.crawl import log_in
from traceapp import db
from traceapp.records.models import Batch

pytestmark = pytest.mark.e2e
A4_PRINTABLE = 718  # 190 mm (A4 less 1 cm margins) at 96 px per inch
# (who logs in, the page) for pages someone prints: the consumer page, lists, a risk report.
PAGES = [(None, "/t/{code}"), ("certifier", "/certifications"), ("regulator", "/audit/risks/failed_inspection"),
         ("admin", "/admin/logins"), (None, "/brands/yanling-huangtao")]
SHOWN = """() => [...document.querySelectorAll('header.top, form, button, nav')]
  .filter(e => e.getClientRects().length > 0).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : ''))"""


@pytest.fixture
def paper(browser):
    context = browser.new_context(viewport={"width": A4_PRINTABLE, "height": 1000})
    yield context.new_page()
    context.close()


def _first_code(app) -> str:
    with app.app_context():
        return db.session().scalar(select(Batch.code).order_by(Batch.id))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the pages, not the database, are under test
@pytest.mark.parametrize(("user", "path"), PAGES)
def test_a_printed_page_is_the_record_only_and_fits_the_paper(user, path, demo, live_server, paper):
    if user:
        log_in(paper, live_server, user)
    paper.emulate_media(media="print")
    paper.goto(live_server + path.format(code=_first_code(demo)))
    assert paper.evaluate(SHOWN) == []
    assert paper.evaluate("document.documentElement.scrollWidth") <= A4_PRINTABLE
    assert paper.locator("main h1").is_visible()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_batch_page_prints_its_qr_code_only(demo, live_server, paper):
    log_in(paper, live_server, "admin")
    paper.emulate_media(media="print")
    paper.goto(f"{live_server}/batches/{_first_code(demo)}")
    assert paper.locator("#batch-qr").is_visible()
    assert paper.locator("main h1").is_hidden() and paper.locator("#inspections").is_hidden()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("size", "paper_mm"), [("a5", 140), ("100x70", 92), ("80x60", None)])
def test_a_certificate_of_each_paper_size_fits_a_phone_and_prints_at_its_size(size, paper_mm, demo, live_server,
                                                                               browser):
    from traceapp.auth.models import User
    from traceapp.records.models import ComplianceCertificate

    with demo.app_context():
        session = db.session()
        org = session.scalar(select(User.organization_id).where(User.username == "luyuan"))
        code = session.scalar(select(ComplianceCertificate.code).join(Batch, Batch.id == ComplianceCertificate.batch_id)
                              .where(Batch.organization_id == org).order_by(ComplianceCertificate.id))
    context = browser.new_context(viewport={"width": 360, "height": 800})
    phone = context.new_page()
    log_in(phone, live_server, "luyuan")
    phone.goto(f"{live_server}/compliance-certificates/{code}?size={size}")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    if paper_mm:  # on paper the certificate keeps its size: 96 px per inch
        phone.emulate_media(media="print")
        width = phone.evaluate("document.getElementById('hgz').getBoundingClientRect().width")
        assert abs(width - paper_mm * 96 / 25.4) < 2, width
    context.close()

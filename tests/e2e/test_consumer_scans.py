"""A consumer's phone (360×640, Debian's chromium) opens a batch's page: its script records one scan
and shows the count, and opening it again shows one more; without JavaScript the page shows the
batch's story and says nothing about scans (and records none)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from traceapp import db
from traceapp.public.models import Scan
from traceapp.records.models import Batch, LabelPrint

pytestmark = pytest.mark.e2e


def printed_code(app) -> str:
    """A demo batch whose labels were printed: its scans count."""
    with app.app_context():
        return db.session().scalar(select(Batch.code).join(LabelPrint, LabelPrint.batch_id == Batch.id)
                                   .order_by(Batch.id).limit(1))


def scans_of(app) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(Scan))


def scan_line(phone) -> str:
    phone.wait_for_selector("#scans:not([hidden])", timeout=10000)
    return phone.inner_text("#scans")


def test_opening_the_page_records_one_scan_and_shows_the_count(app, live_server, browser):
    app.config["TRACEAPP_BEHIND_PROXY"] = True  # two phones: two addresses, as the proxy in front names them
    code = printed_code(app)
    before = scans_of(app)
    counts = []
    for visit in range(2):  # two consumers' phones (a client's repeat within the hour counts once)
        context = browser.new_context(viewport={"width": 360, "height": 640}, locale="zh-CN",
                                      extra_http_headers={"X-Forwarded-For": f"203.0.113.{visit + 1}"})
        phone = context.new_page()
        phone.goto(f"{live_server}/t/{code}")
        line = scan_line(phone)
        assert line.startswith("本系统记录的首次查询时间 ") and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d \(UTC\+8\)", line)
        counts.append(int(re.search(r"共查询 (\d+) 次", line).group(1)))
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360
        context.close()
    assert counts[1] == counts[0] + 1
    assert scans_of(app) == before + 2


def test_the_page_without_javascript_shows_the_story_and_no_scan_sentence(app, live_server, browser):
    code = printed_code(app)
    before = scans_of(app)
    context = browser.new_context(viewport={"width": 360, "height": 640}, locale="zh-CN", java_script_enabled=False)
    phone = context.new_page()
    phone.goto(f"{live_server}/t/{code}")
    assert phone.is_visible("#story") and phone.locator("#story li").count() >= 1
    assert "登记批次" in phone.inner_text("#story")
    assert not phone.is_visible("#scans") and "共查询" not in phone.inner_text("body")
    context.close()
    assert scans_of(app) == before

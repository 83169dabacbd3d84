"""The front door on a phone-sized screen: Chinese first, English one tap away, a 追溯码 typed in
lower case (or a consumer page's URL pasted) opens the batch's page, an unknown one is answered
beside the field, and nothing is wider than the screen. The camera button is offered only where the
browser has its own barcode reader."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from traceapp import db
from traceapp.records.models import Batch

pytestmark = pytest.mark.e2e


def test_home_page_on_a_phone_switches_from_chinese_to_english(live_server, phone):
    phone.goto(live_server + "/")
    assert phone.locator("h1").inner_text() == "农产品追溯与区域品牌登记"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert phone.get_by_label("追溯码").is_visible()
    phone.get_by_role("link", name="English").click()
    phone.wait_for_load_state()
    assert phone.locator("h1").inner_text() == "Agricultural traceability and regional brand registry"
    phone.goto(live_server + "/")  # the choice is remembered
    assert phone.locator("h1").inner_text().startswith("Agricultural")


def test_a_typed_or_pasted_code_opens_the_batch_page_and_an_unknown_one_is_explained(app, live_server, phone):
    with app.app_context():
        code = db.session().scalar(select(Batch.code).order_by(Batch.id))
    phone.goto(live_server + "/")
    phone.get_by_label("追溯码").fill(code.lower())
    phone.get_by_role("button", name="查询", exact=True).click()
    phone.wait_for_url(f"{live_server}/t/{code}")
    assert phone.locator("#ledger-proof").is_visible()

    phone.goto(live_server + "/")
    phone.get_by_label("追溯码").fill(f"https://example.com/t/{code}")
    phone.keyboard.press("Enter")
    phone.wait_for_url(f"{live_server}/t/{code}")

    phone.goto(live_server + "/")
    phone.get_by_label("追溯码").fill("2222 2222 2222 A")
    phone.get_by_role("button", name="查询", exact=True).click()
    phone.wait_for_load_state()
    assert "没有找到追溯码为 2222 2222 2222 A 的产品" in phone.inner_text("#code-error")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360


def test_the_camera_button_is_offered_only_with_a_barcode_reader_and_a_scan_opens_the_page(app, live_server, phone):
    with app.app_context():
        code = db.session().scalar(select(Batch.code).order_by(Batch.id))
    phone.goto(live_server + "/")
    phone.wait_for_load_state("load")
    native = phone.evaluate("'BarcodeDetector' in window")
    if not native:
        assert phone.locator("#scan-start").is_hidden()
    # The device's reader and camera, as a phone's browser gives them: the reader finds the label's URL.
    phone.add_init_script("""
        window.BarcodeDetector = class {
          static getSupportedFormats() { return Promise.resolve(['qr_code']); }
          detect() { return Promise.resolve([{format: 'qr_code', rawValue: 'http://label.example/t/CODE'}]); }
        };
        navigator.mediaDevices.getUserMedia = function () {
          var canvas = document.createElement('canvas');
          canvas.width = canvas.height = 64;
          canvas.getContext('2d').fillRect(0, 0, 64, 64);
          return Promise.resolve(canvas.captureStream());
        };
    """.replace("CODE", code.lower()))
    phone.goto(live_server + "/")
    phone.get_by_role("button", name="用摄像头扫码").click()
    phone.wait_for_url(f"{live_server}/t/{code}")

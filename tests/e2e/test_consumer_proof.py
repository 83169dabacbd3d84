"""A consumer's phone (360×640, Debian's chromium) opens a batch's page and checks, with WebCrypto,
that its registration is in the signed ledger; a proof, root or signature altered on the way (by
route interception) must give ``failed``. The page loads nothing from elsewhere."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select

from traceapp import db
from traceapp.ledger.store import LedgerEntry
from traceapp.records.models import Batch

pytestmark = pytest.mark.e2e


def codes(app) -> tuple[str, str]:
    """Return a plain demo batch's code and the recalled one's."""
    with app.app_context():
        session = db.session()
        recalled = session.scalar(select(LedgerEntry.subject).where(LedgerEntry.kind == "batch.recalled"))
        recalled = recalled.removeprefix("batch:")
        plain = session.scalar(select(Batch.code).where(Batch.code != recalled).order_by(Batch.id))
        return plain, recalled


def proof_status(phone) -> str:
    phone.wait_for_function("() => document.getElementById('ledger-proof').dataset.status !== 'pending'", timeout=10000)
    return phone.get_attribute("#ledger-proof", "data-status")


def flip(hex_digit: str) -> str:
    return "0" if hex_digit != "0" else "1"


def test_the_phone_verifies_the_proof_and_loads_nothing_from_elsewhere(app, live_server, phone):
    code, _recalled = codes(app)
    requested = []
    phone.on("request", lambda r: requested.append(r.url))
    phone.goto(f"{live_server}/t/{code}")
    assert proof_status(phone) == "verified"
    text = phone.inner_text("#ledger-proof")
    assert text.startswith("记录未被篡改：本批次的登记已在签名账本第") and "条中核验" in text
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert all(url.startswith(live_server) for url in requested), requested
    # The icon is a file of the app's own: the Content-Security-Policy (img-src 'self') refuses a data: URL.
    assert sorted(url.removeprefix(live_server) for url in requested) == sorted(
        [f"/t/{code}", "/static/style.css", "/static/verify.js", f"/t/{code}.json", f"/t/{code}/scans",
         "/static/favicon.svg"])


def tamper_proof(proof: dict) -> None:
    first = proof["proof"][0]
    proof["proof"][0] = flip(first[0]) + first[1:]


def tamper_root(proof: dict) -> None:
    text, signatures = proof["checkpoint"].split("\n\n", 1)
    lines = text.split("\n")
    root = bytearray(base64.b64decode(lines[2]))
    root[0] ^= 0x01
    lines[2] = base64.b64encode(bytes(root)).decode()
    proof["checkpoint"] = "\n".join(lines) + "\n\n" + signatures


def tamper_signature(proof: dict) -> None:
    text, signatures = proof["checkpoint"].split("\n\n", 1)
    dash, name, blob = signatures.split("\n")[0].split(" ")
    sig = bytearray(base64.b64decode(blob))
    sig[-1] ^= 0x01
    proof["checkpoint"] = f"{text}\n\n{dash} {name} {base64.b64encode(bytes(sig)).decode()}\n"


def tamper_entry(proof: dict) -> None:
    proof["entry"]["data"]["quantity"] = "99999"


@pytest.mark.parametrize("tamper", [tamper_proof, tamper_root, tamper_signature, tamper_entry])
def test_an_altered_proof_root_signature_or_entry_fails(app, live_server, phone, tamper):
    code, _recalled = codes(app)

    def alter(route):
        response = route.fetch()
        body = response.json()
        tamper(body["proof"])
        route.fulfill(response=response, body=json.dumps(body, ensure_ascii=False),
                      headers={**response.headers, "content-type": "application/json"})

    phone.route(f"**/t/{code}.json", alter)
    phone.goto(f"{live_server}/t/{code}")
    assert proof_status(phone) == "failed"
    assert "验证失败" in phone.inner_text("#ledger-proof")


def test_a_recalled_batch_shows_the_banner_first_and_a_neutral_proof_beneath_it(app, live_server, phone):
    """On a recalled batch the proof is no green tick: it sits beneath the warning, in grey, and says
    that it shows the record genuine, not the product safe."""
    code, recalled = codes(app)
    phone.goto(f"{live_server}/t/{recalled}")
    banner = phone.locator("#recall-banner")
    assert banner.is_visible() and "召回" in banner.inner_text()
    assert banner.bounding_box()["y"] < phone.locator("h1").bounding_box()["y"]
    assert proof_status(phone) == "verified"
    proof = phone.locator("#ledger-proof")
    assert proof.bounding_box()["y"] > banner.bounding_box()["y"] + banner.bounding_box()["height"]
    text = proof.inner_text()
    assert "记录未被篡改" in text and "不表示产品可以放心食用" in text and "✔" not in text
    warned = badge_look(phone)
    assert warned["icon"] != '"✔"' and not greenish(warned["background"]) and not greenish(warned["color"])

    phone.goto(f"{live_server}/t/{code}")  # a batch without a warning keeps the green tick
    assert proof_status(phone) == "verified"
    plain = badge_look(phone)
    assert plain["icon"] == '"✔"' and greenish(plain["background"])
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360


def badge_look(phone) -> dict:
    return phone.evaluate("""() => {
        const box = document.getElementById('ledger-proof'), style = getComputedStyle(box);
        return {background: style.backgroundColor, color: style.color,
                icon: getComputedStyle(box.querySelector('.proof-icon'), '::before').content};
    }""")


def greenish(rgb: str) -> bool:
    """Whether a computed colour (``rgb(r, g, b)``) is a green: its green channel well above the others."""
    r, g, b = (int(part) for part in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3])
    return g > max(r, b) + 8


def test_every_demo_page_fits_a_phone_in_both_languages(app, live_server, phone):
    """At 360 px nothing scrolls sideways, not even an inspection's five-column table (whose last
    column is each item's verdict)."""
    with app.app_context():
        all_codes = db.session().scalars(select(Batch.code).order_by(Batch.id)).all()
    overflowing = """[...document.querySelectorAll('.table-wrap')]
                     .filter(w => w.scrollWidth > w.clientWidth).length"""
    for code in all_codes:
        for lang in ("zh", "en"):
            phone.goto(f"{live_server}/t/{code}?lang={lang}")
            assert phone.evaluate("document.documentElement.scrollWidth") <= 360, (code, lang)
            assert phone.evaluate(overflowing) == 0, (code, lang)

"""The public front door: ``/`` finds a batch by its 追溯码 (typed in any case, spaced, or pasted as the
consumer page's URL or a GS1 Digital Link), or a brand; ``/ledger/`` explains the checkpoint, the key
and the tools to auditors; public headers speak no ledger jargon; the favicon is served. SQLite and
PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from traceapp import db
from traceapp.ledger.store import LedgerEntry
from traceapp.records.models import Batch, CodeState, Inspection

PASSWORD = "traceapp-demo"


def _codes(app) -> dict[str, str]:
    """A plain demo batch's code, the recalled one's, and a packed lot's code, GTIN and lot."""
    with app.app_context():
        session = db.session()
        recalled = session.scalar(select(LedgerEntry.subject).where(LedgerEntry.kind == "batch.recalled"))
        packed = session.execute(select(Batch.code, Batch.gtin, Batch.lot).where(Batch.gtin.is_not(None))
                                 .order_by(Batch.id).limit(1)).one()
        plain = session.scalar(select(Batch.code).where(Batch.gtin.is_(None)).order_by(Batch.id))
    return {"plain": plain, "recalled": recalled.removeprefix("batch:"), "packed": packed.code,
            "gtin": packed.gtin, "lot": packed.lot}


def _header(page: str) -> str:
    return re.search(r'<header class="top">.*?</header>', page, re.S).group(0)


def test_the_front_door_offers_a_code_search_and_a_brand_search(demo, client):
    page = client.get("/").get_data(as_text=True)
    form = re.search(r'<form id="code-search"[^>]*>', page).group(0)
    assert 'action="/find"' in form and 'method="get"' in form
    assert '<label for="code">追溯码</label>' in page and 'name="code"' in page
    assert 'action="/brands/"' in page and 'name="q"' in page and 'href="/brands/"' in page
    assert 'href="/ledger/"' in page
    assert "根哈希" not in page and "/ledger/entries" not in page  # the ledger panel moved to /ledger/
    assert 'src="/static/scan.js"' in page and "<script>" not in page
    english = client.get("/?lang=en").get_data(as_text=True)
    assert "Trace code" in english and "追溯码" not in english


@pytest.mark.parametrize("typed", [
    "{code}", "{lower}", "  {spaced}  ", "http://elsewhere.example/t/{lower}", "{base}/t/{code}.json",
    "{base}/T/{code}", "{base}/01/{gtin}/10/{lot}?linkType=gs1:pip", "traceapp.test/01/{gtin}/10/{lot}"])
def test_a_code_or_a_pasted_link_lands_on_the_batch_page(demo, client, typed):
    codes = _codes(demo)
    code = codes["packed"] if "{gtin}" in typed else codes["plain"]
    text = typed.format(code=code, lower=code.lower(), spaced=" ".join([code[:4], code[4:8], code[8:]]),
                        base="http://traceapp.test", gtin=codes["gtin"], lot=codes["lot"])
    response = client.get("/find", query_string={"code": text})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"] == f"/t/{code}"
    assert client.get(response.headers["Location"]).status_code == 200


def test_an_unknown_code_is_answered_beside_the_field_in_the_pages_language(demo, client):
    missing = "22222222222A2"
    with demo.app_context():
        assert db.session().scalar(select(Batch.id).where(Batch.code == missing)) is None
    response = client.get("/find", query_string={"code": missing.lower()})
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    error = re.search(r'<p class="field-error" id="code-error" role="alert">(.*?)</p>', page).group(1)
    assert "没有找到追溯码为 22222222222a2 的产品" in error
    assert f'value="{missing.lower()}"' in page and 'aria-invalid="true"' in page

    english = client.get("/find", query_string={"code": missing, "lang": "en"})
    assert english.status_code == 404
    assert "No product has the trace code 22222222222A2" in english.get_data(as_text=True)

    empty = client.get("/find", query_string={"code": "  ", "lang": "zh"})
    assert empty.status_code == 400 and "请填写追溯码" in empty.get_data(as_text=True)
    junk = client.get("/find", query_string={"code": "hello"}).get_data(as_text=True)
    assert "“hello”不是追溯码" in junk and "code" not in re.search(r'id="code-error"[^>]*>(.*?)</p>', junk).group(1)
    other = client.get("/find", query_string={"code": "https://example.com/products/12"})
    assert other.status_code == 400 and "不是追溯链接" in other.get_data(as_text=True)
    codes = _codes(demo)
    unknown_lot = client.get("/find", query_string={"code": f"http://traceapp.test/01/{codes['gtin']}/10/NOPE"})
    assert unknown_lot.status_code == 404 and "批号 NOPE" in unknown_lot.get_data(as_text=True)


def test_the_ledger_page_explains_the_checkpoint_the_key_and_the_tools(demo, client):
    page = client.get("/ledger/").get_data(as_text=True)
    with demo.app_context():
        size, _note = db.ledger().latest_checkpoint(db.session())
        key = db.ledger().verifier.encode()
    assert f'<dd id="ledger-size">{size}</dd>' in page and key in page
    assert 'href="/ledger/checkpoint"' in page and 'href="/ledger/key"' in page
    assert re.search(r'href="/ledger/entries\?(start=0&amp;limit=20|limit=20&amp;start=0)"', page)
    assert 'href="/ledger/proof/inclusion?seq=0"' in page and 'href="/ledger/proof/consistency?old=1"' in page
    assert client.get("/ledger/proof/inclusion?seq=0").status_code == 200
    assert "python -m traceapp.ledger.verify" in page and "flask --app traceapp ledger export" in page
    assert "Signed checkpoint" in client.get("/ledger/?lang=en").get_data(as_text=True)


def test_public_headers_carry_no_ledger_jargon(demo, client):
    codes = _codes(demo)
    for path in ("/", "/brands/", "/brands/yanling-huangtao", f"/t/{codes['plain']}", f"/t/{codes['recalled']}",
                 "/ledger/"):
        page = client.get(path).get_data(as_text=True)
        header = _header(page)
        assert "检查点" not in header and "账本" not in header and "/ledger/checkpoint" not in header, path
        assert 'href="/ledger/">核验与审计</a>' in page, path


def test_signed_in_staff_keep_a_link_to_their_workbench(demo, client):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    signed = client.post("/login", data={"csrf_token": token, "username": "luyuan", "password": PASSWORD})
    assert signed.status_code == 302
    front = client.get("/").get_data(as_text=True)
    assert re.search(r'<main>.*<a class="button" href="/home">进入工作台</a>', front, re.S)


def test_the_favicon_is_served(app, client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.data.lstrip().startswith(b"<svg") or b"<svg" in response.data[:200]


def test_a_warned_batch_says_its_proof_is_no_promise_of_safety(demo, client):
    codes = _codes(demo)
    recalled = client.get(f"/t/{codes['recalled']}").get_data(as_text=True)
    proof = re.search(r'<section id="ledger-proof"[^>]*>', recalled).group(0)
    assert 'class="proof under-warning"' in proof and "不表示产品可以放心食用" in proof
    assert recalled.index('id="recall-banner"') < recalled.index('id="ledger-proof"')
    plain = client.get(f"/t/{codes['plain']}").get_data(as_text=True)
    proof = re.search(r'<section id="ledger-proof"[^>]*>', plain).group(0)
    assert 'class="proof"' in proof and "记录未被篡改：本批次的登记已在签名账本第 {seq} 条中核验" in proof


def test_a_failed_inspection_or_a_frozen_code_is_warned_and_its_proof_is_neutral(demo, client):
    with demo.app_context():
        session = db.session()
        failed = session.scalar(select(Batch.code).join(Inspection, Inspection.batch_id == Batch.id)
                                .where(Inspection.verdict == "fail").order_by(Batch.id))
        frozen = session.scalar(select(Batch.code).join(CodeState, CodeState.batch_id == Batch.id)
                                .where(CodeState.state == "frozen"))
    page = client.get(f"/t/{failed}").get_data(as_text=True)
    assert 'id="inspection-warning"' in page and "检测不合格" in page
    assert page.index('id="inspection-warning"') < page.index('id="ledger-proof"')
    assert 'class="proof under-warning"' in page
    page = client.get(f"/t/{frozen}").get_data(as_text=True)
    assert page.index('id="code-state"') < page.index('id="ledger-proof"') and 'class="proof under-warning"' in page

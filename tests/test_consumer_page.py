"""The consumer page ``/t/<code>`` and ``/t/<code>.json`` on the demo data: what it shows, the recall
banner, a pooled batch's farms, friendly 404s, and the JSON proof checked here by an independent
RFC 6962 / C2SP implementation (hashlib, rfc8785, cryptography). SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tests.factories import make_inspection
from traceapp import db
from traceapp.auth.models import User
from traceapp.ledger.store import LedgerEntry
from traceapp.records.models import Batch, LabelPrint


def demo_batches(app) -> list[Batch]:
    with app.app_context():
        return list(db.session().scalars(select(Batch).options(selectinload(Batch.inputs)).order_by(Batch.id)))


def recalled_code(app) -> str:
    """The demo batch a regulator recalled (its ``batch.recalled`` entry)."""
    with app.app_context():
        subject = db.session().scalar(select(LedgerEntry.subject).where(LedgerEntry.kind == "batch.recalled"))
        return subject.removeprefix("batch:")


# -- an independent check of the proof: RFC 6962 / RFC 9162 and C2SP signed notes ------------------

def root_from_path(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.3.2, written out again here rather than imported from traceapp."""
    assert 0 <= index < size
    fn, sn, r = index, size - 1, leaf
    for p in path:
        assert sn != 0, "path too long"
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    assert sn == 0, "path too short"
    return r


def check_proof(proof: dict, verifier_key: str, code: str) -> int:
    """Check the proof the way the phone does; return the checkpoint's tree size."""
    name, key_id, blob = verifier_key.split("+", 2)
    raw = base64.b64decode(blob)
    assert raw[0] == 1 and len(raw) == 33
    text, signatures = proof["checkpoint"].split("\n\n", 1)
    text += "\n"
    origin, size, root = text.splitlines()[:3]
    assert origin == name
    line = next(s for s in signatures.splitlines() if s.startswith(f"\u2014 {name} "))
    sig = base64.b64decode(line.split(" ")[2])
    assert sig[:4].hex() == key_id == hashlib.sha256(name.encode() + b"\n\x01" + raw[1:]).digest()[:4].hex()
    Ed25519PublicKey.from_public_bytes(raw[1:]).verify(sig[4:], text.encode())  # raises when forged
    entry = proof["entry"]
    assert entry["seq"] == proof["seq"] and entry["subject"] == f"batch:{code}" and entry["kind"] == "batch.registered"
    leaf = hashlib.sha256(b"\x00" + rfc8785.dumps(entry)).digest()
    assert root_from_path(proof["seq"], int(size), leaf, [bytes.fromhex(h) for h in proof["proof"]]) == \
        base64.b64decode(root)
    return int(size)


def test_every_demo_batch_has_a_page_and_a_proof_that_verifies(demo):
    client = demo.test_client()
    key = client.get("/ledger/key").text
    for batch in demo_batches(demo):
        page = client.get(f"/t/{batch.code}")
        assert page.status_code == 200 and batch.code in page.text and batch.product in page.text
        assert 'id="ledger-proof"' in page.text and 'data-status="pending"' in page.text
        data = client.get(f"/t/{batch.code}.json").json
        assert (data["code"], data["product"], data["ledger_seq"]) == (batch.code, batch.product, batch.ledger_seq)
        size = check_proof(data["proof"], key, batch.code)
        assert size == int(client.get("/ledger/checkpoint").text.splitlines()[1])


def test_a_proof_with_one_changed_digit_fails_the_independent_check(demo):
    client = demo.test_client()
    key = client.get("/ledger/key").text
    batch = demo_batches(demo)[0]
    proof = client.get(f"/t/{batch.code}.json").json["proof"]
    bad_path = {**proof, "proof": [("0" if proof["proof"][0][0] != "0" else "1") + proof["proof"][0][1:],
                                   *proof["proof"][1:]]}
    bad_entry = {**proof, "entry": {**proof["entry"], "data": {**proof["entry"]["data"], "quantity": "1"}}}
    for tampered in (bad_path, bad_entry):
        with pytest.raises(AssertionError):
            check_proof(tampered, key, batch.code)


def test_the_page_shows_facts_brand_licence_inspections_and_certificates(demo):
    client = demo.test_client()
    branded = next(b for b in demo_batches(demo) if b.brand == "yanling-huangtao")
    page = client.get(f"/t/{branded.code}").text
    assert 'href="/brands/yanling-huangtao"' in page and "炎陵黄桃" in page
    assert "采收时有效" in page and "示范" in page and "演示数据" in page
    assert 'id="inspections"' in page and 'id="compliance-certificates"' in page
    data = client.get(f"/t/{branded.code}.json").json
    assert data["claim"]["license"]["valid_at_harvest"] is True
    assert {"producer", "inspections", "certifications", "compliance_certificates", "corrections", "sources",
            "recall", "origin_name", "harvest_date", "base"} <= set(data)
    english = client.get(f"/t/{branded.code}?lang=en").text
    assert "valid at harvest" in english and "Trace code" in english


def test_a_recalled_batch_shows_the_banner_and_others_do_not(demo):
    client = demo.test_client()
    code = recalled_code(demo)
    page = client.get(f"/t/{code}").text
    assert 'id="recall-banner"' in page and "抽检农药残留超标" in page
    assert client.get(f"/t/{code}.json").json["recall"]["reason"] == "抽检农药残留超标"
    for batch in demo_batches(demo):
        if batch.code != code:
            assert 'id="recall-banner"' not in client.get(f"/t/{batch.code}").text, batch.code


def test_a_pooled_batch_lists_the_farms_it_came_from(demo):
    client = demo.test_client()
    pooled = next(b for b in demo_batches(demo) if len(b.inputs) >= 2)
    data = client.get(f"/t/{pooled.code}.json").json
    assert sorted(s["code"] for s in data["sources"]) == sorted(i.source.code for i in pooled.inputs)
    page = client.get(f"/t/{pooled.code}").text
    for source in data["sources"]:
        assert f'href="/t/{source["code"]}"' in page and source["producer"] in page
    processed = next(b for b in demo_batches(demo) if len(b.inputs) == 1)
    assert client.get(f"/t/{processed.code}.json").json["sources"][0]["product"] == "茶鲜叶"


def test_codes_are_read_in_any_case_and_unknown_or_malformed_ones_get_a_friendly_404(demo):
    client = demo.test_client()
    code = demo_batches(demo)[0].code
    assert client.get(f"/t/{code.lower()}").status_code == 200
    assert client.get(f"/t/{code.lower()}.json").json["code"] == code
    near = code[:-1] + ("A" if code[-1] != "A" else "B")
    for bad in (near, "0", "x" * 500, "%E7%BB%BF%E8%8C%B6", "..%2F..%2Fetc", "A B", "<script>"):
        page = client.get(f"/t/{bad}")
        assert page.status_code == 404, bad
        assert "没有找到这个追溯码" in page.text and code not in page.text
        data = client.get(f"/t/{bad}.json")
        assert data.status_code == 404 and data.json["error"]["code"] == "not_found"
    english = client.get(f"/t/{near}.json", headers={"Accept-Language": "en"}).json
    assert english["error"]["message"].startswith("No product has this trace code")


def test_a_url_written_in_capitals_is_sent_to_the_page(demo):
    """Label software may re-encode the whole URL in capitals for a smaller QR code."""
    client = demo.test_client()
    code = demo_batches(demo)[0].code
    for path, target in ((f"/T/{code}", f"/t/{code}"), (f"/T/{code}.JSON", f"/t/{code}.json"),
                         (f"/t/{code}.JSON", f"/t/{code}.json"), (f"/t/{code}.Json", f"/t/{code}.json"),
                         (f"/T/{code.lower()}", f"/t/{code.lower()}")):
        moved = client.get(path)
        assert (moved.status_code, moved.headers["Location"]) == (301, target), path
        assert client.get(target).status_code == 200
    followed = client.get(f"/T/{code}.JSON", follow_redirects=True)
    assert followed.status_code == 200 and followed.json["code"] == code
    assert client.get("/T/ZZZZZZZZZZZZZ", follow_redirects=True).status_code == 404


def test_the_page_follows_the_ledger_at_once(demo):
    """A new inspection shows on the next view."""
    client = demo.test_client()
    batch = demo_batches(demo)[0]
    before = client.get(f"/t/{batch.code}").text
    assert "ZZJC-2099-0001" not in before
    with demo.app_context(), db.write_session() as s:
        inspector = s.scalar(select(User).where(User.username == "inspector"))
        make_inspection(s, inspector, batch, report_no="ZZJC-2099-0001")
    assert "ZZJC-2099-0001" in client.get(f"/t/{batch.code}").text
    assert re.search(r'data-code="' + batch.code, client.get(f"/t/{batch.code}").text)


def test_each_clients_scan_is_counted_and_many_clients_are_called_unusual_never_fake(demo):
    demo.config.update(SCAN_ALERT_CLIENTS=4)
    client = demo.test_client()
    with demo.app_context():  # the demo batch whose labels were printed: its scans count
        code = db.session().scalar(select(Batch.code).join(LabelPrint, LabelPrint.batch_id == Batch.id).limit(1))

    def scan(n: int, **headers) -> dict:
        return client.post(f"/t/{code}/scans", environ_base={"REMOTE_ADDR": f"198.51.100.{n}"}, headers=headers).json

    for n in (1, 2, 3):
        answer = scan(n)
        assert answer["count"] == n and answer["first_scan"] and answer["notice"] is None
    client.get(f"/t/{code}", environ_base={"REMOTE_ADDR": "198.51.100.4"})  # the page itself: not a scan
    client.get(f"/t/{code}.json", environ_base={"REMOTE_ADDR": "198.51.100.4"})
    assert scan(3)["count"] == 3
    answer = scan(4)
    assert answer["count"] == 4 and answer["notice"] == "存在异常查询记录，建议核对购买渠道。"
    english = scan(5, **{"Accept-Language": "en"})["notice"]
    assert english.isascii() and "fake" not in english.lower()


def test_a_frozen_or_void_code_says_so(demo):
    from traceapp.records.code_states import freeze_code, void_code

    client = demo.test_client()
    first, second = demo_batches(demo)[:2]
    with demo.app_context(), db.write_session() as s:
        regulator = s.scalar(select(User).where(User.username == "regulator"))
        freeze_code(s, s.get(Batch, first.id), {"reason": "包装印刷批次核查中"}, user=regulator)
        void_code(s, s.get(Batch, second.id), {"reason": "标签印错，已销毁"}, user=regulator)
    frozen = client.get(f"/t/{first.code}").text
    assert 'id="code-state"' in frozen and "冻结" in frozen and "包装印刷批次核查中" in frozen
    void = client.get(f"/t/{second.code}").text
    assert 'id="code-state"' in void and "作废" in void and "标签印错，已销毁" in void
    assert client.get(f"/t/{first.code}.json").json["code_state"]["state"] == "frozen"
    assert 'id="code-state"' not in client.get(f"/t/{demo_batches(demo)[2].code}").text


def test_scanning_is_rate_limited_per_client(demo):
    demo.config.update(SCAN_RATE_LIMIT=5, SCAN_RATE_WINDOW=60)
    code = demo_batches(demo)[0].code
    client = demo.test_client()
    for _ in range(5):
        assert client.get(f"/t/{code}").status_code == 200
    refused = client.get(f"/t/{code}")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert client.get(f"/t/{code}.json").status_code == 429
    other = demo.test_client()
    assert other.get(f"/t/{code}", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200

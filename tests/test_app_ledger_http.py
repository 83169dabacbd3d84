"""The ledger endpoints of DESIGN.md part 1, driven over HTTP, and audited by the
independent implementation in ../shared/tools/ledger-audit."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import shared_file
from traceapp import db
from traceapp.ledger import tree
from traceapp.ledger.note import Checkpoint, Verifier, open_checkpoint


@pytest.fixture
def seeded(demo):
    return demo


def test_key_and_checkpoint_are_c2sp_text_and_verify(seeded, client):
    key = client.get("/ledger/key")
    assert key.status_code == 200 and key.mimetype == "text/plain"
    verifier = Verifier.parse(key.get_data(as_text=True))
    assert verifier.name == "traceapp.test/ledger"  # host of TRACEAPP_PUBLIC_URL + /ledger
    note = client.get("/ledger/checkpoint")
    assert note.mimetype == "text/plain"
    checkpoint = open_checkpoint(note.get_data(as_text=True), verifier)
    assert checkpoint.size >= 24


def test_entries_are_json_lines_that_chain_and_hash_to_the_signed_root(seeded, client):
    verifier = Verifier.parse(client.get("/ledger/key").get_data(as_text=True))
    checkpoint = open_checkpoint(client.get("/ledger/checkpoint").get_data(as_text=True), verifier)
    lines = client.get(f"/ledger/entries?start=0&limit={checkpoint.size}").get_data(as_text=True).splitlines()
    assert len(lines) == checkpoint.size
    import rfc8785

    prev, edge = "0" * 64, tree.CompactRange()
    for n, line in enumerate(lines):
        row = json.loads(line)
        assert set(row) == {"seq", "entry", "hash"} and row["seq"] == n == row["entry"]["seq"]
        assert set(row["entry"]) == {"seq", "ts", "kind", "actor", "subject", "data", "prev"}
        raw = rfc8785.dumps(row["entry"])
        assert row["entry"]["prev"] == prev
        prev = row["hash"]
        import hashlib

        assert hashlib.sha256(raw).hexdigest() == row["hash"]
        edge.append(tree.leaf_hash(raw))
    assert edge.root() == checkpoint.root


def test_inclusion_and_consistency_proofs_verify_against_the_checkpoint(seeded, client):
    verifier = Verifier.parse(client.get("/ledger/key").get_data(as_text=True))
    checkpoint = open_checkpoint(client.get("/ledger/checkpoint").get_data(as_text=True), verifier)
    size = checkpoint.size
    for seq in (0, 5, size - 1):
        proof = client.get(f"/ledger/proof/inclusion?seq={seq}&size={size}").get_json()
        assert set(proof) == {"seq", "size", "leaf_hash", "proof"}
        assert tree.verify_inclusion(seq, size, bytes.fromhex(proof["leaf_hash"]),
                                     [bytes.fromhex(h) for h in proof["proof"]], checkpoint.root)
    with seeded.app_context():
        old_root = db.ledger().tree_hash(db.session(), 7)
    proof = client.get(f"/ledger/proof/consistency?old=7&new={size}").get_json()
    assert (proof["old"], proof["new"]) == (7, size)
    assert tree.verify_consistency(7, size, old_root, checkpoint.root, [bytes.fromhex(h) for h in proof["proof"]])


@pytest.mark.parametrize("url,field", [
    ("/ledger/proof/inclusion?seq=abc", "seq"),
    ("/ledger/proof/inclusion?seq=-1", "seq"),
    ("/ledger/proof/inclusion?seq=1&size=99999", "size"),
    ("/ledger/proof/inclusion?seq=40&size=30", "seq"),
    ("/ledger/proof/inclusion", "seq"),
    ("/ledger/proof/consistency?old=0&new=5", "old"),
    ("/ledger/proof/consistency?old=9&new=5", "old"),
    ("/ledger/proof/consistency?old=1&new=1e3", "new"),
    ("/ledger/entries?start=-5", "start"),
    ("/ledger/entries?start=999999", "start"),
    ("/ledger/entries?limit=0", "limit"),
    ("/ledger/entries?limit=100000", "limit"),
    ("/ledger/entries?start=%EF%BC%91", "start"),
])
def test_bad_parameters_get_a_4xx_json_error_naming_the_field(seeded, client, url, field):
    response = client.get(url)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_field" and field in error["fields"] and field in error["message"]


def test_errors_come_in_english_when_asked(seeded, client):
    response = client.get("/ledger/proof/inclusion?seq=x", headers={"Accept-Language": "en"})
    assert response.get_json()["error"]["message"] == "Entry sequence number (seq) must be a whole number; got “x”."
    response = client.get("/ledger/proof/inclusion?seq=x")
    assert "必须是整数" in response.get_json()["error"]["message"]


def test_the_empty_ledger_has_a_signed_checkpoint_of_size_zero(app, client):
    verifier = Verifier.parse(client.get("/ledger/key").get_data(as_text=True))
    checkpoint = open_checkpoint(client.get("/ledger/checkpoint").get_data(as_text=True), verifier)
    assert checkpoint == Checkpoint(verifier.name, 0, base64.b64decode("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="))
    assert client.get("/ledger/entries").get_data() == b""


def test_home_page_is_chinese_first_with_english_available(seeded, client):
    page = client.get("/").get_data(as_text=True)
    assert "农产品追溯与区域品牌登记" in page and 'lang="zh-CN"' in page
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "Agricultural traceability" in page
    assert client.get("/nowhere").status_code == 404


def test_the_independent_ledger_audit_tool_accepts_a_live_server(seeded):
    tool = shared_file("tools", "ledger-audit")
    server = make_server("127.0.0.1", 0, seeded, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        out = subprocess.run([sys.executable, str(tool), f"http://127.0.0.1:{server.server_port}"],
                             capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
        thread.join()
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().endswith("OK")

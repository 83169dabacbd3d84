"""The audit bundle and the offline verifier ``python -m traceapp.ledger.verify``."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_ORIGIN, TEST_SEED
from traceapp.ledger import tree
from traceapp.ledger.bundle import write_bundle
from traceapp.ledger.encoding import GENESIS_PREV, entry_bytes, make_entry
from traceapp.ledger.note import Signer, sign_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SIGNER = Signer.from_seed(TEST_ORIGIN, TEST_SEED)


def make_log(entries: int, every: int = 3) -> tuple[list[tuple[int, bytes, str]], list[tuple[int, str]]]:
    """Entries and checkpoints as the store would hold them, built without a database."""
    rows, checkpoints, prev, edge = [], [(0, sign_checkpoint(SIGNER, 0, tree.EMPTY_ROOT))], GENESIS_PREV, \
        tree.CompactRange()
    for seq in range(entries):
        body = entry_bytes(make_entry(seq, prev, "batch.registered", {"user": "u", "org": None},
                                      f"batch:{seq}", {"n": seq, "名": "炎陵黄桃"},
                                      ts="2026-11-23T00:00:00.000Z"))
        prev = hashlib.sha256(body).hexdigest()
        rows.append((seq, body, prev))
        edge.append(tree.leaf_hash(body))
        if (seq + 1) % every == 0 or seq + 1 == entries:
            checkpoints.append((seq + 1, sign_checkpoint(SIGNER, seq + 1, edge.root())))
    return rows, checkpoints


def make_bundle(tmp_path: Path, entries: int = 10, name: str = "bundle.jsonl") -> Path:
    rows, checkpoints = make_log(entries)
    path = tmp_path / name
    write_bundle(str(path), SIGNER.verifier, checkpoints, rows, entries)
    return path


def run_verifier(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "traceapp.ledger.verify", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def checkpoint_file(tmp_path: Path, size: int, root: bytes | None = None, signer: Signer = SIGNER) -> Path:
    rows, _ = make_log(size)
    edge = tree.CompactRange()
    for _, body, _ in rows:
        edge.append(tree.leaf_hash(body))
    path = tmp_path / f"checkpoint-{size}.txt"
    path.write_text(sign_checkpoint(signer, size, root or edge.root()))
    return path


def test_an_intact_bundle_verifies(tmp_path):
    out = run_verifier(str(make_bundle(tmp_path, 10)))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "10 entries" in out.stdout


def test_a_gzipped_bundle_verifies(tmp_path):
    out = run_verifier(str(make_bundle(tmp_path, 7, "bundle.jsonl.gz")))
    assert out.returncode == 0, out.stdout + out.stderr
    with gzip.open(tmp_path / "bundle.jsonl.gz", "rt") as f:
        assert json.loads(f.readline())["type"] == "header"


def test_an_altered_entry_in_a_bundle_fails_naming_its_seq(tmp_path):
    path = make_bundle(tmp_path, 10)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    idx = next(i for i, line in enumerate(lines) if '"seq":6,' in line and '"type":"entry"' in line)
    lines[idx] = lines[idx].replace('"n":6', '"n":66')
    path.write_text("".join(lines), encoding="utf-8")
    out = run_verifier(str(path))
    assert out.returncode == 1
    assert "seq 6: altered entry" in out.stdout


def test_a_saved_checkpoint_is_proven_consistent(tmp_path):
    out = run_verifier(str(make_bundle(tmp_path, 10)), "--checkpoint", str(checkpoint_file(tmp_path, 4)))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "size 4 is consistent" in out.stdout


def test_a_saved_checkpoint_of_a_rewritten_log_is_refused(tmp_path):
    forged = checkpoint_file(tmp_path, 4, root=b"\x07" * 32)
    out = run_verifier(str(make_bundle(tmp_path, 10)), "--checkpoint", str(forged))
    assert out.returncode == 1
    assert "rewritten" in out.stdout


def test_a_saved_checkpoint_larger_than_the_bundle_is_refused(tmp_path):
    out = run_verifier(str(make_bundle(tmp_path, 5)), "--checkpoint", str(checkpoint_file(tmp_path, 8)))
    assert out.returncode == 1 and "truncated" in out.stdout


def test_a_bundle_signed_by_another_key_fails_with_the_trusted_key(tmp_path):
    key = tmp_path / "key.txt"
    key.write_text(Signer.from_seed(TEST_ORIGIN, bytes([9]) * 32).verifier.encode() + "\n")
    out = run_verifier(str(make_bundle(tmp_path, 5)), "--key", str(key))
    assert out.returncode == 1
    assert "bad checkpoint signature" in out.stdout


@pytest.mark.parametrize("content", ["", "not json\n", '{"format": "other"}\n'])
def test_a_file_that_is_not_a_bundle_is_an_error(tmp_path, content):
    path = tmp_path / "junk.jsonl"
    path.write_text(content)
    out = run_verifier(str(path))
    assert out.returncode == 2 and "error:" in out.stderr

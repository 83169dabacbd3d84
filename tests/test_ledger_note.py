"""C2SP signed notes, verifier keys and checkpoints against the published vectors."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import shared_file
from traceapp.ledger.note import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    open_checkpoint,
    open_note,
    sign_checkpoint,
)


def _vectors() -> dict:
    return json.loads(shared_file("vectors", "signed_note.json").read_text())


def signer_from_go_skey(skey: str) -> Signer:
    """Parse Go's PRIVATE+KEY+name+id+base64(0x01||seed) form (test vectors only)."""
    _, _, name, _, blob = skey.split("+", 4)
    return Signer.from_seed(name, base64.b64decode(blob)[1:])


def test_published_notes_open_or_fail_as_expected():
    cases = _vectors()["vectors"]
    assert len(cases) >= 10
    for case in cases:
        verifiers = [Verifier.parse(k) for k in case["vkeys"]]
        if case["expect"]["valid"]:
            text, verified = open_note(case["signed_note"], verifiers)
            assert [f"{v.name}+{v.key_id.hex()}" for v in verified] == case["expect"]["verified"], case["id"]
            assert case["signed_note"].startswith(text)
        else:
            with pytest.raises(NoteError):
                open_note(case["signed_note"], verifiers)


def test_signing_reproduces_the_published_signature_byte_for_byte():
    case = next(c for c in _vectors()["vectors"] if c["id"] == "go-peter-sign")
    signer = signer_from_go_skey(case["skey"])
    assert signer.verifier.encode() == case["vkeys"][0]
    assert signer.sign(case["text"]) == case["signed_note"]


def test_published_verifier_keys_parse_and_round_trip():
    for key in _vectors()["vkeys"]:
        if key["vkey"].split("+")[2].startswith("A"):  # type 0x01: Ed25519
            assert Verifier.parse(key["vkey"]).encode() == key["vkey"]
        if "skey" in key and key["vkey"].split("+")[2].startswith("A"):
            assert signer_from_go_skey(key["skey"]).verifier.encode() == key["vkey"]


def test_published_checkpoint_opens_with_the_log_key():
    derived = _vectors()["derived"]
    checkpoint = open_checkpoint(derived["checkpoint"], Verifier.parse(derived["log_vkey"]))
    expect = derived["checkpoint_expect"]
    assert (checkpoint.origin, checkpoint.size, checkpoint.root.hex()) == (
        expect["origin"], expect["size"], expect["root_hex"])


def test_a_signed_checkpoint_has_the_c2sp_layout():
    signer = Signer.from_seed("example.org/ledger", bytes(32))
    note = sign_checkpoint(signer, 5, b"\x11" * 32)
    text, sig_line = note.split("\n\n")
    assert text == "example.org/ledger\n5\n" + base64.b64encode(b"\x11" * 32).decode()
    assert sig_line.startswith("\u2014 example.org/ledger ") and sig_line.endswith("\n")
    raw = base64.b64decode(sig_line.split(" ")[2])
    assert raw[:4] == signer.verifier.key_id and len(raw) == 68
    assert open_checkpoint(note, signer.verifier) == Checkpoint("example.org/ledger", 5, b"\x11" * 32)


def test_a_checkpoint_with_a_flipped_signature_bit_or_another_key_is_refused():
    signer = Signer.from_seed("example.org/ledger", bytes(32))
    other = Signer.from_seed("example.org/ledger", bytes([1]) * 32)
    note = sign_checkpoint(signer, 5, b"\x11" * 32)
    text, line = note.split("\n\n")
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[10] ^= 1
    tampered = text + "\n\n\u2014 example.org/ledger " + base64.b64encode(bytes(raw)).decode() + "\n"
    with pytest.raises(NoteError, match="invalid signature"):
        open_checkpoint(tampered, signer.verifier)
    with pytest.raises(NoteError, match="no signature by a known key"):
        open_checkpoint(note, other.verifier)


@pytest.mark.parametrize("text", ["o\n5\n", "o\n05\nAAAA\n", "o\nx\n" + base64.b64encode(bytes(32)).decode() + "\n",
                                  "o\n1\n" + base64.b64encode(bytes(31)).decode() + "\n", "\n1\nAA==\n"])
def test_malformed_checkpoints_are_refused(text):
    with pytest.raises(NoteError):
        Checkpoint.parse(text)


@pytest.mark.parametrize("key", ["nobody", "a+b", "a+0000+AAAA", "a+zzzzzzzz+AQ==",
                                 "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"])
def test_malformed_verifier_keys_are_refused(key):
    with pytest.raises(NoteError):
        Verifier.parse(key)

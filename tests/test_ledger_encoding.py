"""Entries and their RFC 8785 bytes."""

from __future__ import annotations

import json
import re

import pytest
import rfc8785

from traceapp.ledger.encoding import GENESIS_PREV, EntryError, entry_bytes, format_ts, make_entry

ACTOR = {"user": "li", "org": "org:2"}


def test_entry_bytes_are_rfc8785_with_sorted_keys_and_no_whitespace():
    entry = make_entry(0, GENESIS_PREV, "batch.registered", ACTOR, "batch:ABC", {"z": "1", "a": ["黄桃", 2]})
    raw = entry_bytes(entry)
    assert raw == rfc8785.dumps(json.loads(raw))
    assert raw.startswith(b'{"actor":{"org":"org:2","user":"li"},"data":{"a":["\xe9\xbb\x84\xe6\xa1\x83",2],"z":"1"}')
    assert list(json.loads(raw)) == ["actor", "data", "kind", "prev", "seq", "subject", "ts"]


def test_floats_are_refused_with_the_path_named():
    with pytest.raises(EntryError, match=r"data\.items\[0\]\.qty: floats are not allowed"):
        make_entry(0, GENESIS_PREV, "batch.registered", ACTOR, "batch:A", {"items": [{"qty": 1.5}]})


def test_free_text_is_normalized_to_nfc():
    decomposed = "cafe\u0301"
    entry = make_entry(0, GENESIS_PREV, "org.registered", ACTOR, "org:1", {"name": decomposed})
    assert entry["data"]["name"] == "caf\u00e9"


@pytest.mark.parametrize("kind", ["batch", "Batch.registered", "batch..x", "batch.registered!"])
def test_kinds_must_be_dotted_lower_case_names(kind):
    with pytest.raises(EntryError):
        make_entry(0, GENESIS_PREV, kind, ACTOR, "batch:A", {})


def test_integers_outside_the_ijson_range_are_refused():
    with pytest.raises(EntryError, match="I-JSON"):
        make_entry(0, GENESIS_PREV, "batch.registered", ACTOR, "batch:A", {"n": 2**60})


def test_timestamps_are_utc_rfc3339_with_z():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", format_ts())

"""Ledger entries and their canonical bytes.

An entry is the JSON object ``{"seq", "ts", "kind", "actor", "subject", "data", "prev"}``.
Its bytes are the RFC 8785 (JSON Canonicalization Scheme) serialization, UTF-8; the chain
hash of an entry is SHA-256 of those bytes, and ``prev`` is the previous entry's chain hash
in hex (64 zeros for entry 0).

Entries carry no floats: quantities are decimal strings and dates ISO strings, so every
implementation of RFC 8785 produces the same bytes. Strings are normalized to Unicode NFC
before hashing so that the same text typed on two devices hashes alike.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

import rfc8785

GENESIS_PREV = "0" * 64
ENTRY_FIELDS = ("seq", "ts", "kind", "actor", "subject", "data", "prev")
_KIND = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_MAX_SAFE_INT = 2**53 - 1  # RFC 8785 s3.2.2.3: integers beyond this lose precision in I-JSON


class EntryError(ValueError):
    """Raised for an entry that cannot go into the ledger (floats, bad kind, bad fields)."""


def normalize(value: Any, path: str = "data") -> Any:
    """Return ``value`` as ledger JSON: NFC strings, str keys, ints in the I-JSON range.

    Raises EntryError naming the path of a float, an out-of-range int or a non-JSON type.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE_INT:
            raise EntryError(f"{path}: integer {value} is outside the I-JSON range; use a string")
        return value
    if isinstance(value, float):
        raise EntryError(f"{path}: floats are not allowed in the ledger; use a decimal string")
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise EntryError(f"{path}: object keys must be strings")
            nkey = unicodedata.normalize("NFC", key)
            out[nkey] = normalize(item, f"{path}.{nkey}")
        return out
    if isinstance(value, (list, tuple)):
        return [normalize(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise EntryError(f"{path}: {type(value).__name__} is not a JSON value")


def format_ts(moment: datetime | None = None) -> str:
    """Return ``moment`` (default: now) as UTC RFC 3339 with milliseconds and a ``Z``."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def make_entry(seq: int, prev: str, kind: str, actor: dict, subject: str, data: dict,
               ts: str | None = None) -> dict:
    """Return a normalized entry object; raises EntryError when a field is not acceptable."""
    if not _KIND.fullmatch(kind):
        raise EntryError(f"kind {kind!r} is not a dotted lower-case event name")
    if not isinstance(actor, dict) or not isinstance(data, dict):
        raise EntryError("actor and data must be JSON objects")
    if not isinstance(subject, str) or not subject:
        raise EntryError("subject must be a non-empty string such as 'batch:<code>'")
    return {
        "seq": seq,
        "ts": ts or format_ts(),
        "kind": kind,
        "actor": normalize(actor, "actor"),
        "subject": normalize(subject, "subject"),
        "data": normalize(data),
        "prev": prev,
    }


def entry_bytes(entry: dict) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of an entry object."""
    try:
        return rfc8785.dumps(entry)
    except rfc8785.CanonicalizationError as exc:
        raise EntryError(str(exc)) from exc


def chain_hash(data: bytes) -> bytes:
    """Return the chain hash of entry bytes: SHA-256(bytes)."""
    return hashlib.sha256(data).digest()

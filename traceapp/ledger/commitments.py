"""Commitments to personal data: a field's value in an entry is replaced by a hash that binds it.

A personal field of an entry's ``data`` holds ``{"commitment": "<64 lower-case hex>"}``, where
the commitment is SHA-256( salt ‖ RFC 8785 bytes of the value ) and the salt is 32 random
bytes drawn for that field of that entry. The salt and the value are kept off the ledger (a
"reveal"): with both, anyone can recompute the commitment; without the salt, a short value
such as a phone number cannot be found by trying every candidate. Erasing the reveal leaves
the entry's bytes, its chain hash and the RFC 6962 tree unchanged.

A field path names a key of ``data``, with dots for nested objects (``contact``).

Pure: the standard library and ``rfc8785`` only, so the offline verifier can check reveals.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import rfc8785

from traceapp.ledger.encoding import normalize

SALT_SIZE = 32
_HEX64 = re.compile(r"[0-9a-f]{64}")
#: What a reveals file (``ledger export --personal-data``) says on its first line.
REVEALS_FORMAT = "traceapp-personal-data/1"


def commitment(salt: bytes, value: Any) -> str:
    """Return the hex commitment to ``value`` under ``salt`` (the value NFC-normalized as entries are)."""
    return hashlib.sha256(salt + rfc8785.dumps(normalize(value))).hexdigest()


def is_commitment(value: Any) -> bool:
    """Return whether a field's value in an entry is a commitment object."""
    return (isinstance(value, dict) and len(value) == 1 and isinstance(value.get("commitment"), str)
            and _HEX64.fullmatch(value["commitment"]) is not None)


def get_path(data: dict, path: str) -> Any:
    """Return the value at a dotted path of ``data`` (None when a step is missing)."""
    value: Any = data
    for step in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def _set_path(data: dict, path: str, value: Any) -> None:
    steps = path.split(".")
    for step in steps[:-1]:
        data = data[step]
    data[steps[-1]] = value


@dataclass(frozen=True)
class Sealed:
    """A field taken out of an entry: its path, the salt drawn for it and its clear value."""

    path: str
    salt: bytes
    value: Any


def seal(data: dict, paths: Iterable[str], salt=lambda: os.urandom(SALT_SIZE)) -> tuple[dict, list[Sealed]]:
    """Return a copy of ``data`` with each of ``paths`` replaced by a commitment, and what was sealed.

    A missing, None or empty-string field stays as it is: it reaches no one, and has nothing to erase.
    """
    paths = tuple(paths)
    out = copy.deepcopy(data) if any("." in p for p in paths) else dict(data)
    sealed = []
    for path in paths:
        value = get_path(out, path)
        if value is None or value == "":
            continue
        value = normalize(value)
        drawn = salt()
        _set_path(out, path, {"commitment": commitment(drawn, value)})
        sealed.append(Sealed(path, drawn, value))
    return out, sealed


def commitments_in(data: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Yield (path, commitment hex) for every commitment object anywhere in ``data``."""
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        path = f"{prefix}{key}"
        if is_commitment(value):
            yield path, value["commitment"]
        elif isinstance(value, dict):
            yield from commitments_in(value, path + ".")


class RevealMismatch(ValueError):
    """A reveal that does not recompute to its entry's commitment: the entry, the field and why."""

    def __init__(self, seq: int, path: str, reason: str):
        super().__init__(f"seq {seq}: personal data field {path}: {reason}")
        self.seq = seq
        self.path = path
        self.reason = reason


def check_reveal(seq: int, data: dict, path: str, reveal: dict) -> None:
    """Check one reveal (``{"value", "salt": hex}`` or ``{"erased": seq}``) against entry ``seq``'s ``data``.

    An erased reveal is accepted here; whether an erasure entry covers it is the caller's check.
    Raises RevealMismatch naming the entry and the field.
    """
    held = get_path(data, path)
    if not is_commitment(held):
        raise RevealMismatch(seq, path, "the entry holds no commitment at this field")
    if "erased" in reveal:
        return
    try:
        salt = bytes.fromhex(reveal["salt"])
    except (KeyError, TypeError, ValueError):
        raise RevealMismatch(seq, path, "the reveal has no valid hex salt") from None
    if len(salt) != SALT_SIZE:
        raise RevealMismatch(seq, path, f"the salt is {len(salt)} bytes, not {SALT_SIZE}")
    if "value" not in reveal:
        raise RevealMismatch(seq, path, "the reveal has no value")
    if commitment(salt, reveal["value"]) != held["commitment"]:
        raise RevealMismatch(seq, path, "the revealed value and salt do not recompute to the entry's commitment")


def reveal_json(salt: bytes | None, value: Any, erased_seq: int | None) -> dict:
    """Return one field's reveal as the API and the reveals file give it."""
    if erased_seq is not None:
        return {"erased": erased_seq}
    return {"value": value, "salt": salt.hex()}


# --- the reveals file (``ledger export --personal-data FILE``) ---------------------------------

ERASURE_KIND = "personal_data.erased"


def write_reveals(path: str, origin: str, size: int, reveals: Iterable[tuple[int, str, dict]]) -> int:
    """Write a reveals file (JSON lines: a header, then one line per field) and return how many fields.

    Kept apart from the audit bundle, which carries commitments only: whoever holds this file holds
    the personal data.
    """
    count = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps({"type": "header", "format": REVEALS_FORMAT, "origin": origin, "size": size},
                           ensure_ascii=False) + "\n")
        for seq, field_path, reveal in reveals:
            f.write(json.dumps({"type": "reveal", "seq": seq, "path": field_path, **reveal}, ensure_ascii=False)
                    + "\n")
            count += 1
    return count


def read_reveals(path: str) -> tuple[str, dict[tuple[int, str], dict]]:
    """Return (origin, reveals by (seq, path)) of a reveals file; raises ValueError for another file."""
    found: dict[tuple[int, str], dict] = {}
    with open(path, encoding="utf-8") as f:
        header = json.loads(f.readline() or "null")
        if not isinstance(header, dict) or header.get("format") != REVEALS_FORMAT:
            raise ValueError(f"{path} is not a {REVEALS_FORMAT} file")
        for lineno, line in enumerate(f, 2):
            item = json.loads(line)
            if not isinstance(item, dict) or item.get("type") != "reveal":
                raise ValueError(f"{path} line {lineno}: expected a reveal line")
            found[(int(item["seq"]), str(item["path"]))] = item
    return str(header.get("origin")), found


def check_reveals(entries: Iterable[tuple[int, bytes, str]], reveals: dict[tuple[int, str], dict]) -> tuple[int, int]:
    """Check every commitment in ``entries`` (seq, bytes, hash) against ``reveals``; return (checked, erased).

    A commitment needs a reveal; an erased reveal needs a ``personal_data.erased`` entry naming the
    field, and that entry's seq. Raises RevealMismatch naming the entry and the field.
    """
    pending = dict(reveals)
    erased_by: dict[tuple[int, str], int] = {}
    said_erased: dict[tuple[int, str], object] = {}
    checked = 0
    for seq, body, _hash in entries:
        entry = json.loads(body)
        data = entry.get("data") or {}
        if entry.get("kind") == ERASURE_KIND:
            for item in data.get("fields", []):
                erased_by[(item.get("seq"), item.get("path"))] = seq
        for field_path, _value in commitments_in(data):
            reveal = pending.pop((seq, field_path), None)
            if reveal is None:
                raise RevealMismatch(seq, field_path, "the reveals file has no reveal for this commitment")
            check_reveal(seq, data, field_path, reveal)
            if "erased" in reveal:
                said_erased[(seq, field_path)] = reveal["erased"]
            else:
                checked += 1
    for (seq, field_path) in pending:
        raise RevealMismatch(seq, field_path, "a reveal for an entry that holds no commitment there")
    for (seq, field_path), by in sorted(said_erased.items()):
        if erased_by.get((seq, field_path)) != by:
            raise RevealMismatch(seq, field_path, f"said erased by entry {by}, which is no personal_data.erased "
                                                  "entry naming this field")
    erased = len(said_erased)
    return checked, erased

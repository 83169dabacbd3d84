"""The audit bundle: one JSON-lines file (gzip when the name ends in .gz) holding the
verifier key, every signed checkpoint and every entry with its chain hash.

Lines, in this order::

    {"type":"header","format":"traceapp-ledger-bundle/1","origin":…,"key":"<verifier key>","size":N,"checkpoints":K}
    {"type":"checkpoint","size":S,"note":"<signed checkpoint note>"}      (K lines, by size)
    {"type":"entry","seq":N,"hash":"<hex>","entry":<the entry object>}    (N lines, by seq)

The entry object is written as its stored RFC 8785 bytes, verbatim; a reader re-encodes it
with RFC 8785 and so also proves those bytes canonical.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

import rfc8785

from traceapp.ledger.note import NoteError, Verifier

FORMAT = "traceapp-ledger-bundle/1"


class BundleError(ValueError):
    """Raised for a bundle that cannot be read: bad JSON, missing header, wrong order."""


def _open(path: str, mode: str) -> IO[bytes]:
    return gzip.open(path, mode) if path.endswith(".gz") else open(path, mode)  # noqa: SIM115


def write_bundle(path: str, verifier: Verifier, checkpoints: list[tuple[int, str]],
                 entries: Iterable[tuple[int, bytes, str]], size: int) -> int:
    """Write a bundle and return the number of entries written."""
    count = 0
    with _open(path, "wb") as f:
        for line in bundle_lines(verifier, checkpoints, entries, size):
            f.write(line)
            count += line.startswith(b'{"type":"entry"')
    return count


def bundle_lines(verifier: Verifier, checkpoints: list[tuple[int, str]],
                 entries: Iterable[tuple[int, bytes, str]], size: int) -> Iterator[bytes]:
    """Yield the bundle's lines (each ending in a newline), header first, for writers that stream."""
    header = {"type": "header", "format": FORMAT, "origin": verifier.name,
              "key": verifier.encode(), "size": size, "checkpoints": len(checkpoints)}
    yield json.dumps(header, ensure_ascii=False).encode() + b"\n"
    for cp_size, note in checkpoints:
        line = {"type": "checkpoint", "size": cp_size, "note": note}
        yield json.dumps(line, ensure_ascii=False).encode() + b"\n"
    for seq, body, digest in entries:
        yield b'{"type":"entry","seq":%d,"hash":"%s","entry":%s}\n' % (seq, digest.encode(), body)


@dataclass
class Bundle:
    """A bundle opened for reading: its key and checkpoints, and its entries streamed on demand."""

    path: str
    verifier: Verifier
    size: int
    checkpoints: list[tuple[int, str]]
    _entries_at: int

    def entries(self) -> Iterator[tuple[int, bytes, str]]:
        """Yield (seq, canonical entry bytes, chain hash hex) for every entry line."""
        with _open(self.path, "rb") as f:
            for lineno, raw in enumerate(f, 1):
                if lineno < self._entries_at:
                    continue
                try:
                    line = json.loads(raw)
                    if line.get("type") != "entry":
                        raise BundleError(f"line {lineno}: expected an entry line")
                    yield line["seq"], rfc8785.dumps(line["entry"]), line["hash"]
                except (ValueError, KeyError, TypeError, rfc8785.CanonicalizationError) as exc:
                    if isinstance(exc, BundleError):
                        raise
                    raise BundleError(f"line {lineno}: not a valid entry line ({exc})") from exc


def read_bundle(path: str) -> Bundle:
    """Open a bundle: read its header and checkpoints; raises BundleError or OSError."""
    with _open(path, "rb") as f:
        try:
            lines = _header_and_checkpoints(f)
        except (ValueError, KeyError, TypeError, EOFError, gzip.BadGzipFile) as exc:
            if isinstance(exc, BundleError):
                raise
            raise BundleError(f"{path} is not a traceapp audit bundle ({exc})") from exc
    return Bundle(path, *lines)


def _header_and_checkpoints(f: IO[bytes]) -> tuple[Verifier, int, list[tuple[int, str]], int]:
    header = json.loads(f.readline() or b"null")
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BundleError(f"the first line is not a {FORMAT} header")
    try:
        verifier = Verifier.parse(header["key"])
    except NoteError as exc:
        raise BundleError(f"header: {exc}") from exc
    checkpoints = []
    for i in range(header["checkpoints"]):
        line = json.loads(f.readline() or b"null")
        if not isinstance(line, dict) or line.get("type") != "checkpoint":
            raise BundleError(f"line {i + 2}: expected a checkpoint line")
        checkpoints.append((int(line["size"]), str(line["note"])))
    return verifier, int(header["size"]), checkpoints, header["checkpoints"] + 2

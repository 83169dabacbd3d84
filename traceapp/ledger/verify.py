"""Full verification of a ledger, and the offline verifier for audit bundles.

``verify_log`` streams every entry once (never loading the log) and checks, in order:
the entry is at its sequence number (missing or reordered entries), its bytes hash to the
stored chain hash (altered entry), its ``prev`` is the previous entry's chain hash (broken
chain link), and at each kept checkpoint's size the RFC 6962 root recomputed from the
entry bytes equals the signed root and the Ed25519 signature is valid. A log shorter than
a signed checkpoint is truncated; entries beyond the last checkpoint were never signed.
Given the stored tree hashes as well, it recomputes every one of them in the same pass:
proofs and roots are served from those hashes, so a damaged one makes correct entries
look forged to anyone who checks a proof against a signed root.
The first problem raises :class:`VerificationError` naming its sequence number.

Run as ``python -m traceapp.ledger.verify BUNDLE [--key KEYFILE] [--checkpoint FILE]
[--personal-data FILE]`` to check an audit bundle (and, given a reveals file, every personal data
commitment in it) with no database and no Flask: this module imports only the standard library,
``cryptography`` and ``rfc8785``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from traceapp.ledger.encoding import GENESIS_PREV
from traceapp.ledger.note import Checkpoint, NoteError, Verifier, open_checkpoint
from traceapp.ledger.tree import HASH_SIZE, CompactRange, HashReader, split_stored_hash_index, stored_hash_index

# The kinds of damage, as named in reports.
ALTERED = "altered entry"
BROKEN_LINK = "broken chain link"
MISSING = "missing entry"
REORDERED = "reordered entry"
MALFORMED = "malformed entry"
TRUNCATED = "truncated log"
BAD_SIGNATURE = "bad checkpoint signature"
ROOT_MISMATCH = "checkpoint root mismatch"
UNSIGNED = "unsigned entry"
INCONSISTENT = "inconsistent checkpoint"
STORED_HASH = "stored tree hash"


class VerificationError(Exception):
    """A failed check: the sequence number of the first bad entry, the kind of damage and why."""

    def __init__(self, seq: int, kind: str, reason: str):
        super().__init__(f"seq {seq}: {kind}: {reason}")
        self.seq = seq
        self.kind = kind
        self.reason = reason


class StoredHashError(VerificationError):
    """A stored tree hash that is not the hash the entries give: its stored hash index and level.

    ``seq`` is the entry whose append stored it (the last leaf of its subtree), or the log's
    size for a hash stored beyond the tree.
    """

    def __init__(self, seq: int, index: int, level: int, detail: str):
        super().__init__(seq, STORED_HASH, f"index {index} at level {level} {detail}")
        self.index = index
        self.level = level


@dataclass(frozen=True)
class Summary:
    """What a successful verification covered (``stored_hashes``: how many stored tree hashes
    were recomputed, None when they were not checked)."""

    size: int
    checkpoints: int
    root: bytes
    origin: str
    stored_hashes: int | None = None

    def line(self) -> str:
        hashes = "" if self.stored_hashes is None else f", {self.stored_hashes} stored tree hashes recomputed"
        return (f"ledger intact: {self.size} entries chained, {self.checkpoints} signed checkpoints "
                f"verified{hashes}, root {self.root.hex()} ({self.origin})")


# In RFC 8785 bytes the top-level keys are sorted, so an entry ends with
# ,"prev":"<64 hex>","seq":<n>,"subject":"…","ts":"…"}. JSON strings cannot hold a raw '"',
# so the last ',"prev":"' in the bytes is the top-level one.
_PREV_KEY = b',"prev":"'
_SEQ_KEY = b'","seq":'

# Stored hashes are compared a chunk at a time (two per entry on average): one read of the
# chunk's hashes joined into one byte string and one comparison, rather than Python work per
# hash, in constant memory.
_CHUNK_ENTRIES = 4096  # a power of two: about 8192 stored hashes


class StoredHashes(Protocol):
    """Read access to the stored tree hashes (by stored hash index, see :mod:`traceapp.ledger.tree`)."""

    def joined(self, start: int, stop: int) -> tuple[int, bytes]:
        """Return (how many, their concatenation) of the stored hashes at indexes start … stop-1
        that are 32 bytes long, in index order."""

    def between(self, start: int, stop: int) -> list[bytes]:
        """Return the stored hashes at indexes start … stop-1 that exist, in index order, as a list."""

    def first_index_from(self, start: int) -> int | None:
        """Return the smallest stored hash index >= ``start``, or None when there is none."""

    def head(self) -> tuple[int, str, bytes] | None:
        """Return what the next append starts from, as the newest checkpoint stores it: (size,
        chain hash of the last entry in hex, the right edge's subtree roots concatenated)."""


def verify_log(entries: Iterable[tuple[int, bytes, str]],
               checkpoints: Iterable[tuple[int, str]],
               verifier: Verifier,
               *,
               read_hashes: HashReader | None = None,
               stored_hashes: StoredHashes | None = None,
               at_size: Callable[[int, bytes], None] | None = None,
               progress: Callable[[int], None] | None = None) -> Summary:
    """Verify a whole log and return a Summary; raise VerificationError at the first damage.

    ``entries`` yields (seq, entry bytes, stored chain hash in hex) in seq order;
    ``checkpoints`` yields (size, signed note) in size order. ``read_hashes`` (optional)
    reads stored tree hashes, used only to tell which entry an altered root points at.
    ``stored_hashes`` (optional) reads the stored tree hashes: each is compared with the
    hash recomputed from the entries, and the first that differs, is missing or lies beyond
    the tree raises :class:`StoredHashError`.
    ``at_size(size, root)`` is called with the recomputed root after every entry.
    """
    check = _StoredHashCheck(stored_hashes) if stored_hashes is not None else None
    try:
        summary = _verify_log(entries, checkpoints, verifier, read_hashes, check, at_size, progress)
    except VerificationError as exc:
        # Within the span a verified checkpoint vouches for, a bad stored hash found before
        # this damage is the first damage.
        if check is not None and not isinstance(exc, StoredHashError):
            check.flush()
            if check.first_bad is not None and check.first_bad.seq < min(check.vouched, exc.seq):
                raise check.first_bad from None
        raise
    return summary


def _verify_log(entries: Iterable[tuple[int, bytes, str]], checkpoints: Iterable[tuple[int, str]],
                verifier: Verifier, read_hashes: HashReader | None, check: _StoredHashCheck | None,
                at_size: Callable[[int, bytes], None] | None,
                progress: Callable[[int], None] | None) -> Summary:
    sha = hashlib.sha256
    cps = iter(checkpoints)
    next_cp = _next_checkpoint(cps)
    signed = 0
    last_root = hashlib.sha256(b"").digest()
    last_signed_size = 0
    prev = GENESIS_PREV.encode()
    stack: list[bytes] = []  # the compact range: roots of the maximal complete subtrees
    pending_leaves: list[bytes] = []  # leaf hashes since the last checkpoint, for diagnosis
    n = 0
    computed = check.computed if check is not None else None  # tree hashes in stored-index order
    add = computed.append if computed is not None else None
    while next_cp is not None and next_cp[0] == 0:
        _check_checkpoint(next_cp, 0, last_root, verifier)
        signed += 1
        next_cp = _next_checkpoint(cps)
    for seq, body, stored in entries:
        if seq != n:
            if seq > n:
                raise VerificationError(n, MISSING, f"the log jumps from seq {n - 1} to seq {seq}")
            raise VerificationError(n, REORDERED, f"seq {seq} appears again after seq {n - 1}")
        digest = sha(body).hexdigest()
        p = body.rfind(_PREV_KEY)
        if p < 0 or body[p + 73:p + 81] != _SEQ_KEY or not body.endswith(b'"}'):
            if digest != stored:
                raise VerificationError(n, ALTERED, "the entry bytes no longer hash to the stored chain hash")
            raise VerificationError(n, MALFORMED, "the entry bytes are not a canonical ledger entry")
        q = body.find(b",", p + 81)
        if body[p + 81:q] != b"%d" % n:
            raise VerificationError(n, REORDERED, f"row {n} holds the entry with seq {body[p + 81:q].decode()}")
        if digest != stored:
            raise VerificationError(n, ALTERED, "the entry bytes no longer hash to the stored chain hash")
        if body[p + 9:p + 73] != prev:
            raise VerificationError(
                *_diagnose_link(n, prev.decode(), body[p + 9:p + 73].decode(), pending_leaves, read_hashes))
        prev = digest.encode()
        leaf = sha(b"\x00" + body).digest()
        pending_leaves.append(leaf)
        h, k = leaf, n
        if computed is None:
            while k & 1:
                h = sha(b"\x01" + stack.pop() + h).digest()
                k >>= 1
        else:
            # Appending leaf n stores its leaf hash, then every subtree it completes
            # (tree.CompactRange.append): the same hashes, in the same order, as computed here.
            add(leaf)
            while k & 1:
                h = sha(b"\x01" + stack.pop() + h).digest()
                add(h)
                k >>= 1
            if not (n + 1) % _CHUNK_ENTRIES:
                check.flush()
        stack.append(h)
        n += 1
        if at_size is not None or (next_cp is not None and next_cp[0] == n):
            root = _fold(stack)
            if at_size is not None:
                at_size(n, root)
            while next_cp is not None and next_cp[0] == n:
                if _root_of(next_cp, n, verifier) != root:
                    bad = _first_altered_leaf(n - len(pending_leaves), pending_leaves, read_hashes)
                    if bad is not None:
                        raise VerificationError(bad, ALTERED,
                                                "the entry bytes differ from those hashed into the signed tree")
                    raise VerificationError(n - 1, ROOT_MISMATCH,
                                            f"the signed checkpoint of size {n} has another root than the entries")
                signed += 1
                last_root, last_signed_size = root, n
                pending_leaves.clear()
                if check is not None:
                    check.vouch(n)
                next_cp = _next_checkpoint(cps)
        if progress is not None and n % 65536 == 0:
            progress(n)
    if next_cp is not None:
        raise VerificationError(n, TRUNCATED,
                                f"a checkpoint of size {next_cp[0]} was signed but the log ends at {n} entries")
    if n > last_signed_size:
        raise VerificationError(last_signed_size, UNSIGNED,
                                f"entries {last_signed_size}..{n - 1} are covered by no signed checkpoint")
    if progress is not None:
        progress(n)
    if check is None:
        return Summary(n, signed, last_root, verifier.name)
    check.finish(n, stack, prev.decode())
    return Summary(n, signed, last_root, verifier.name, check.checked)


class _StoredHashCheck:
    """Compares the tree hashes a verification recomputes with the stored ones, a chunk at a time.

    A stored hash can only be blamed once a verified checkpoint vouches for the entries it was
    computed from (``vouched``): until then a difference may as well be an altered entry, which
    the checkpoint's root will name instead.
    """

    def __init__(self, stored: StoredHashes):
        self._stored = stored
        self.computed: list[bytes] = []
        self.checked = 0  # stored hash index of the next hash to compare
        self.vouched = 0  # entries below this size match a verified signed checkpoint
        self.first_bad: StoredHashError | None = None

    def flush(self) -> None:
        """Compare the hashes computed so far with the next stored rows; remember the first bad one."""
        computed, start = self.computed, self.checked
        count = len(computed)
        if not count:
            return
        self.checked += count
        if self.first_bad is None:
            # Indexes are unique: as many 32-byte hashes as indexes in the range means none is
            # missing or of another length, so equal concatenations mean equal hashes.
            found, joined = self._stored.joined(start, start + count)
            if found != count or joined != b"".join(computed):
                self.first_bad = _first_bad_hash(start, computed, self._stored)
        computed.clear()

    def vouch(self, size: int) -> None:
        """Record that a verified checkpoint covers the first ``size`` entries; raise a bad hash it covers."""
        self.vouched = size
        if self.first_bad is not None and self.first_bad.seq < size:
            raise self.first_bad

    def finish(self, size: int, edge: list[bytes], last_hash: str) -> None:
        """Compare the rest (every entry is vouched for now), refuse stored rows beyond the tree,
        and check the head the next append starts from against the tree's right edge ``edge``
        and the last chain hash."""
        self.flush()
        if self.first_bad is not None:
            raise self.first_bad
        beyond = self._stored.first_index_from(self.checked)
        if beyond is not None:
            raise StoredHashError(size, beyond, split_stored_hash_index(beyond)[0],
                                  f"lies beyond the tree of {size} entries, where no hash is stored yet: "
                                  "an append would collide with it")
        head = self._stored.head()
        if head is None or head[0] != size:
            return
        _check_head(size, edge, last_hash, head[1], bytes(head[2]))


def _check_head(size: int, edge: list[bytes], last_hash: str, stored_last: str, stored_edge: bytes) -> None:
    # The next append reads the newest checkpoint's edge instead of ledger_hashes: a wrong one
    # would store wrong hashes and sign a root the entries do not give.
    stored = [stored_edge[i:i + HASH_SIZE] for i in range(0, len(stored_edge), HASH_SIZE)]
    for i, index in enumerate(CompactRange.indexes_for(size)):
        if i >= len(stored) or stored[i] != edge[i]:
            level, n = split_stored_hash_index(index)
            got = stored[i].hex() if i < len(stored) else "nothing"
            raise StoredHashError(((n + 1) << level) - 1, index, level,
                                  f"is {got} in the newest checkpoint's right edge, but the entries give "
                                  f"{edge[i].hex()}: the next append would build on it and sign a wrong root")
    if len(stored) != len(edge):
        raise VerificationError(size, STORED_HASH, f"the newest checkpoint's right edge holds {len(stored)} "
                                                   f"hashes, but a tree of {size} entries has {len(edge)}")
    if stored_last != last_hash:
        raise VerificationError(size, BROKEN_LINK, f"the newest checkpoint records {stored_last} as the last "
                                                   f"entry's chain hash, but it hashes to {last_hash}: "
                                                   "the next entry would link to the wrong hash")


def _first_bad_hash(start: int, computed: list[bytes], stored: StoredHashes) -> StoredHashError | None:
    """Return the error for the first of ``computed`` (from index ``start``) that is not stored as
    computed, reading the stored hashes one by one in index order."""
    rows = stored.between(start, start + len(computed))
    for i, want in enumerate(computed):
        if i < len(rows) and rows[i] == want:
            continue
        index = start + i
        level, n = split_stored_hash_index(index)
        seq = ((n + 1) << level) - 1
        if stored.first_index_from(index) != index:
            detail = "is missing: proofs that need it cannot be served"
        else:
            detail = (f"holds {bytes(rows[i]).hex()} but the entries give {want.hex()}: "
                      "inclusion and consistency proofs built from it fail against the signed roots")
        return StoredHashError(seq, index, level, detail)
    return None


def _next_checkpoint(cps: Iterator[tuple[int, str]]) -> tuple[int, str] | None:
    return next(cps, None)


def _root_of(cp: tuple[int, str], n: int, verifier: Verifier) -> bytes:
    return _check_checkpoint(cp, n, None, verifier)


def _check_checkpoint(cp: tuple[int, str], n: int, root: bytes | None, verifier: Verifier) -> bytes:
    size, note = cp
    try:
        checkpoint = open_checkpoint(note, verifier)
    except NoteError as exc:
        raise VerificationError(max(size - 1, 0), BAD_SIGNATURE, f"checkpoint of size {size}: {exc}") from exc
    if checkpoint.size != size:
        raise VerificationError(max(size - 1, 0), BAD_SIGNATURE,
                                f"checkpoint stored for size {size} signs size {checkpoint.size}")
    if root is not None and checkpoint.root != root:
        raise VerificationError(0, ROOT_MISMATCH, "the signed empty checkpoint has a non-empty root")
    return checkpoint.root


def _fold(stack: list[bytes]) -> bytes:
    if not stack:
        return hashlib.sha256(b"").digest()
    h = stack[-1]
    for left in reversed(stack[:-1]):
        h = hashlib.sha256(b"\x01" + left + h).digest()
    return h


def _stored_leaves(start: int, count: int, read_hashes: HashReader) -> list[bytes]:
    return list(read_hashes([stored_hash_index(0, i) for i in range(start, start + count)]))


def _first_altered_leaf(start: int, leaves: list[bytes], read_hashes: HashReader | None) -> int | None:
    """Return the first seq from ``start`` whose recomputed leaf hash differs from the stored one."""
    if read_hashes is None or not leaves:
        return None
    try:
        stored = _stored_leaves(start, len(leaves), read_hashes)
    except LookupError:
        return None
    for i, (a, b) in enumerate(zip(leaves, stored, strict=True)):
        if a != b:
            return start + i
    return None


def _diagnose_link(n: int, expected: str, found: str, pending: list[bytes],
                   read_hashes: HashReader | None) -> tuple[int, str, str]:
    # Entry n's prev records the chain hash entry n-1 had when n was appended. If entry n-1's
    # bytes no longer give the leaf hash stored for it then, n-1 was rewritten (stored hash
    # and all); otherwise the link in entry n itself was changed.
    if n > 0 and pending and _first_altered_leaf(n - 1, pending[-1:], read_hashes) == n - 1:
        return n - 1, ALTERED, "the entry was rewritten: its bytes differ from those the next entry chained to"
    return n, BROKEN_LINK, f"prev is {found} but the previous entry hashes to {expected}"


# --- the offline verifier ---------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Verify an audit bundle offline; return 0 when intact (and consistent), 1 otherwise."""
    from traceapp.ledger.bundle import BundleError, read_bundle

    parser = argparse.ArgumentParser(
        prog="python -m traceapp.ledger.verify",
        description="Verify a traceapp ledger audit bundle offline (no database, no server).")
    parser.add_argument("bundle", help="the audit bundle (JSON lines, optionally .gz)")
    parser.add_argument("--key", help="file holding the verifier key to trust "
                                      "(default: the key inside the bundle)")
    parser.add_argument("--checkpoint", help="a previously saved signed checkpoint to prove "
                                             "consistent with the bundle's latest")
    parser.add_argument("--personal-data", dest="personal_data",
                        help="a reveals file (ledger export --personal-data): check every personal data "
                             "commitment in the bundle against it")
    args = parser.parse_args(argv)
    try:
        trusted = Verifier.parse(_read_text(args.key)) if args.key else None
        old_note = _read_text(args.checkpoint) if args.checkpoint else None
        bundle = read_bundle(args.bundle)
        verifier = trusted or bundle.verifier
        if trusted is not None and trusted != bundle.verifier:
            print("note: the bundle names another key than --key; checking with --key", file=sys.stderr)
        old = open_checkpoint(old_note, verifier) if old_note is not None else None
    except (OSError, NoteError, BundleError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if not isinstance(exc, NoteError) else 1
    roots: dict[int, bytes] = {}
    watch = old.size if old is not None else -1

    def remember(size: int, root: bytes) -> None:
        if size == watch:
            roots[size] = root

    try:
        summary = verify_log(bundle.entries(), bundle.checkpoints, verifier, at_size=remember)
        if old is not None:
            check_saved_checkpoint(old, summary, roots.get(old.size))
    except VerificationError as exc:
        print(f"FAILED: {exc}")
        return 1
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if summary.size != bundle.size:
        print(f"FAILED: the bundle's header announces {bundle.size} entries but it holds {summary.size}")
        return 1
    print(f"OK: {summary.line()}")
    if args.personal_data:
        from traceapp.ledger.commitments import RevealMismatch, check_reveals, read_reveals

        try:
            _origin, reveals = read_reveals(args.personal_data)
            checked, erased = check_reveals(bundle.entries(), reveals)
        except RevealMismatch as exc:
            print(f"FAILED: {exc}")
            return 1
        except (OSError, ValueError, KeyError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"OK: {checked} personal data commitments match their reveals; {erased} were erased "
              "(each named by a personal_data.erased entry)")
    if old is not None:
        print(f"OK: your checkpoint of size {old.size} is consistent with the latest of size {summary.size}")
    return 0


def check_saved_checkpoint(old: Checkpoint, latest: Summary, root_at_old_size: bytes | None) -> None:
    """Raise VerificationError unless a saved checkpoint is a prefix of the verified log.

    Every entry was re-hashed, so the root recomputed at the old size is what an RFC 6962
    consistency proof would establish, without trusting any server-supplied hash.
    """
    if old.origin != latest.origin:
        raise VerificationError(0, INCONSISTENT, f"your checkpoint is for origin {old.origin!r}, not {latest.origin!r}")
    if old.size > latest.size:
        raise VerificationError(latest.size, TRUNCATED,
                                f"your checkpoint has size {old.size} but the log has only {latest.size} entries")
    expected = root_at_old_size if old.size else hashlib.sha256(b"").digest()
    if expected != old.root:
        raise VerificationError(max(old.size - 1, 0), INCONSISTENT,
                                f"the log was rewritten: your checkpoint's root at size {old.size} is "
                                f"{old.root.hex()} but the entries give {expected.hex() if expected else '?'}")


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


if __name__ == "__main__":
    sys.exit(main())

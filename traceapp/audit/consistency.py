"""Proving a regulator's saved checkpoint consistent with the ledger's current one (RFC 6962
s2.1.2), or saying exactly why it is not. One check for the audit desk and
``flask --app traceapp ledger consistency``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.ledger import tree
from traceapp.ledger.note import Checkpoint, NoteError, open_checkpoint, parse_note
from traceapp.ledger.proof_damage import diagnose_consistency
from traceapp.ledger.store import Ledger, LedgerHash

# The outcomes, from the first check that fails.
CONSISTENT = "consistent"
MALFORMED = "malformed"  # not a signed checkpoint at all
ORIGIN = "origin"  # a checkpoint of another log
SIGNATURE = "signature"  # our origin, but not validly signed by our key
LARGER = "larger"  # a tree larger than the current one: truncated log, or not from this log
INCONSISTENT = "inconsistent"  # validly signed by us, but not a prefix of today's tree: the log was rewritten
# The proof from the stored tree hashes fails, but recomputed from the entries it holds: a stored
# hash is damaged (``ledger verify`` finds them all), the log was not rewritten.
DAMAGED = "damaged"
MAX_NOTE = 64 * 1024
_ENTRY_CHUNK = 4096


@dataclass(frozen=True)
class ConsistencyCheck:
    """What checking one saved checkpoint found.

    ``old``/``new`` are the saved and the current checkpoint (``old`` is None when it could not
    be parsed); ``proof`` is the RFC 6962 consistency proof from old.size to new.size;
    ``detail`` the technical reason of a failure; ``damaged_index``/``damaged_level`` name the
    first damaged stored tree hash the proof read (outcome DAMAGED).
    """

    outcome: str
    old_note: str
    new_note: str
    new: Checkpoint
    old: Checkpoint | None = None
    proof: tuple[bytes, ...] = ()
    detail: str = ""
    damaged_index: int | None = None
    damaged_level: int | None = None

    @property
    def consistent(self) -> bool:
        return self.outcome == CONSISTENT

    def describe(self) -> str:
        """Return one English sentence for the CLI."""
        old, new = self.old, self.new
        if self.outcome == CONSISTENT:
            return (f"checkpoint of size {old.size} is consistent with the current checkpoint of size {new.size} "
                    f"(proof of {len(self.proof)} hashes)")
        if self.outcome == MALFORMED:
            return f"the saved text is not a signed checkpoint: {self.detail}"
        if self.outcome == ORIGIN:
            return f"the saved checkpoint is for origin {old.origin!r}, not this ledger's {new.origin!r}"
        if self.outcome == SIGNATURE:
            return f"the saved checkpoint does not verify with this ledger's key: {self.detail}"
        if self.outcome == LARGER:
            return (f"the saved checkpoint has size {old.size}, larger than the current tree ({new.size}): "
                    "the log was truncated or the checkpoint is not from this log")
        if self.outcome == DAMAGED:
            return (f"stored tree hash damaged at index {self.damaged_index}, level {self.damaged_level} — "
                    f"run ledger verify. The consistency proof built from the stored hashes fails, but rebuilt "
                    f"from the entries it shows the saved checkpoint of size {old.size} is a prefix of the "
                    f"current one of size {new.size}: the log was not rewritten ({self.detail})")
        return (f"SECURITY ALARM: the log was rewritten. Saved checkpoint size {old.size} root {old.root.hex()} "
                f"is not a prefix of the current size {new.size} root {new.root.hex()}")


def normalize_note(text: str) -> str:
    """Return pasted or uploaded note text as a signed note: LF line ends (browsers send a
    textarea with CRLF), no surrounding blank space, one final newline. The signature still
    decides whether the text is genuine."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip() + "\n"


def check_consistency(session: Session, ledger: Ledger, saved: str) -> ConsistencyCheck:
    """Check the signed checkpoint text ``saved`` against the ledger's latest checkpoint.

    Raises LookupError when the ledger has no signed checkpoint yet.
    """
    latest = ledger.latest_checkpoint(session)
    if latest is None:
        raise LookupError("the ledger has no signed checkpoint yet")
    new_note = latest[1]
    new = open_checkpoint(new_note, ledger.verifier)
    note = normalize_note(saved)
    found = {"old_note": note, "new_note": new_note, "new": new}
    try:
        if len(note) > MAX_NOTE:
            raise NoteError(f"the text is longer than {MAX_NOTE} characters")
        text, _signatures = parse_note(note)
        old = Checkpoint.parse(text)
    except NoteError as exc:
        return ConsistencyCheck(MALFORMED, detail=str(exc), **found)
    if old.origin != new.origin:
        return ConsistencyCheck(ORIGIN, old=old, **found)
    try:
        old = open_checkpoint(note, ledger.verifier)
    except NoteError as exc:
        return ConsistencyCheck(SIGNATURE, old=old, detail=str(exc), **found)
    if old.size > new.size:
        return ConsistencyCheck(LARGER, old=old, **found)
    if old.size == 0:
        return ConsistencyCheck(CONSISTENT if old.root == tree.EMPTY_ROOT else INCONSISTENT, old=old, **found)
    try:
        proof = ledger.consistency_proof(session, old.size, new.size)
    except LookupError:  # a stored hash row is missing
        proof = None
    if proof is not None and tree.verify_consistency(old.size, new.size, old.root, new.root, proof):
        return ConsistencyCheck(CONSISTENT, old=old, proof=tuple(proof), **found)
    return _diagnose(session, ledger, old, new, found, tuple(proof or ()))


def _diagnose(session: Session, ledger: Ledger, old: Checkpoint, new: Checkpoint, found: dict,
              proof: tuple[bytes, ...]) -> ConsistencyCheck:
    """Tell a damaged stored tree hash from a rewritten log once the stored proof has failed."""
    indexes = tree.consistency_proof_indexes(old.size, new.size)
    rows = dict(session.execute(select(LedgerHash.idx, LedgerHash.hash).where(LedgerHash.idx.in_(indexes))).all())

    def read_entries(first: int, end: int):
        for start in range(first, end, _ENTRY_CHUNK):
            for _seq, body, _hash in ledger.entries(session, start, min(_ENTRY_CHUNK, end - start)):
                yield body

    try:
        found_out = diagnose_consistency(old.size, new.size, old.root, new.root,
                                         [rows.get(i) for i in indexes], read_entries)
    except LookupError as exc:  # entries the saved tree covered are gone
        return ConsistencyCheck(INCONSISTENT, old=old, proof=proof, detail=str(exc), **found)
    if not found_out.recomputed_holds or not found_out.damaged:
        # Only a proof that fails from hashes the entries confirm is evidence of a rewrite.
        return ConsistencyCheck(INCONSISTENT, old=old, proof=proof, **found)
    first = found_out.damaged[0]
    stored = "missing" if first.stored is None else bytes(first.stored).hex()
    detail = f"stored {stored}, the entries give {first.computed.hex()}"
    return ConsistencyCheck(DAMAGED, old=old, detail=detail, damaged_index=first.index,
                            damaged_level=first.level, **found)

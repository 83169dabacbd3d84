"""Proving a regulator's saved checkpoint consistent with the ledger's current one (RFC 6962
s2.1.2), or saying exactly why it is not. One check for the audit desk and
``flask --app traceapp ledger consistency``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from traceapp.ledger import tree
from traceapp.ledger.note import Checkpoint, NoteError, open_checkpoint, parse_note
from traceapp.ledger.store import Ledger

# The outcomes, from the first check that fails.
CONSISTENT = "consistent"
MALFORMED = "malformed"  # not a signed checkpoint at all
ORIGIN = "origin"  # a checkpoint of another log
SIGNATURE = "signature"  # our origin, but not validly signed by our key
LARGER = "larger"  # a tree larger than the current one: truncated log, or not from this log
INCONSISTENT = "inconsistent"  # validly signed by us, but not a prefix of today's tree: the log was rewritten
MAX_NOTE = 64 * 1024


@dataclass(frozen=True)
class ConsistencyCheck:
    """What checking one saved checkpoint found.

    ``old``/``new`` are the saved and the current checkpoint (``old`` is None when it could not
    be parsed); ``proof`` is the RFC 6962 consistency proof from old.size to new.size;
    ``detail`` the technical reason of a failure.
    """

    outcome: str
    old_note: str
    new_note: str
    new: Checkpoint
    old: Checkpoint | None = None
    proof: tuple[bytes, ...] = ()
    detail: str = ""

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
        proof, proven = [], old.root == tree.EMPTY_ROOT
    else:
        proof = ledger.consistency_proof(session, old.size, new.size)
        proven = tree.verify_consistency(old.size, new.size, old.root, new.root, proof)
    return ConsistencyCheck(CONSISTENT if proven else INCONSISTENT, old=old, proof=tuple(proof), **found)

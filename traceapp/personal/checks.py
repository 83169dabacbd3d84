"""What ``ledger verify`` checks of personal data: every commitment recomputes from its reveal (or
an erasure entry says it was erased), the projections hold the revealed values, and how many
entries hold personal data in clear text (written before commitments: the log never forgets them)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from traceapp.ledger.commitments import RevealMismatch, check_reveal, commitments_in, get_path, is_commitment
from traceapp.ledger.store import LedgerEntry
from traceapp.personal.fields import ERASED, ERASURE_KIND, PERSONAL_KINDS, is_pseudonymous, personal_paths
from traceapp.personal.models import PersonalDatum

# In an entry's RFC 8785 bytes the actor object's keys are sorted: "org" comes before "user".
_PSEUDONYMOUS = (b'"user":"user:', b'"user":"system:', b'"user":null')


def revealed(session: Session) -> dict[int, dict[str, object]]:
    """Return, by entry seq, each personal field's clear value, or ERASED once erased."""
    found: dict[int, dict[str, object]] = {}
    for seq, path, value, erased in session.execute(
            select(PersonalDatum.seq, PersonalDatum.path, PersonalDatum.value, PersonalDatum.erased_seq)):
        found.setdefault(seq, {})[path] = ERASED if erased is not None else json.loads(value)
    return found


def with_reveals(data: dict, reveals: dict[str, object] | None) -> dict:
    """Return an entry's ``data`` with each commitment that has a reveal replaced by the revealed value."""
    if not reveals:
        return data
    out = json.loads(json.dumps(data))  # a copy, nested objects too: callers keep the entry as read
    for path, value in reveals.items():
        *parents, leaf = path.split(".")
        holder = out
        for step in parents:
            holder = holder.get(step) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and is_commitment(holder.get(leaf)):
            holder[leaf] = value
    return out


def _entries(session: Session, where) -> Iterator[tuple[int, dict]]:
    for seq, body in session.execute(select(LedgerEntry.seq, LedgerEntry.body).where(where)
                                     .order_by(LedgerEntry.seq)):
        yield seq, json.loads(bytes(body))


def reveal_problems(session: Session) -> Iterator[str]:
    """Yield a sentence for each commitment that does not recompute from its reveal, each reveal
    without a commitment, each commitment without a reveal, and each erasure no erasure entry records."""
    rows: dict[tuple[int, str], PersonalDatum] = {
        (row.seq, row.path): row for row in session.scalars(select(PersonalDatum))}
    erasures: dict[tuple[int, str], int] = {}
    for seq, entry in _entries(session, LedgerEntry.kind == ERASURE_KIND):
        for item in entry["data"].get("fields", []):
            erasures[(item["seq"], item["path"])] = seq
    for seq, entry in _entries(session, LedgerEntry.kind.in_(PERSONAL_KINDS)):
        for path, _commitment in commitments_in(entry["data"]):
            row = rows.pop((seq, path), None)
            if row is None:
                yield f"entry {seq} field {path}: the commitment has no reveal (salt and value are missing)"
                continue
            if row.erased_seq is not None:
                if erasures.get((seq, path)) != row.erased_seq:
                    yield (f"entry {seq} field {path}: marked erased by entry {row.erased_seq}, "
                           "but no personal_data.erased entry names this field")
                continue
            try:
                check_reveal(seq, entry["data"], path, {"value": json.loads(row.value), "salt": row.salt.hex()})
            except RevealMismatch as exc:
                yield f"entry {seq} field {path}: {exc.reason}"
    for seq, path in sorted(rows):
        yield f"entry {seq} field {path}: a reveal is stored but the entry holds no commitment there"


def clear_text_entries(session: Session) -> int:
    """Return how many entries hold personal data in clear text: an actor named by login, or a
    personal field (``personal_paths``) written as its value instead of a commitment."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        contains = " OR ".join(f"position('\\x{p.hex()}'::bytea in body) > 0" for p in _PSEUDONYMOUS)
    else:
        contains = " OR ".join(f"instr(body, X'{p.hex()}') > 0" for p in _PSEUDONYMOUS)
    named = conn.execute(text(f"SELECT count(*) FROM ledger_entries WHERE NOT ({contains})")).scalar_one()
    extra = 0
    for _seq, entry in _entries(session, LedgerEntry.kind.in_(PERSONAL_KINDS)):
        data = entry["data"]
        clear = any(get_path(data, p) not in (None, "") and not is_commitment(get_path(data, p))
                    for p in personal_paths(entry["kind"], data))
        extra += clear and is_pseudonymous((entry.get("actor") or {}).get("user"))
    return named + extra


def personal_fields_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(PersonalDatum)) or 0

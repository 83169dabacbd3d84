"""Recalls: a regulator recalls a batch (or it and everything made from it) with a reason, one
``batch.recalled`` entry per affected batch, and lifts a batch's recall with a later
``batch.recall_lifted`` entry. Recalls are ledger-only facts (no projection table): whether a batch
stands recalled is its latest recall entry, read straight from the ledger (indexed by subject and seq), so a
recall shows on every page the moment its entries are committed."""

from __future__ import annotations

import json

from sqlalchemy import String, func, literal, select
from sqlalchemy.orm import Session

from traceapp.errors import Conflict
from traceapp.i18n import gettext as _
from traceapp.ledger.store import LedgerEntry, ledger_of
from traceapp.records.access import require_role
from traceapp.records.endings import read_reason
from traceapp.records.labels import RECALL_SCOPE
from traceapp.records.lineage import downstream
from traceapp.records.models import Batch
from traceapp.validation import Fields

RECALLED, LIFTED = "batch.recalled", "batch.recall_lifted"
SCOPES = ("batch", "downstream")
_CHUNK = 5000  # subjects per IN (...)
_CHANGED = "traceapp.recalls.changed"


def recalls_changed(session: Session) -> set[int]:
    """Return (and forget) the ids of the batches whose recall the session's transaction recorded or
    lifted: recalls have no projection row, so whatever keeps pages derived from them (the stored
    consumer pages of the batches made from them) asks here before the transaction commits."""
    return session.info.pop(_CHANGED, set())


def _note_change(session: Session, batch: Batch) -> None:
    session.info.setdefault(_CHANGED, set()).add(batch.id)


def recall_status(session: Session, batch: Batch) -> dict | None:
    """Return the standing recall of the batch ({reason, scope, recalled_at, seq}) or None."""
    row = session.execute(select(LedgerEntry.seq, LedgerEntry.kind, LedgerEntry.body).where(
        LedgerEntry.subject == f"batch:{batch.code}", LedgerEntry.kind.in_((RECALLED, LIFTED))
    ).order_by(LedgerEntry.seq.desc()).limit(1)).first()
    if row is None or row.kind != RECALLED:
        return None
    return recall_of(row.seq, row.body)


def recall_of(seq: int, body: bytes) -> dict:
    """Return the recall status that the ``batch.recalled`` entry ``seq`` (its body) states."""
    entry = json.loads(bytes(body))
    return {"reason": entry["data"].get("reason", ""), "scope": entry["data"].get("scope", "batch"),
            "recalled_at": entry["ts"], "seq": seq}


def _latest_recall_entries():
    """Return a subquery of (subject, seq of its latest recall or lift entry)."""
    return (select(LedgerEntry.subject, func.max(LedgerEntry.seq).label("seq"))
            .where(LedgerEntry.kind.in_((RECALLED, LIFTED))).group_by(LedgerEntry.subject))


def standing_recalls(session: Session, codes: list[str]) -> set[str]:
    """Return which of the batch ``codes`` stand recalled (one query per few thousand codes)."""
    found: set[str] = set()
    for start in range(0, len(codes), _CHUNK):
        subjects = [f"batch:{code}" for code in codes[start:start + _CHUNK]]
        latest = _latest_recall_entries().where(LedgerEntry.subject.in_(subjects)).subquery()
        found.update(subject.removeprefix("batch:") for subject in session.scalars(
            select(LedgerEntry.subject).join(latest, LedgerEntry.seq == latest.c.seq)
            .where(LedgerEntry.kind == RECALLED)))
    return found


def recalled_batches_of(session: Session, organization_id: int | None) -> list[dict]:
    """Return the organization's batches that stand recalled, newest recall first:
    {code, product, quantity, unit, harvest_date, reason, scope, recalled_at, seq}."""
    if organization_id is None:
        return []
    latest = _latest_recall_entries().subquery()
    rows = session.execute(
        select(Batch, LedgerEntry.seq, LedgerEntry.body)
        .join(latest, latest.c.subject == literal("batch:", String) + Batch.code)
        .join(LedgerEntry, LedgerEntry.seq == latest.c.seq)
        .where(Batch.organization_id == organization_id, LedgerEntry.kind == RECALLED)
        .order_by(LedgerEntry.seq.desc()))
    return [{"code": batch.code, "product": batch.product, "quantity": batch.quantity, "unit": batch.unit,
             "harvest_date": batch.harvest_date.isoformat(), **recall_of(seq, body)} for batch, seq, body in rows]


def recall_batch(session: Session, batch: Batch, data: dict, *, user) -> list[Batch]:
    """Recall ``batch`` (scope ``batch``) or it and every batch made from it (scope ``downstream``) and
    append one ``batch.recalled`` entry {reason, scope, origin} per affected batch; return those batches.

    Batches already standing recalled are skipped. Raises Forbidden unless the user is a regulator or an
    admin, InvalidInput for a missing reason or an unknown scope, Conflict when every batch in scope
    stands recalled already.
    """
    require_role(user, "regulator")
    f = Fields(data)  # the reason and the scope are refused together, each beside its field
    reason = f.text("reason", max_length=500, multiline=True)
    scope = f.choice("scope", SCOPES, RECALL_SCOPE) if data.get("scope") not in (None, "") else "batch"
    f.check()
    affected = [batch, *(downstream(session, batch) if scope == "downstream" else [])]
    standing = standing_recalls(session, [b.code for b in affected])
    fresh = [b for b in affected if b.code not in standing]
    if not fresh:
        raise Conflict(_("批次 %(code)s 及召回范围内的批次都已处于召回状态；要重新召回，请先解除召回。",
                         code=batch.code), {"batch": "recalled"})
    ledger = ledger_of(session)
    origin = f"batch:{batch.code}"
    for found in fresh:
        ledger.append(session, RECALLED, user.actor(), f"batch:{found.code}",
                      {"reason": reason, "scope": scope, "origin": origin})
        _note_change(session, found)
    return fresh


def lift_recall(session: Session, batch: Batch, data: dict, *, user) -> dict:
    """Lift the batch's standing recall with a reason: append ``batch.recall_lifted`` {reason} and return
    {batch, reason, seq}. Batches recalled with it keep their own recalls.

    Raises Forbidden unless the user is a regulator or an admin, InvalidInput for a missing reason,
    Conflict when the batch does not stand recalled.
    """
    require_role(user, "regulator")
    reason = read_reason(data)
    if recall_status(session, batch) is None:
        raise Conflict(_("批次 %(code)s 没有处于召回状态，无需解除。", code=batch.code), {"batch": "not_recalled"})
    entry = ledger_of(session).append(session, LIFTED, user.actor(), f"batch:{batch.code}", {"reason": reason})
    _note_change(session, batch)
    return {"batch": batch.code, "reason": reason, "seq": entry.seq}

"""Whether a batch stands recalled: its latest ``batch.recalled`` entry not followed by a
``batch.recall_lifted`` one. Read straight from the ledger (indexed by subject), so a recall
shows on every page the moment its entry is committed."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.ledger.store import LedgerEntry
from traceapp.records.models import Batch

RECALLED, LIFTED = "batch.recalled", "batch.recall_lifted"


def recall_status(session: Session, batch: Batch) -> dict | None:
    """Return the standing recall of the batch ({reason, scope, recalled_at, seq}) or None."""
    row = session.execute(select(LedgerEntry.seq, LedgerEntry.kind, LedgerEntry.body).where(
        LedgerEntry.subject == f"batch:{batch.code}", LedgerEntry.kind.in_((RECALLED, LIFTED))
    ).order_by(LedgerEntry.seq.desc()).limit(1)).first()
    if row is None or row.kind != RECALLED:
        return None
    entry = json.loads(bytes(row.body))
    return {"reason": entry["data"].get("reason", ""), "scope": entry["data"].get("scope", "batch"),
            "recalled_at": entry["ts"], "seq": row.seq}

"""Re-deriving the projection tables from the ledger, for ``ledger verify``: every row must
be what its entries say, and every entry's record must have its row."""

from __future__ import annotations

import json
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.ledger.store import LedgerEntry
from traceapp.records.models import Batch, BatchInput, Organization
from traceapp.records.services import batch_record, org_record


def _entries(session: Session, kind: str) -> Iterator[tuple[int, dict]]:
    rows = session.execute(select(LedgerEntry.seq, LedgerEntry.body).where(LedgerEntry.kind == kind)
                           .order_by(LedgerEntry.seq))
    for seq, body in rows:
        yield seq, json.loads(bytes(body))


def organization_differences(session: Session) -> Iterator[str]:
    """Yield a sentence for each organization row that differs from its ledger entries."""
    expected: dict[int, tuple[int, dict]] = {}
    for seq, entry in _entries(session, "org.registered"):
        expected[int(entry["subject"].removeprefix("org:"))] = (seq, entry["data"])
    rows = {org.id: org for org in session.scalars(select(Organization))}
    for org_id, (seq, data) in expected.items():
        row = rows.pop(org_id, None)
        if row is None:
            yield f"organizations: row {org_id} is missing (registered by entry {seq})"
        elif org_record(row) != data or row.ledger_seq != seq:
            fields = sorted(k for k in data if org_record(row).get(k) != data[k]) or ["ledger_seq"]
            yield f"organizations: row {org_id} differs from entry {seq} in {', '.join(fields)}"
    for org_id in sorted(rows):
        yield f"organizations: row {org_id} has no ledger entry"


def batch_differences(session: Session) -> Iterator[str]:
    """Yield a sentence for each batch row (with its inputs) that differs from its entry."""
    expected: dict[str, tuple[int, dict]] = {}
    for seq, entry in _entries(session, "batch.registered"):
        expected[entry["subject"].removeprefix("batch:")] = (seq, entry["data"])
    codes = dict(session.execute(select(Batch.id, Batch.code)).all())
    inputs: dict[int, list[tuple[str, object]]] = {}
    for row in session.scalars(select(BatchInput).order_by(BatchInput.batch_id)):
        inputs.setdefault(row.batch_id, []).append((codes[row.input_id], row.quantity))
    rows = {b.code: b for b in session.scalars(select(Batch))}
    for code, (seq, data) in expected.items():
        row = rows.pop(code, None)
        if row is None:
            yield f"batches: {code} is missing (registered by entry {seq})"
            continue
        order = [i["code"] for i in data.get("inputs", [])]
        actual = batch_record(row, sorted(inputs.get(row.id, []), key=lambda i: order.index(i[0])
                                          if i[0] in order else len(order)))
        if actual != data or row.ledger_seq != seq:
            fields = sorted(k for k in data if actual.get(k) != data[k]) or ["ledger_seq"]
            yield f"batches: {code} differs from entry {seq} in {', '.join(fields)}"
    for code in sorted(rows):
        yield f"batches: {code} has no ledger entry"


CHECKS = (organization_differences, batch_differences)


def differences(session: Session) -> list[str]:
    """Return every difference between the projection tables and the ledger."""
    return [line for check in CHECKS for line in check(session)]

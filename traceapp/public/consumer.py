"""What the consumer page of a batch shows, and the proof that its registration is in the ledger."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp import db
from traceapp.brands.queries import claim_status
from traceapp.records import queries, regions
from traceapp.records.code_states import code_state
from traceapp.records.models import Batch, BatchInput, Organization
from traceapp.records.recalls import recall_status
from traceapp.records.services import quantity_text

MAX_SOURCES = 60  # farms and packing lots listed under a pooled batch; deeper trees are cut


def consumer_view(session: Session, batch: Batch) -> dict:
    """Return the batch's facts, inspections, certificates, 合格证 and corrections, its brand claim, where a
    pooled or processed batch came from (down to the farms), whether it is recalled, and its code's state."""
    detail = queries.batch_detail(session, batch)
    state = code_state(session, batch)
    return {**detail, "claim": claim_status(session, batch),
            "sources": sources(session, batch) if detail["inputs"] else [], "recall": recall_status(session, batch),
            "code_state": {**state, "changed_at": state["changed_at"].isoformat() if state["changed_at"] else None}}


def sources(session: Session, batch: Batch, depth: int = 6) -> list[dict]:
    """Return the batches this one was pooled or processed from, each with its own sources."""
    budget = [MAX_SOURCES]

    def walk(batch_id: int, level: int, seen: frozenset[int]) -> list[dict]:
        rows = session.execute(
            select(Batch, BatchInput.quantity, Organization)
            .join(BatchInput, BatchInput.input_id == Batch.id)
            .join(Organization, Organization.id == Batch.organization_id)
            .where(BatchInput.batch_id == batch_id).order_by(Batch.code)).all()
        found = []
        for source, quantity, producer in rows:
            if budget[0] <= 0 or source.id in seen:
                break
            budget[0] -= 1
            found.append({"code": source.code, "product": source.product, "quantity": quantity_text(quantity),
                          "unit": source.unit, "harvest_date": source.harvest_date.isoformat(),
                          "producer": producer.name, "demo": producer.demo, "base": source.base,
                          "origin_name": regions.full_name(source.origin_region),
                          "sources": walk(source.id, level + 1, seen | {source.id}) if level < depth else []})
        return found

    return walk(batch.id, 1, frozenset({batch.id}))


def registration_proof(session: Session, batch: Batch) -> dict | None:
    """Return the proof a phone checks: the batch's registration entry, its RFC 6962 audit path to the
    latest checkpoint's tree, and that signed checkpoint; None before the first checkpoint."""
    ledger = db.ledger()
    latest = ledger.latest_checkpoint(session)
    if latest is None or latest[0] <= batch.ledger_seq:
        return None
    size, note = latest
    [(seq, body, _hash)] = ledger.entries(session, batch.ledger_seq, 1)
    _leaf, path = ledger.inclusion_proof(session, seq, size)
    return {"seq": seq, "entry": json.loads(body), "proof": [node.hex() for node in path], "checkpoint": note}

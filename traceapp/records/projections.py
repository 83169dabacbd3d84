"""Re-deriving the projection tables from the ledger, for ``ledger verify``: every row must
be what its entries say, and every entry's record must have its row."""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from typing import NamedTuple

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session, aliased

from traceapp.ledger.store import LedgerEntry
from traceapp.personal.checks import revealed, with_reveals
from traceapp.records.certifications import certification_record
from traceapp.records.compliance import compliance_record
from traceapp.records.corrections import CORRECTABLE
from traceapp.records.inspections import inspection_record
from traceapp.records.models import (
    Batch,
    BatchCorrection,
    BatchInput,
    Certification,
    ComplianceCertificate,
    Inspection,
    Organization,
)
from traceapp.records.organizations import ENTRY_KINDS, fold_changes, organization_state
from traceapp.records.services import batch_record

CHUNK = 5000  # rows per round of the streamed batch check


def entries(session: Session, kind: str) -> Iterator[tuple[int, dict]]:
    rows = session.execute(select(LedgerEntry.seq, LedgerEntry.body).where(LedgerEntry.kind == kind)
                           .order_by(LedgerEntry.seq))
    for seq, body in rows:
        yield seq, json.loads(bytes(body))


def organization_differences(session: Session) -> Iterator[str]:
    """Yield a sentence for each organization row that differs from its registration, changes,
    deactivations and reactivations (personal fields: from their revealed values, ``personal.checks``)."""
    reveals = revealed(session)
    expected = {int(e["subject"].removeprefix("org:")): (seq, with_reveals(e["data"], reveals.get(seq)))
                for seq, e in entries(session, "org.registered")}
    moves = heapq.merge(*(entries(session, kind) for kind in ENTRY_KINDS[1:]), key=lambda pair: pair[0])
    fold_changes(expected, ((seq, {**e, "data": with_reveals(e["data"], reveals.get(seq))}) for seq, e in moves))
    rows = {org.id: org for org in session.scalars(select(Organization))}
    yield from compare("organizations", expected, rows, organization_state, lambda row: row.ledger_seq)


def batch_differences(session: Session) -> Iterator[str]:
    """Yield a sentence for each batch row (with its inputs) that differs from its entries.

    Streams: ``batch.registered`` entries by windows of ``CHUNK`` seqs and batch rows by id, ``CHUNK`` at
    a time, matched by code. Rows are registered in entry order, so a chunk's rows meet their entries in
    the same or a nearby round and memory stays flat at any size; what stays unmatched is reported at the
    end."""
    corrected: dict[str, dict] = {}
    for _seq, entry in entries(session, "batch.corrected"):
        fields = {k: v for k, v in entry["data"]["fields"].items() if k in CORRECTABLE}
        corrected.setdefault(entry["subject"].removeprefix("batch:"), {}).update(fields)
    expected: dict[str, tuple[int, dict]] = {}
    rows: dict[str, Row] = {}
    inputs: dict[int, list[tuple[str, object]]] = {}

    def record(row: Row) -> dict:
        # Inputs in the order the entry lists them; rows it does not list go last (and differ).
        order = [i["code"] for i in expected.get(row.code, (0, {}))[1].get("inputs", [])]
        return batch_record(row, sorted(inputs.get(row.id, []),
                                        key=lambda i: order.index(i[0]) if i[0] in order else len(order)))

    # Entries are read by windows of seq (the primary key), never by kind alone: a plan that sorts every
    # registration for each round would make the check quadratic (PostgreSQL without statistics did).
    last_seq = session.scalar(select(func.max(LedgerEntry.seq)))
    after_seq, after_id = -1, None
    more_entries, more_rows = last_seq is not None, True
    while more_entries or more_rows:
        # Neither side runs more than a round ahead of the other, unless nothing matches (damage).
        if more_entries and (len(expected) < CHUNK or len(rows) >= CHUNK or not more_rows):
            upto = after_seq + CHUNK
            for seq, body in session.execute(
                    select(LedgerEntry.seq, LedgerEntry.body)
                    .where(LedgerEntry.kind == "batch.registered", LedgerEntry.seq > after_seq,
                           LedgerEntry.seq <= upto).order_by(LedgerEntry.seq)):
                data = dict(json.loads(bytes(body))["data"])
                data.update(corrected.get(data["code"], {}))
                expected[data["code"]] = (seq, data)
            after_seq, more_entries = upto, upto < last_seq
        if more_rows and (len(rows) < CHUNK or len(expected) >= CHUNK or not more_entries):
            table = Batch.__table__
            query = select(table).order_by(table.c.id).limit(CHUNK)
            chunk = session.execute(query if after_id is None else query.where(table.c.id > after_id)).all()
            for row in chunk:
                rows[row.code] = row
            _add_inputs(session, [row.id for row in chunk], inputs)
            more_rows, after_id = len(chunk) == CHUNK, chunk[-1].id if chunk else after_id
        matched = expected.keys() & rows.keys() if more_entries or more_rows else expected.keys() | rows.keys()
        pairs_expected = {code: expected[code] for code in matched if code in expected}
        pairs_rows = {code: rows.pop(code) for code in matched if code in rows}
        yield from compare("batches", pairs_expected, pairs_rows, record, lambda row: row.ledger_seq)
        for code in matched:
            expected.pop(code, None)
        for row in pairs_rows.values():
            inputs.pop(row.id, None)


def _add_inputs(session: Session, batch_ids: list[int], inputs: dict[int, list[tuple[str, object]]]) -> None:
    """Add the (input code, quantity) pairs of these batches to ``inputs``."""
    if not batch_ids:
        return
    source = aliased(Batch)
    for batch_id, code, quantity in session.execute(
            select(BatchInput.batch_id, source.code, BatchInput.quantity)
            .join(source, source.id == BatchInput.input_id).where(BatchInput.batch_id.in_(batch_ids))):
        inputs.setdefault(batch_id, []).append((code, quantity))


def correction_differences(session: Session) -> Iterator[str]:
    """Yield a sentence for each correction row that differs from its ``batch.corrected`` entry."""
    rows, batches = with_batches(session, BatchCorrection, lambda row: row.ledger_seq)
    for seq, entry in entries(session, "batch.corrected"):
        row = rows.pop(seq, None)
        data = entry["data"]
        if row is None:
            yield f"batch_corrections: the correction in entry {seq} is missing"
        elif (f"batch:{batches[seq].code}", row.fields, row.previous, row.reason) != (
                data["corrects"], data["fields"], data.get("previous"), data["reason"]):
            yield f"batch_corrections: row {row.id} differs from entry {seq}"
    for seq in sorted(rows):
        yield f"batch_corrections: row {rows[seq].id} has no ledger entry"


def inspection_differences(session: Session) -> Iterator[str]:
    """Yield a sentence for each inspection row that differs from its entry."""
    expected = {int(e["subject"].removeprefix("inspection:")): (seq, e["data"])
                for seq, e in entries(session, "inspection.recorded")}
    rows, batches = with_batches(session, Inspection, lambda row: row.id)
    yield from compare("inspections", expected, rows,
                        lambda row: inspection_record(row, batches[row.id]), lambda row: row.ledger_seq)


def certification_differences(session: Session) -> Iterator[str]:
    """Yield a sentence for each certificate row that differs from its issue and revocation entries."""
    expected = {int(e["subject"].removeprefix("certification:")): (seq, dict(e["data"]))
                for seq, e in entries(session, "certification.issued")}
    for seq, entry in entries(session, "certification.revoked"):
        cert_id = int(entry["subject"].removeprefix("certification:"))
        if cert_id in expected:
            expected[cert_id][1]["revoked"] = {**entry["data"], "seq": seq}
    rows = {row.id: row for row in session.scalars(select(Certification))}

    def record(row: Certification) -> dict:
        data = certification_record(row)
        if row.revoked_on is not None:
            data["revoked"] = {"revoked_on": row.revoked_on.isoformat(), "reason": row.revoke_reason,
                               "seq": row.revoke_seq}
        return data

    yield from compare("certifications", expected, rows, record, lambda row: row.ledger_seq)


def compliance_differences(session: Session) -> Iterator[str]:
    """Yield a sentence for each 合格证 row that differs from its issue and void entries."""
    reveals = revealed(session)
    expected = {e["subject"].removeprefix("compliance_certificate:"): (seq, with_reveals(e["data"], reveals.get(seq)))
                for seq, e in entries(session, "compliance_certificate.issued")}
    for seq, entry in entries(session, "compliance_certificate.voided"):
        code = entry["subject"].removeprefix("compliance_certificate:")
        if code in expected:
            expected[code][1]["voided"] = {**entry["data"], "seq": seq}
    rows, batches = with_batches(session, ComplianceCertificate, lambda row: row.code)

    def record(row: ComplianceCertificate) -> dict:
        data = compliance_record(row, batches[row.code])
        if row.voided_on is not None:
            data["voided"] = {"voided_on": row.voided_on.isoformat(), "reason": row.void_reason, "seq": row.void_seq}
        return data

    yield from compare("compliance_certificates", expected, rows, record, lambda row: row.ledger_seq)


def with_batches(session: Session, model, key) -> tuple[dict, dict]:
    """Return the rows of ``model`` by ``key`` and, by the same key, the code and unit of each row's batch
    (only the batches these rows point at: never every batch)."""
    rows, batches = {}, {}
    for row, code, unit in session.execute(select(model, Batch.code, Batch.unit)
                                           .outerjoin(Batch, Batch.id == model.batch_id)):
        rows[key(row)] = row
        batches[key(row)] = _BatchRef(code, unit)
    return rows, batches


class _BatchRef(NamedTuple):
    code: str | None
    unit: str | None


def compare(table: str, expected: dict, rows: dict, record, seq_of) -> Iterator[str]:
    for key, (seq, data) in expected.items():
        row = rows.pop(key, None)
        if row is None:
            yield f"{table}: {key} is missing (recorded by entry {seq})"
            continue
        actual = record(row)
        if actual != data or seq_of(row) != seq:
            fields = sorted(k for k in set(data) | set(actual) if actual.get(k) != data.get(k)) or ["ledger_seq"]
            yield f"{table}: {key} differs from entry {seq} in {', '.join(fields)}"
    for key in sorted(rows, key=str):
        yield f"{table}: {key} has no ledger entry"


CHECKS = (organization_differences, batch_differences, correction_differences, inspection_differences,
          certification_differences, compliance_differences)

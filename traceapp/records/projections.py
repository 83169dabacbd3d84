"""Re-deriving the projection tables from the ledger, for ``ledger verify``: every row must
be what its entries say, and every entry's record must have its row."""

from __future__ import annotations

import json
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.ledger.store import LedgerEntry
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
from traceapp.records.services import batch_record, org_record


def entries(session: Session, kind: str) -> Iterator[tuple[int, dict]]:
    rows = session.execute(select(LedgerEntry.seq, LedgerEntry.body).where(LedgerEntry.kind == kind)
                           .order_by(LedgerEntry.seq))
    for seq, body in rows:
        yield seq, json.loads(bytes(body))


def organization_differences(session: Session) -> Iterator[str]:
    """Yield a sentence for each organization row that differs from its ledger entries."""
    expected = {int(e["subject"].removeprefix("org:")): (seq, e["data"])
                for seq, e in entries(session, "org.registered")}
    rows = {org.id: org for org in session.scalars(select(Organization))}
    yield from compare("organizations", expected, rows, org_record, lambda row: row.ledger_seq)


def batch_differences(session: Session) -> Iterator[str]:
    """Yield a sentence for each batch row (with its inputs) that differs from its entries."""
    expected: dict[str, tuple[int, dict]] = {}
    for seq, entry in entries(session, "batch.registered"):
        expected[entry["subject"].removeprefix("batch:")] = (seq, dict(entry["data"]))
    for _seq, entry in entries(session, "batch.corrected"):
        code = entry["subject"].removeprefix("batch:")
        if code in expected:
            expected[code][1].update({k: v for k, v in entry["data"]["fields"].items() if k in CORRECTABLE})
    codes = dict(session.execute(select(Batch.id, Batch.code)).all())
    inputs: dict[int, list[tuple[str, object]]] = {}
    for row in session.scalars(select(BatchInput)):
        inputs.setdefault(row.batch_id, []).append((codes[row.input_id], row.quantity))
    rows = {b.code: b for b in session.scalars(select(Batch))}

    def record(row: Batch) -> dict:
        # Inputs in the order the entry lists them; rows it does not list go last (and differ).
        order = [i["code"] for i in expected.get(row.code, (0, {}))[1].get("inputs", [])]
        return batch_record(row, sorted(inputs.get(row.id, []),
                                        key=lambda i: order.index(i[0]) if i[0] in order else len(order)))

    yield from compare("batches", expected, rows, record, lambda row: row.ledger_seq)


def correction_differences(session: Session) -> Iterator[str]:
    """Yield a sentence for each correction row that differs from its ``batch.corrected`` entry."""
    codes = dict(session.execute(select(Batch.id, Batch.code)).all())
    rows = {row.ledger_seq: row for row in session.scalars(select(BatchCorrection))}
    for seq, entry in entries(session, "batch.corrected"):
        row = rows.pop(seq, None)
        data = entry["data"]
        if row is None:
            yield f"batch_corrections: the correction in entry {seq} is missing"
        elif (f"batch:{codes.get(row.batch_id)}", row.fields, row.previous, row.reason) != (
                data["corrects"], data["fields"], data.get("previous"), data["reason"]):
            yield f"batch_corrections: row {row.id} differs from entry {seq}"
    for seq in sorted(rows):
        yield f"batch_corrections: row {rows[seq].id} has no ledger entry"


def inspection_differences(session: Session) -> Iterator[str]:
    """Yield a sentence for each inspection row that differs from its entry."""
    batches = {b.id: b for b in session.scalars(select(Batch))}
    expected = {int(e["subject"].removeprefix("inspection:")): (seq, e["data"])
                for seq, e in entries(session, "inspection.recorded")}
    rows = {row.id: row for row in session.scalars(select(Inspection))}
    yield from compare("inspections", expected, rows,
                        lambda row: inspection_record(row, batches[row.batch_id]), lambda row: row.ledger_seq)


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
    batches = {b.id: b for b in session.scalars(select(Batch))}
    expected = {e["subject"].removeprefix("compliance_certificate:"): (seq, dict(e["data"]))
                for seq, e in entries(session, "compliance_certificate.issued")}
    for seq, entry in entries(session, "compliance_certificate.voided"):
        code = entry["subject"].removeprefix("compliance_certificate:")
        if code in expected:
            expected[code][1]["voided"] = {**entry["data"], "seq": seq}
    rows = {row.code: row for row in session.scalars(select(ComplianceCertificate))}

    def record(row: ComplianceCertificate) -> dict:
        data = compliance_record(row, batches[row.batch_id])
        if row.voided_on is not None:
            data["voided"] = {"voided_on": row.voided_on.isoformat(), "reason": row.void_reason, "seq": row.void_seq}
        return data

    yield from compare("compliance_certificates", expected, rows, record, lambda row: row.ledger_seq)


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


def differences(session: Session) -> list[str]:
    """Return every difference between the records' projection tables and the ledger."""
    # Modules that build on this one (they import compare/entries) add their own checks here.
    from traceapp.records.code_states import code_state_differences
    from traceapp.records.label_sheets import label_print_differences

    checks = (*CHECKS, label_print_differences, code_state_differences)
    return [line for check in checks for line in check(session)]

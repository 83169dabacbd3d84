"""Reading records as plain dicts (ledger field names), shared by the API, the pages and the
consumer view: one place decides what a batch, an inspection or a certificate looks like."""

from __future__ import annotations

from decimal import Decimal

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.records import regions
from traceapp.records.certifications import certificates_for_batch, certification_record
from traceapp.records.compliance import compliance_record
from traceapp.records.inspections import inspection_record
from traceapp.records.models import (
    Batch,
    BatchCorrection,
    Certification,
    ComplianceCertificate,
    Inspection,
    Organization,
)
from traceapp.records.services import batch_record, org_record


def public_url(path: str) -> str:
    """Return the absolute public URL of ``path`` (what QR codes and API responses carry)."""
    return current_app.config["TRACEAPP_PUBLIC_URL"].rstrip("/") + path


def organization_view(org: Organization) -> dict:
    return {"id": org.id, **org_record(org), "region_name": regions.full_name(org.region),
            "ledger_seq": org.ledger_seq}


def batch_summary(session: Session, batch: Batch) -> dict:
    return summary_of(batch, [(i.source.code, i.quantity) for i in batch.inputs])


def summary_of(batch, inputs: list[tuple[str, Decimal]]) -> dict:
    """Return what lists and pages show of a batch (any object with a Batch's attributes) and its
    inputs, (code, quantity) each."""
    record = batch_record(batch, inputs)
    return {**record, "origin_name": regions.full_name(batch.origin_region), "url": public_url(f"/t/{batch.code}"),
            "registered_by": batch.registered_by, "ledger_seq": batch.ledger_seq}


def inspection_view(inspection: Inspection, batch: Batch) -> dict:
    return {"id": inspection.id, **inspection_record(inspection, batch), "ledger_seq": inspection.ledger_seq}


def certification_view(cert: Certification, status: str | None = None) -> dict:
    view = {"id": cert.id, **certification_record(cert), "issuer_org": _org_ref(cert.issuer_id),
            "entered_by_admin": bool(cert.entered_by_admin), "revoked_on": _iso(cert.revoked_on),
            "revoke_reason": cert.revoke_reason, "ledger_seq": cert.ledger_seq}
    if status is not None:
        view["status"] = status
    return view


def _org_ref(org_id: int | None) -> str | None:
    return f"org:{org_id}" if org_id is not None else None


def compliance_view(cert: ComplianceCertificate, batch: Batch) -> dict:
    return {**compliance_record(cert, batch), "status": "voided" if cert.voided_on else "valid",
            "voided_on": _iso(cert.voided_on), "void_reason": cert.void_reason, "ledger_seq": cert.ledger_seq}


def correction_view(correction: BatchCorrection) -> dict:
    return {"fields": correction.fields, "previous": correction.previous, "reason": correction.reason,
            "corrected_by": correction.corrected_by, "corrected_at": correction.corrected_at.isoformat() + "Z",
            "ledger_seq": correction.ledger_seq}


def batch_detail(session: Session, batch: Batch) -> dict:
    """Return a batch with its producer, inspections, certificates, 合格证 and corrections."""
    producer = session.get(Organization, batch.organization_id)
    inspections = session.scalars(select(Inspection).where(Inspection.batch_id == batch.id)
                                  .order_by(Inspection.inspected_on, Inspection.id))
    compliance = session.scalars(select(ComplianceCertificate).where(ComplianceCertificate.batch_id == batch.id)
                                 .order_by(ComplianceCertificate.id))
    corrections = session.scalars(select(BatchCorrection).where(BatchCorrection.batch_id == batch.id)
                                  .order_by(BatchCorrection.ledger_seq))
    return {**batch_summary(session, batch),
            "producer": producer_summary(producer),
            "inspections": [inspection_view(i, batch) for i in inspections],
            "certifications": [certification_view(s.certification, s.status)
                               for s in certificates_for_batch(session, batch)],
            "compliance_certificates": [compliance_view(c, batch) for c in compliance],
            "corrections": [correction_view(c) for c in corrections]}


def producer_summary(org) -> dict:
    """Return what a batch's page shows of its producer (an Organization, or an object with its attributes)."""
    return {"id": org.id, "name": org.name, "kind": org.kind, "uscc": org.uscc, "region": org.region,
            "demo": bool(org.demo)}


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None

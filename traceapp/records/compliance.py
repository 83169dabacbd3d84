"""承诺达标合格证: the producer's promise for (part of) a batch, issued and voided, never edited."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from traceapp import clock
from traceapp.errors import Conflict, NotFound, Rejected
from traceapp.i18n import gettext as _
from traceapp.personal.services import append_personal
from traceapp.records.access import require_batch_owner
from traceapp.records.codes import normalize_code
from traceapp.records.endings import append_ending, read_reason
from traceapp.records.holds import refuse_held
from traceapp.records.labels import BASIS, PROMISER
from traceapp.records.models import BASES, PROMISERS, Batch, ComplianceCertificate, Inspection
from traceapp.records.quantities import commitments
from traceapp.records.services import unused_code
from traceapp.records.values import quantity_text
from traceapp.validation import Fields

# The promise texts of 2025 令第4号 by who makes the promise (the ledger keeps the key).
PROMISES = {
    "producer": "未使用禁用农药、兽药及其他化合物；使用的常规农药、兽药残留不超标。",
    "purchaser": "已按规定收取并保存该批次农产品承诺达标合格证或者其他质量安全合格证明；"
                 "未违规使用保鲜剂、防腐剂、添加剂等。",
}
TESTED_BASES = ("self_test", "commissioned_test")


def issued_quantity(session: Session, batch: Batch) -> Decimal:
    """Return the quantity covered by the batch's 合格证 that are not voided."""
    total = session.scalar(select(func.coalesce(func.sum(ComplianceCertificate.quantity), 0))
                           .where(ComplianceCertificate.batch_id == batch.id,
                                  ComplianceCertificate.voided_on.is_(None)))
    return Decimal(total)


def issue_compliance_certificate(session: Session, batch: Batch, data: dict, *, user) -> ComplianceCertificate:
    """Issue a 合格证 for a batch and append ``compliance_certificate.issued``."""
    require_batch_owner(user, batch)
    refuse_held(session, batch, "compliance")
    f = Fields(data)
    basis = f.choice("basis", BASES, BASIS)
    inspection_id = f.integer("inspection", required=basis in TESTED_BASES)
    inspection = session.get(Inspection, inspection_id) if inspection_id is not None else None
    if inspection_id is not None and (inspection is None or inspection.batch_id != batch.id):
        f.fail("inspection", _("%(field)s必须是本批次的一条检测记录的编号；"
                                  "请先登记本批次的检测，或选择本批次的检测记录。",
                                  field=f.label("inspection")))
    elif basis == "quality_control" and inspection is not None:
        inspection = None  # a quality-control promise rests on no report
    quantity = f.quantity("quantity")
    issued_on = f.date("issued_on", required=False) or clock.today()
    if issued_on > clock.today():
        f.fail("issued_on", _("开具日期不能晚于今天（%(today)s）。", today=clock.today().isoformat()))
    elif issued_on < batch.harvest_date:
        f.fail("issued_on", _("开具日期不能早于批次的采收日期 %(date)s。", date=batch.harvest_date.isoformat()))
    promiser = f.choice("promiser", PROMISERS, PROMISER) if data.get("promiser") else "producer"
    contact = f.text("contact", max_length=200)
    if quantity is not None:
        left = commitments(session, batch).free
        if quantity > left:
            f.fail("quantity", _("批次还有 %(left)s %(unit)s 未用作原料、未转交也未开具合格证，不能开具 %(want)s。",
                                 left=quantity_text(left), unit=batch.unit, want=quantity_text(quantity)))
    f.check()
    if inspection is not None and inspection.verdict != "pass":
        raise Rejected(_("检测记录 %(no)s 的结论是不合格，不能据此开具“%(basis)s”的合格证。",
                         no=inspection.report_no, basis=BASIS[basis]), {"inspection": "failed"})
    cert = ComplianceCertificate(code=unused_code(session, ComplianceCertificate.code), batch_id=batch.id, basis=basis,
                                 inspection_id=inspection.id if inspection else None, quantity=quantity,
                                 issued_on=issued_on, promiser=promiser, contact=contact, issued_by=user.username,
                                 ledger_seq=-1)
    session.add(cert)
    session.flush()
    entry = append_personal(session, "compliance_certificate.issued", user.actor(),
                            f"compliance_certificate:{cert.code}", compliance_record(cert, batch))
    cert.ledger_seq = entry.seq
    return cert


def compliance_record(cert: ComplianceCertificate, batch: Batch) -> dict:
    """Return the fields of a 合格证 as they go into its ledger entry."""
    return {"code": cert.code, "batch": batch.code, "basis": cert.basis,
            "inspection": f"inspection:{cert.inspection_id}" if cert.inspection_id else None,
            "quantity": quantity_text(cert.quantity), "unit": batch.unit, "issued_on": cert.issued_on.isoformat(),
            "promiser": cert.promiser, "promise": PROMISES[cert.promiser], "contact": cert.contact}


def get_compliance_certificate(session: Session, code: str) -> ComplianceCertificate:
    canonical = normalize_code(code) if isinstance(code, str) else None
    cert = session.scalar(select(ComplianceCertificate).where(ComplianceCertificate.code == canonical)) \
        if canonical else None
    if cert is None:
        raise NotFound(_("没有编号为 %(code)s 的合格证。", code=str(code)[:40]))
    return cert


def void_compliance_certificate(session: Session, cert: ComplianceCertificate, data: dict, *, user
                                ) -> ComplianceCertificate:
    """Void (作废) a 合格证 with a reason and append ``compliance_certificate.voided``."""
    batch = session.get(Batch, cert.batch_id)
    require_batch_owner(user, batch)
    reason = read_reason(data)
    if cert.voided_on is not None:
        raise Conflict(_("合格证 %(code)s 已于 %(date)s 作废。", code=cert.code, date=cert.voided_on.isoformat()))
    cert.voided_on, cert.void_seq = append_ending(session, user=user, kind="compliance_certificate.voided",
                                                  subject=f"compliance_certificate:{cert.code}",
                                                  date_key="voided_on", reason=reason)
    cert.void_reason = reason
    return cert


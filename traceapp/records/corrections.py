"""Correcting a batch: never an edit in place, but a ``batch.corrected`` entry naming what it
corrects, the new and the earlier values, and why; the projection then shows the new values."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import NoReturn

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from traceapp.field_labels import LABELS
from traceapp.i18n import gettext as _
from traceapp.ledger.store import ledger_of
from traceapp.records.access import require_batch_owner
from traceapp.records.models import Batch, BatchCorrection, ComplianceCertificate, Inspection
from traceapp.records.quantities import commitments
from traceapp.records.services import batch_record, read_batch_fields, refuse_duplicate_lot
from traceapp.records.values import quantity_text
from traceapp.validation import Fields, InvalidInput

# Brand and unit are not correctable: a brand claim is checked against a licence, and
# the unit is what later batches' inputs were measured in.
# A branded batch's claim is checked again when one of these changes.
CLAIM_FIELDS = {"product", "quantity", "harvest_date", "origin_region"}
CORRECTABLE = ("product", "category", "quantity", "harvest_date", "pack_date", "origin_region", "base", "gtin", "lot")


def correct_batch(session: Session, batch: Batch, data: dict, *, user) -> BatchCorrection:
    """Correct some fields of a batch and append ``batch.corrected``."""
    require_batch_owner(user, batch)
    changes = data.get("fields")
    if not isinstance(changes, dict) or not changes:
        _refuse_fields(_("请至少修改一个要更正的字段；可更正：%(names)s。", names=_field_names(CORRECTABLE)))
    unknown = sorted(set(changes) - set(CORRECTABLE))
    if unknown:
        _refuse_fields(_("%(names)s不能更正；可更正：%(allowed)s。",
                         names=_field_names(map(str, unknown)), allowed=_field_names(CORRECTABLE)))
    current = current_fields(batch)
    f = Fields({**current, **{k: ("" if v is None else v) for k, v in changes.items()}})
    new = {k: _as_record(v) for k, v in read_batch_fields(f).items()}
    reason = Fields(data, errors=f.errors).text("reason", required=False, max_length=500, multiline=True)
    if not reason and "reason" not in f.errors:
        f.fail("reason", _("更正原因是必填项：请说明更正的原因。"))
    changed = {k: new[k] for k in changes if new.get(k) != current[k]}
    if not changed and not f.errors:
        f.fail("fields", _("更正的值与当前记录相同，没有需要更正的内容；请至少修改一个字段。"))
    if "quantity" in changed and not f.errors:
        committed = commitments(session, batch).total
        if Decimal(changed["quantity"]) < committed:
            f.fail("quantity", _("数量不能少于已用作原料、已转交或已开具合格证的 %(n)s %(unit)s。",
                                 n=quantity_text(committed), unit=batch.unit))
    if "harvest_date" in changed and not f.errors:
        earliest = _earliest_later_record(session, batch)
        if earliest is not None and changed["harvest_date"] > earliest.isoformat():
            f.fail("harvest_date", _("采收日期不能晚于本批次已有的检测或合格证日期 %(date)s。",
                                     date=earliest.isoformat()))
    f.check()
    if batch.brand and CLAIM_FIELDS & set(changed):
        from traceapp.brands.services import check_claim  # brands build on records, not the reverse

        check_claim(session, slug=batch.brand, organization_id=batch.organization_id, product=new["product"],
                    harvest=date.fromisoformat(new["harvest_date"]), origin=new["origin_region"],
                    quantity=Decimal(new["quantity"]), unit=batch.unit, batch_id=batch.id)
    if "gtin" in changed or "lot" in changed:
        refuse_duplicate_lot(session, new["gtin"], new["lot"], batch_id=batch.id)
    previous = {k: current[k] for k in changed}
    correction = BatchCorrection(batch_id=batch.id, fields=changed, previous=previous, reason=reason,
                                 corrected_by=user.username, corrected_at=datetime.now(UTC).replace(tzinfo=None),
                                 ledger_seq=-1)
    apply_fields(batch, changed)
    session.add(correction)
    session.flush()
    entry = ledger_of(session).append(session, "batch.corrected", user.actor(), f"batch:{batch.code}",
                                      {"corrects": f"batch:{batch.code}", "fields": changed, "previous": previous,
                                       "reason": reason})
    correction.ledger_seq = entry.seq
    return correction


def current_fields(batch: Batch) -> dict:
    """Return the correctable fields of a batch as the ledger writes them."""
    record = batch_record(batch, [])
    return {k: record[k] for k in CORRECTABLE}


def apply_fields(batch: Batch, fields: dict) -> None:
    """Set corrected values (ledger form: strings, None) on a batch row."""
    for name, value in fields.items():
        if name in ("harvest_date", "pack_date"):
            value = None if value is None else datetime.strptime(value, "%Y-%m-%d").date()
        elif name == "quantity":
            value = Decimal(value)
        setattr(batch, name, value)


def _earliest_later_record(session: Session, batch: Batch):
    """Return the earliest inspection or 合格证 date of the batch (both must follow the harvest)."""
    dates = [session.scalar(select(func.min(Inspection.inspected_on)).where(Inspection.batch_id == batch.id)),
             session.scalar(select(func.min(ComplianceCertificate.issued_on))
                            .where(ComplianceCertificate.batch_id == batch.id))]
    return min((d for d in dates if d is not None), default=None)


def _field_names(keys) -> str:
    """Return the fields ``keys`` by their labels, as the correction form shows them."""
    return _("、").join(str(LABELS.get(key, key)) for key in keys)


def _refuse_fields(message: str) -> NoReturn:
    # InvalidInput like every other field error, so the correction form shows it inline.
    raise InvalidInput(message, {"fields": message})


def _as_record(value):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return quantity_text(value)
    return value.isoformat()


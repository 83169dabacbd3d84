"""Recording inspections: an inspection body's report on one batch, item by item."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.errors import Conflict, NotFound
from traceapp.field_labels import ITEM_LABELS
from traceapp.i18n import gettext as _
from traceapp.ledger.store import ledger_of
from traceapp.records.access import acting_organization, require_role
from traceapp.records.labels import VERDICT
from traceapp.records.models import VERDICTS, Batch, Inspection
from traceapp.records.services import get_batch
from traceapp.validation import Fields

MAX_ITEMS = 100


def record_inspection(session: Session, data: dict, *, user) -> Inspection:
    """Record an inspection of a batch and append ``inspection.recorded``.

    Inspectors record for their own inspection body (``body`` may be omitted); an admin
    names the body. An overall ``pass`` with a failed item is refused.
    """
    require_role(user, "inspector")
    f = Fields(data)
    body_id = f.integer("body", required=user.role == "admin")
    body = acting_organization(session, user, body_id, "inspection_body")
    if body is None and body_id is not None:
        f.fail("body", _("没有编号为 %(id)s 的组织。", id=body_id))
    elif body is not None and body.kind != "inspection_body":
        f.fail("body", _("%(field)s必须是一家检测机构；请选择已登记的检测机构。", field=f.label("body")))
    code = f.text("batch", max_length=40)
    batch = _batch(session, code, f)
    inspected_on = f.past_date("inspected_on")
    if inspected_on and batch and inspected_on < batch.harvest_date:
        f.fail("inspected_on", _("检测日期不能早于批次的采收日期 %(date)s。", date=batch.harvest_date.isoformat()))
    report_no = f.text("report_no", max_length=64)
    items = _items(f, data.get("items"))
    verdict = f.choice("verdict", VERDICTS, VERDICT)
    if verdict == "pass" and any(item["verdict"] == "fail" for item in items):
        f.fail("verdict", _("有不合格的检测项目时，%(field)s不能是合格；请改为不合格，或核对各项目的判定。",
                             field=f.label("verdict")))
    f.check()
    if session.scalar(select(Inspection.id).where(Inspection.body_id == body.id, Inspection.report_no == report_no)):
        raise Conflict(_("检测报告编号 %(no)s 已经登记过。", no=report_no), {"report_no": "duplicate"})
    inspection = Inspection(batch_id=batch.id, inspected_on=inspected_on, body_id=body.id, report_no=report_no,
                            items=items, verdict=verdict, recorded_by=user.username, ledger_seq=-1)
    session.add(inspection)
    session.flush()
    entry = ledger_of(session).append(session, "inspection.recorded", user.actor(), f"inspection:{inspection.id}",
                                      inspection_record(inspection, batch))
    inspection.ledger_seq = entry.seq
    return inspection


def inspection_record(inspection: Inspection, batch: Batch) -> dict:
    """Return the fields of an inspection as they go into its ledger entry."""
    return {"batch": batch.code, "inspected_on": inspection.inspected_on.isoformat(),
            "body": f"org:{inspection.body_id}", "report_no": inspection.report_no, "items": inspection.items,
            "verdict": inspection.verdict}


def _batch(session: Session, code: str, f: Fields) -> Batch | None:
    if not code:
        return None
    try:
        return get_batch(session, code)
    except NotFound as exc:
        f.fail("batch", exc.message)
        return None


ITEM_TEXT = (("name", 100, True), ("method", 100, True), ("value", 40, True), ("limit", 40, False),
             ("unit", 20, False))


def _items(f: Fields, raw) -> list[dict]:
    if not isinstance(raw, list) or not raw or len(raw) > MAX_ITEMS:
        f.fail("items", _("%(field)s必须是 1 到 %(n)d 项的列表；"
                          "每项请填写%(name)s、%(method)s、%(value)s和%(verdict)s。",
                          field=f.label("items"), n=MAX_ITEMS, name=ITEM_LABELS["name"],
                          method=ITEM_LABELS["method"], value=ITEM_LABELS["value"], verdict=ITEM_LABELS["verdict"]))
        return []
    items = []
    for i, item in enumerate(raw):
        g = f.nested(item if isinstance(item, dict) else {}, f"items[{i}]", labels=ITEM_LABELS,
                     label=_("第 %(n)d 个检测项目", n=i + 1))
        read = {name: g.text(name, required=required, max_length=length) for name, length, required in ITEM_TEXT}
        read["verdict"] = g.choice("verdict", VERDICTS, VERDICT)
        items.append(read)
    return items

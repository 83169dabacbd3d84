"""The batch's story on its consumer page: every ledger entry about the batch, oldest first, each with
its local date, what happened in plain words and its entry number.

About the batch are: the entries on the batch itself (registration, corrections, label prints,
transfers, recalls and their lifting, its code frozen, unfrozen or voided), those of its inspections,
of its 合格证, of the certificates the page shows (those valid on the harvest date) and the recall
entries of its recalled sources. One query reads them by subject; the words come from their bodies,
the way the entry recorded them (a correction shows the old and the new value).
"""

from __future__ import annotations

import json

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from traceapp import clock
from traceapp.i18n import gettext as _
from traceapp.i18n import ngettext
from traceapp.ledger.store import LedgerEntry
from traceapp.numbers import format_quantity
from traceapp.personal.fields import public_name
from traceapp.records import labels
from traceapp.records.models import Batch, Organization
from traceapp.records.recalls import LIFTED, RECALLED


def timeline(session: Session, batch: Batch, view: dict) -> list[dict]:
    """Return the story of ``batch`` (whose page's ``view`` names its inspections, certificates, 合格证
    and recalled sources): ``{seq, date, kind, text, details}`` per entry, in ledger order."""
    subjects = [f"batch:{batch.code}", *(f"inspection:{i['id']}" for i in view["inspections"]),
                *(f"certification:{c['id']}" for c in view["certifications"]),
                *(f"compliance_certificate:{c['code']}" for c in view["compliance_certificates"])]
    about = LedgerEntry.subject.in_(subjects)
    recalled = [f"batch:{r['code']}" for r in view["recalled_sources"]]
    if recalled:
        about = or_(about, and_(LedgerEntry.subject.in_(recalled), LedgerEntry.kind.in_((RECALLED, LIFTED))))
    rows = session.execute(select(LedgerEntry.seq, LedgerEntry.kind, LedgerEntry.subject, LedgerEntry.body)
                           .where(about).order_by(LedgerEntry.seq)).all()
    entries = [(row.seq, row.kind, row.subject, json.loads(bytes(row.body))) for row in rows]
    names = _organization_names(session, entries)
    own = f"batch:{batch.code}"
    story = []
    for seq, kind, subject, entry in entries:
        data = entry.get("data") or {}
        if subject.startswith("batch:") and subject != own:
            text, details = _source_recall(kind, subject.removeprefix("batch:"), data)
        else:
            text, details = _words(kind, data, names)
        story.append({"seq": seq, "date": clock.local_date(entry.get("ts")), "kind": kind, "text": text,
                      "details": details})
    return story


def _organization_names(session: Session, entries: list) -> dict[str, str]:
    """The names of the organizations the entries refer to (``org:<id>``), e.g. a transfer's receiver."""
    refs = {data.get("to") for _seq, _kind, _subject, entry in entries for data in [entry.get("data") or {}]}
    ids = [int(ref[4:]) for ref in refs if isinstance(ref, str) and ref.startswith("org:") and ref[4:].isdigit()]
    if not ids:
        return {}
    return {f"org:{i}": public_name(name, kind) for i, name, kind in session.execute(
        select(Organization.id, Organization.name, Organization.kind).where(Organization.id.in_(ids)))}


def _amount(data: dict, key: str = "quantity") -> str:
    return f"{format_quantity(data.get(key))} {data.get('unit') or ''}".strip()


def _value(field: str, value) -> str:
    """A corrected field's value as people read it."""
    if value is None or value == "":
        return "—"
    if field == "category":
        return labels.label_of(labels.CATEGORY, value)
    if field == "quantity":
        return format_quantity(value)
    return str(value)


def _words(kind: str, data: dict, names: dict[str, str]) -> tuple[str, list[str]]:
    """(sentence, detail lines) for an entry of ``kind`` about the batch or its records."""
    if kind == "batch.registered":
        details = [_("采收日期 %(date)s", date=data.get("harvest_date") or "—")]
        if data.get("pack_date"):
            details.append(_("包装日期 %(date)s", date=data["pack_date"]))
        if data.get("base"):
            details.append(_("生产基地 %(base)s", base=data["base"]))
        if data.get("inputs"):
            details.append(_("由 %(n)d 个原料批次加工或合并而成（见下方原料来源）", n=len(data["inputs"])))
        return _("登记批次：%(product)s，%(amount)s", product=data.get("product", ""), amount=_amount(data)), details
    if kind == "batch.corrected":
        previous = data.get("previous") or {}
        changes = [_("%(field)s：%(old)s → %(new)s", field=labels.label_of(labels.FIELD, field),
                     old=_value(field, previous.get(field)), new=_value(field, value))
                   for field, value in sorted((data.get("fields") or {}).items())]
        return _("更正记录，原因：%(reason)s", reason=data.get("reason", "")), changes
    if kind == "batch.labels_printed":
        return ngettext("打印标签 %(num)d 张，每件 %(amount)s", "打印标签 %(num)d 张，每件 %(amount)s",
                        int(data.get("labels") or 0), amount=_amount(data, "package_quantity")), []
    if kind == "batch.transferred":
        return _("转交 %(amount)s 给 %(to)s", amount=_amount(data),
                 to=names.get(data.get("to"), _("另一家单位"))), []
    if kind == RECALLED:
        return _("召回本批次：%(reason)s", reason=data.get("reason", "")), [
            labels.label_of(labels.RECALL_SCOPE, data.get("scope", "batch"))]
    if kind == LIFTED:
        return _("解除召回：%(reason)s", reason=data.get("reason", "")), []
    if kind == "code.frozen":
        return _("追溯码被暂时冻结：%(reason)s", reason=data.get("reason", "")), []
    if kind == "code.unfrozen":
        return _("追溯码解除冻结：%(reason)s", reason=data.get("reason", "")), []
    if kind == "code.voided":
        return _("追溯码作废：%(reason)s", reason=data.get("reason", "")), []
    if kind == "inspection.recorded":
        items = [f"{item.get('name', '')} {item.get('value', '')} {item.get('unit', '')} · "
                 f"{labels.label_of(labels.VERDICT, item.get('verdict'))}".replace("  ", " ")
                 for item in data.get("items") or ()]
        return _("检测（%(date)s，报告编号 %(report)s）：%(verdict)s", date=data.get("inspected_on", ""),
                 report=data.get("report_no", ""), verdict=labels.label_of(labels.VERDICT, data.get("verdict"))), items
    if kind == "certification.issued":
        return _("%(kind)s认证 %(number)s，有效期 %(start)s 至 %(end)s，采收日期在有效期内",
                 kind=labels.label_of(labels.CERT_KIND, data.get("kind")), number=data.get("number", ""),
                 start=data.get("valid_from", ""), end=data.get("valid_to", "")), []
    if kind == "certification.revoked":
        return _("认证被撤销（%(date)s）：%(reason)s", date=data.get("revoked_on", ""),
                 reason=data.get("reason", "")), []
    if kind == "compliance_certificate.issued":
        return _("开具承诺达标合格证 %(code)s：%(amount)s，%(basis)s", code=data.get("code", ""), amount=_amount(data),
                 basis=labels.label_of(labels.BASIS, data.get("basis"))), []
    if kind == "compliance_certificate.voided":
        return _("合格证作废：%(reason)s", reason=data.get("reason", "")), []
    return _("其他记录"), []


def _source_recall(kind: str, code: str, data: dict) -> tuple[str, list[str]]:
    if kind == RECALLED:
        return _("原料批次 %(code)s 被召回：%(reason)s", code=code, reason=data.get("reason", "")), []
    return _("原料批次 %(code)s 解除召回：%(reason)s", code=code, reason=data.get("reason", "")), []

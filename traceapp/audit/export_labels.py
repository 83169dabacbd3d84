"""What a person reads in a spreadsheet export and in the export log, in the request's language: the
names of the codes an export carries (event kinds, document types, verdicts and states, categories)
and the log's words for how, in what and under which filters someone exported.

A download streams after its request has ended, so :func:`sheet_labels` resolves every table into
plain strings while the request is still there, and the writers only look words up."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.audit.exports import EVENT_NAMES
from traceapp.brands.models import Brand
from traceapp.i18n import current_language
from traceapp.i18n import gettext as _
from traceapp.i18n import lazy_gettext as _l
from traceapp.records import labels, regions
from traceapp.records.models import Organization

CERTIFICATE_DOCS = {"pollution_free": _l("无公害农产品证书"), "green_food": _l("绿色食品证书"),
                    "organic": _l("有机农产品证书"), "geographical_indication": _l("农产品地理标志证书")}
DOC_TYPES = {"inspection_report": _l("检测报告"), "compliance_certificate": _l("承诺达标合格证"),
             "license": _l("品牌使用许可"), "correction": _l("更正记录"), "recall": _l("召回"),
             "label_print": _l("标签打印"), "code_state": _l("追溯码状态")}
STATUSES = {"registered": _l("已登记"), "pass": _l("合格"), "fail": _l("不合格"), "issued": _l("已颁发"),
            "revoked": _l("已撤销"), "voided": _l("已作废"), "granted": _l("已许可"), "corrected": _l("已更正"),
            "lifted": _l("已解除召回"), "frozen": _l("已冻结"), "unfrozen": _l("已解冻"),
            "recalled (batch)": _l("已召回（仅本批次）"),
            "recalled (downstream)": _l("已召回（含以本批次为原料的产品）")}
# Words with a place for a value, filled in as the rows stream.
PATTERNS = {"labels": _l("{n} 张标签"), "valid": _l("有效期 {start} 至 {end}"),
            "valid_issuer": _l("有效期 {start} 至 {end}，发证机构：{issuer}"), "quantity": _l("数量 {quantity}")}

VIA = {"session": _l("网页"), "token": _l("API"), "cli": _l("命令行")}
FORMATS = {"csv": _l("CSV"), "xlsx": _l("Excel（XLSX）"), "epcis": _l("EPCIS 2.0（JSON-LD）"),
           "bundle": _l("账本审计包")}
LOG_STATUSES = {"started": _l("进行中"), "complete": _l("已完成"), "aborted": _l("已中断（下载未完成）"),
                "failed": _l("失败")}


@dataclass(frozen=True)
class SheetLabels:
    """Every word a spreadsheet export shows, in one language, as plain strings."""

    language: str
    events: dict[str, str]
    categories: dict[str, str]
    doc_types: dict[str, str]
    statuses: dict[str, str]
    bases: dict[str, str]
    fields: dict[str, str]
    patterns: dict[str, str]

    def doc_type(self, code: str | None) -> str | None:
        """Return the document type's name ("certificate:pollution_free" -> 无公害农产品证书)."""
        if code is None:
            return None
        return self.doc_types.get(code, code)

    def status(self, code: str | None) -> str | None:
        """Return the name of a verdict or state; a 合格证's status is its basis."""
        if code is None:
            return None
        found = self.statuses.get(code) or self.bases.get(code)
        if found is not None:
            return found
        count, _space, rest = code.partition(" ")
        if rest == "labels" and count.isdigit():
            return self.patterns["labels"].format(n=count)
        return code


def sheet_labels(language: str | None = None) -> SheetLabels:
    """Return the export's words in the request's language (or ``language``); call it in the request."""
    language = language or current_language()
    english = language == "en"
    tables = labels.translated_labels()
    doc_types = {code: str(text) for code, text in DOC_TYPES.items()}
    doc_types.update((f"certificate:{kind}", str(text)) for kind, text in CERTIFICATE_DOCS.items())
    return SheetLabels(
        language=language,
        events={kind: names[1] if english else names[0] for kind, names in EVENT_NAMES.items()},
        categories=dict(tables["category"]), doc_types=doc_types,
        statuses={code: str(text) for code, text in STATUSES.items()}, bases=dict(tables["basis"]),
        fields=dict(tables["field"]), patterns={key: str(text) for key, text in PATTERNS.items()})


# -- the export log -----------------------------------------------------------------------------------

def via_text(via: str) -> str:
    return str(VIA.get(via, via))


def format_text(fmt: str) -> str:
    return str(FORMATS.get(fmt, fmt))


def log_status_text(status: str) -> str:
    return str(LOG_STATUSES.get(status, status))


def filters_text(session: Session, raw: str | None) -> str:
    """Return an export's stored filters as a sentence: "品牌：炎陵黄桃；事件日期：2026-01-01 至 …" (names,
    not slugs or ids, where the record still exists); "全部" for none."""
    shown = json.loads(raw or "{}")
    parts = []
    if shown.get("brand"):
        name = session.scalar(select(Brand.name).where(Brand.slug == shown["brand"]))
        parts.append(_("品牌：%(name)s", name=name or shown["brand"]))
    if shown.get("producer") is not None:
        name = session.scalar(select(Organization.name).where(Organization.id == int(shown["producer"])))
        parts.append(_("生产主体：%(name)s", name=name or f"#{shown['producer']}"))
    if shown.get("region"):
        region = regions.get(shown["region"])
        parts.append(_("产地：%(name)s", name=regions.full_name(shown["region"]) if region else shown["region"]))
    start, end = shown.get("date_from"), shown.get("date_to")
    if start or end:
        parts.append(_("事件日期：%(start)s 至 %(end)s", start=start or "…", end=end or "…"))
    if shown.get("recall"):
        parts.append(_("召回批次：%(code)s", code=shown["recall"]))
    return _("；").join(parts) if parts else _("全部")

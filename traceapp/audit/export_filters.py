"""Filters of an export (``brand``, ``producer``, ``region``, ``from``, ``to``, ``recall``) and its
format, checked with messages that name the field and the rule (InvalidField, in the user's language).
See :mod:`traceapp.audit.exports` for what each filter selects."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.audit.filters import Filters, named, read_filters, value_of
from traceapp.errors import InvalidField
from traceapp.i18n import gettext as _
from traceapp.ledger.store import LedgerEntry
from traceapp.params import machine_client
from traceapp.records.codes import normalize_code
from traceapp.records.models import Batch
from traceapp.records.recalls import RECALLED

FORMATS = ("csv", "xlsx", "epcis", "bundle")
CHUNK = 2000  # codes per IN (...)


@dataclass(frozen=True)
class ExportFilters(Filters):
    """Validated filters; None means "not filtered". ``recall_batches`` holds the batch ids of ``recall``."""

    recall: str | None = None
    recall_batches: tuple[int, ...] | None = None

    def args(self) -> dict[str, str]:
        return super().args() | ({"recall": self.recall} if self.recall else {})

    def describe(self) -> dict:
        """Return the filters as the access log stores them (set ones only, JSON-ready)."""
        return super().describe() | ({"recall": self.recall} if self.recall else {})


def parse_format(args: Mapping[str, str]) -> str:
    """Return the requested format; raise InvalidField unless it is one of FORMATS."""
    value = (args.get("format") or "").strip().lower()
    if value not in FORMATS:
        value = (args.get("format") or "")[:40]
        if machine_client():  # a program names the format by its code
            raise InvalidField("format", _("格式（format）必须是 csv、xlsx、epcis 或 bundle 之一，"
                                           "收到的是“%(value)s”。", value=value))
        raise InvalidField("format", _("请用页面上的下载按钮选择格式（Excel、CSV、EPCIS 或账本审计包）；"
                                       "收到的格式是“%(value)s”。", value=value))
    return value


def parse_filters(session: Session, args: Mapping[str, str]) -> ExportFilters:
    """Check the filter parameters (``brand``, ``producer``, ``region``, ``from``, ``to``, ``recall``)
    and return them; raise InvalidField naming the first bad one and the rule it breaks. Empty
    parameters are ignored."""
    common = read_filters(session, args, producers_only=True)
    recall = value_of(args, "recall")
    recall, recall_batches = _recall(session, recall) if recall else (None, None)
    return ExportFilters(**asdict(common), recall=recall, recall_batches=recall_batches)


def _recall(session: Session, value: str) -> tuple[str, tuple[int, ...]]:
    code = normalize_code(value)
    if code is None:
        raise InvalidField("recall", _("%(field)s必须是 13 位字母和数字的批次码，收到的是“%(value)s”。",
                                       field=named("recall"),
                                       value=value[:40]))
    if session.scalar(select(Batch.id).where(Batch.code == code)) is None:
        raise InvalidField("recall", _("%(field)s：没有批次码为 %(code)s 的批次。", field=named("recall"), code=code))
    origin = f"batch:{code}"
    subjects = {subject for subject, body in session.execute(
        select(LedgerEntry.subject, LedgerEntry.body).where(LedgerEntry.kind == RECALLED))
        if json.loads(bytes(body))["data"].get("origin") == origin}
    if not subjects:
        raise InvalidField("recall", _("%(field)s：批次 %(code)s 没有发起过召回；"
                                       "请填写召回时选定的那个批次的批次码。", field=named("recall"), code=code))
    codes = sorted(s.removeprefix("batch:") for s in subjects)
    ids: list[int] = []
    for start in range(0, len(codes), CHUNK):
        ids.extend(session.scalars(select(Batch.id).where(Batch.code.in_(codes[start:start + CHUNK]))))
    return code, tuple(sorted(ids))

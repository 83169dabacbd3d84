"""Filters of an export (``brand``, ``producer``, ``region``, ``from``, ``to``, ``recall``) and its
format, checked with messages that name the field and the rule (InvalidField, in the user's language).
See :mod:`traceapp.audit.exports` for what each filter selects."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.brands.models import Brand
from traceapp.errors import InvalidField
from traceapp.i18n import gettext as _
from traceapp.ledger.store import LedgerEntry
from traceapp.records import regions
from traceapp.records.codes import normalize_code
from traceapp.records.models import Batch, Organization
from traceapp.records.recalls import RECALLED

FORMATS = ("csv", "xlsx", "epcis", "bundle")
PRODUCER_KINDS = ("cooperative", "enterprise", "family_farm", "individual")
CHUNK = 2000  # codes per IN (...)


@dataclass(frozen=True)
class ExportFilters:
    """Validated filters; None means "not filtered". ``recall_batches`` holds the batch ids of ``recall``."""

    brand: str | None = None
    producer: int | None = None
    region: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    recall: str | None = None
    recall_batches: tuple[int, ...] | None = None

    def describe(self) -> dict:
        """Return the filters as the access log stores them (set ones only, JSON-ready)."""
        shown = {k: v for k, v in asdict(self).items() if v is not None and k != "recall_batches"}
        for key in ("date_from", "date_to"):
            if key in shown:
                shown[key] = shown[key].isoformat()
        return shown


# -- filters --------------------------------------------------------------------------------------

_SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_format(args: Mapping[str, str]) -> str:
    """Return the requested format; raise InvalidField unless it is one of FORMATS."""
    value = (args.get("format") or "").strip().lower()
    if value not in FORMATS:
        raise InvalidField("format", _("参数 format 必须是 csv、xlsx、epcis 或 bundle 之一，收到的是“%(value)s”。",
                                       value=(args.get("format") or "")[:40]))
    return value


def parse_filters(session: Session, args: Mapping[str, str]) -> ExportFilters:
    """Check the filter parameters (``brand``, ``producer``, ``region``, ``from``, ``to``, ``recall``)
    and return them; raise InvalidField naming the first bad one and the rule it breaks. Empty
    parameters are ignored."""
    raw = {key: (args.get(key) or "").strip() for key in ("brand", "producer", "region", "from", "to", "recall")}
    brand = _brand(session, raw["brand"]) if raw["brand"] else None
    producer = _producer(session, raw["producer"]) if raw["producer"] else None
    region = _region(raw["region"]) if raw["region"] else None
    date_from = _date("from", raw["from"]) if raw["from"] else None
    date_to = _date("to", raw["to"]) if raw["to"] else None
    if date_from and date_to and date_from > date_to:
        raise InvalidField("from", _("参数 from（%(start)s）不能晚于 to（%(end)s）。",
                                     start=date_from.isoformat(), end=date_to.isoformat()))
    recall, recall_batches = _recall(session, raw["recall"]) if raw["recall"] else (None, None)
    return ExportFilters(brand, producer, region, date_from, date_to, recall, recall_batches)


def _brand(session: Session, value: str) -> str:
    slug = value.lower()
    if len(slug) > 64 or not _SLUG.fullmatch(slug):
        raise InvalidField("brand", _("参数 brand 必须是品牌的拼音标识（小写字母、数字和连字符，"
                                      "例如 yanling-huangtao），收到的是“%(value)s”。", value=value[:40]))
    if session.scalar(select(Brand.id).where(Brand.slug == slug)) is None:
        raise InvalidField("brand", _("参数 brand：没有标识为 %(slug)s 的品牌。", slug=slug))
    return slug


def _producer(session: Session, value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", value) or int(value) == 0:
        raise InvalidField("producer", _("参数 producer 必须是生产主体的组织编号（正整数），收到的是“%(value)s”。",
                                         value=value[:40]))
    kind = session.scalar(select(Organization.kind).where(Organization.id == int(value)))
    if kind is None:
        raise InvalidField("producer", _("参数 producer：没有编号为 %(id)s 的组织。", id=value))
    if kind not in PRODUCER_KINDS:
        raise InvalidField("producer", _("参数 producer：组织 %(id)s 不是生产主体（它的类型是 %(kind)s）。",
                                         id=value, kind=kind))
    return int(value)


def _region(value: str) -> str:
    if not re.fullmatch(r"[0-9]{6}", value):
        raise InvalidField("region", _("参数 region 必须是 6 位行政区划代码（GB/T 2260），收到的是“%(value)s”。",
                                       value=value[:40]))
    if not regions.is_valid(value):
        raise InvalidField("region", _("参数 region：%(code)s 不是已知的行政区划代码（数据版本 %(version)s）。",
                                       code=value, version=regions.DATA_VERSION))
    return value


def _date(name: str, value: str) -> date:
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidField(name, _("参数 %(name)s 必须是 YYYY-MM-DD 格式的日期，收到的是“%(value)s”。",
                                   name=name, value=value[:40])) from None


def _recall(session: Session, value: str) -> tuple[str, tuple[int, ...]]:
    code = normalize_code(value)
    if code is None:
        raise InvalidField("recall", _("参数 recall 必须是批次码（13 位字母和数字），收到的是“%(value)s”。",
                                       value=value[:40]))
    if session.scalar(select(Batch.id).where(Batch.code == code)) is None:
        raise InvalidField("recall", _("参数 recall：没有批次码为 %(code)s 的批次。", code=code))
    origin = f"batch:{code}"
    subjects = {subject for subject, body in session.execute(
        select(LedgerEntry.subject, LedgerEntry.body).where(LedgerEntry.kind == RECALLED))
        if json.loads(bytes(body))["data"].get("origin") == origin}
    if not subjects:
        raise InvalidField("recall", _("参数 recall：批次 %(code)s 没有发起过召回；"
                                       "请填写召回时选定的那个批次的批次码。", code=code))
    codes = sorted(s.removeprefix("batch:") for s in subjects)
    ids: list[int] = []
    for start in range(0, len(codes), CHUNK):
        ids.extend(session.scalars(select(Batch.id).where(Batch.code.in_(codes[start:start + CHUNK]))))
    return code, tuple(sorted(ids))


def region_codes(code: str) -> list[str]:
    """Return the division ``code`` and every division inside it (GB/T 2260 containment)."""
    return [r.code for r in regions.all_regions() if regions.contains(code, r.code)]

"""The filters the regulator's lists and exports share: ``region`` (a GB/T 2260 code; a province or city
includes everything inside it), ``brand`` (slug), ``producer`` (organization id), ``from`` and ``to``
(dates, inclusive), read from a query string with messages that name the filter as the filter
forms show it and the rule it breaks (InvalidField, in the user's language). Exports add ``recall``
(:mod:`traceapp.audit.export_filters`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.brands.models import Brand
from traceapp.brands.services import SLUG
from traceapp.errors import InvalidField
from traceapp.i18n import gettext as _
from traceapp.i18n import lazy_gettext as _l
from traceapp.params import param_name
from traceapp.records import regions
from traceapp.records.labels import ORG_KIND, label_of
from traceapp.records.models import PRODUCER_KINDS, Organization

NAMES = ("region", "brand", "producer", "from", "to")
# How messages name each filter: the words of the risk desk's and the export form's fields.
LABELS = {"region": _l("行政区划代码"), "brand": _l("品牌"), "producer": _l("生产主体"), "from": _l("开始日期"),
          "to": _l("终止日期"), "recall": _l("召回批次码")}


def named(key: str) -> str:
    """Return how a message names the filter ``key`` (see ``params.param_name``)."""
    return param_name(key, LABELS)


@dataclass(frozen=True)
class Filters:
    """What a list or an export is narrowed to; None means no narrowing."""

    region: str | None = None
    brand: str | None = None
    producer: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    def args(self) -> dict[str, str]:
        """Return the filters as query-string arguments (for links and the next page)."""
        values = {"region": self.region, "brand": self.brand, "producer": self.producer,
                  "from": self.date_from.isoformat() if self.date_from else None,
                  "to": self.date_to.isoformat() if self.date_to else None}
        return {k: str(v) for k, v in values.items() if v is not None}

    def describe(self) -> dict:
        """Return the filters that are set, JSON-ready, under the dataclass's field names (the access log)."""
        shown = {"region": self.region, "brand": self.brand, "producer": self.producer,
                 "date_from": self.date_from.isoformat() if self.date_from else None,
                 "date_to": self.date_to.isoformat() if self.date_to else None}
        return {k: v for k, v in shown.items() if v is not None}

    def __bool__(self) -> bool:
        return bool(self.args())

    def batch_clauses(self, batch) -> list:
        """WHERE clauses for findings about a batch (``batch``: the Batch model, an alias or its table's
        columns): its origin inside ``region``, its ``brand``, its ``producer``."""
        return ([batch.origin_region.in_(region_codes(self.region))] if self.region else []) + (
            [batch.brand == self.brand] if self.brand else []) + (
            [batch.organization_id == self.producer] if self.producer else [])

    def date_clauses(self, column) -> list:
        """WHERE clauses keeping a DATE column within from/to (both included)."""
        return ([column >= self.date_from] if self.date_from else []) + (
            [column <= self.date_to] if self.date_to else [])


@cache
def region_codes(code: str) -> tuple[str, ...]:
    """Return ``code`` and every division inside it, in the pinned GB/T 2260 table (what
    :func:`traceapp.records.regions.contains` says)."""
    return tuple(r.code for r in regions.all_regions() if regions.contains(code, r.code))


def read_filters(session: Session, args: Mapping[str, str], *, producers_only: bool = False) -> Filters:
    """Return the filters in ``args`` (a query string); raise InvalidField naming the first bad one.

    A region must be in the pinned table, a brand registered, a producer an organization (with
    ``producers_only``, one that produces: a cooperative, enterprise, family farm or individual); ``from``
    may not be after ``to``. Empty parameters are ignored."""
    region = _region(args)
    brand = _brand(session, args)
    producer = _producer(session, args, producers_only)
    date_from, date_to = _date(args, "from"), _date(args, "to")
    if date_from and date_to and date_from > date_to:
        raise InvalidField("from", _("%(from)s（%(start)s）不能晚于%(to)s（%(end)s）。", start=date_from.isoformat(),
                                     end=date_to.isoformat(), **{"from": named("from"), "to": named("to")}))
    return Filters(region, brand, producer, date_from, date_to)


def value_of(args: Mapping[str, str], name: str) -> str | None:
    """Return the parameter stripped, or None when it is missing or empty."""
    raw = args.get(name)
    return raw.strip() if raw is not None and raw.strip() else None


def _region(args: Mapping[str, str]) -> str | None:
    value = value_of(args, "region")
    if value is None:
        return None
    if not re.fullmatch(r"[0-9]{6}", value):
        raise InvalidField("region", _("%(field)s必须是 6 位数字（GB/T 2260），例如 430225；收到的是“%(value)s”。",
                                       field=named("region"), value=value[:40]))
    if not regions.is_valid(value):
        raise InvalidField("region", _("%(field)s %(code)s 不是已知的行政区划（数据版本 %(version)s），请核对代码。",
                                       field=named("region"), code=value, version=regions.DATA_VERSION))
    return value


def _brand(session: Session, args: Mapping[str, str]) -> str | None:
    value = value_of(args, "brand")
    if value is None:
        return None
    slug = value.lower()
    if len(slug) > 64 or not re.fullmatch(SLUG, slug):
        raise InvalidField("brand", _("%(field)s必须填写品牌的拼音标识（小写字母、数字和连字符，"
                                      "例如 yanling-huangtao），收到的是“%(value)s”。", field=named("brand"),
                                      value=value[:40]))
    if session.scalar(select(Brand.id).where(Brand.slug == slug)) is None:
        raise InvalidField("brand", _("%(field)s：没有拼音标识为 %(slug)s 的品牌，请在品牌目录中核对。",
                                      field=named("brand"), slug=slug))
    return slug


def _producer(session: Session, args: Mapping[str, str], producers_only: bool) -> int | None:
    value = value_of(args, "producer")
    if value is None:
        return None
    if not re.fullmatch(r"[1-9][0-9]{0,8}", value):
        raise InvalidField("producer", _("%(field)s必须填写生产主体的组织编号（正整数），收到的是“%(value)s”。",
                                         field=named("producer"), value=value[:40]))
    kind = session.scalar(select(Organization.kind).where(Organization.id == int(value)))
    if kind is None:
        raise InvalidField("producer", _("%(field)s：没有编号为 %(id)s 的组织。", field=named("producer"), id=value))
    if producers_only and kind not in PRODUCER_KINDS:
        raise InvalidField("producer", _("%(field)s：组织 %(id)s 不是生产主体（它是%(kind)s）；"
                                         "请填写合作社、企业、家庭农场或个人的编号。",
                                         field=named("producer"), id=value, kind=label_of(ORG_KIND, kind)))
    return int(value)


def _date(args: Mapping[str, str], name: str) -> date | None:
    raw = value_of(args, name)
    if raw is None:
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidField(name, _("%(field)s必须是 YYYY-MM-DD 格式的日期，例如 2026-08-01；收到的是“%(value)s”。",
                                   field=named(name), value=raw[:40])) from None

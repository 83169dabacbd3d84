"""The filters every risk list takes: ``region`` (GB/T 2260 code; a province or city includes
everything inside it), ``brand`` (slug), ``producer`` (organization id), ``from`` and ``to`` (dates),
read from a query string with messages that name the parameter and the rule it breaks."""

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
from traceapp.records import regions
from traceapp.records.models import Organization

NAMES = ("region", "brand", "producer", "from", "to")


@dataclass(frozen=True)
class Filters:
    """What a risk list is narrowed to; None means no narrowing."""

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

    def __bool__(self) -> bool:
        return bool(self.args())


@cache
def region_codes(code: str) -> tuple[str, ...]:
    """Return ``code`` and every division inside it, in the pinned GB/T 2260 table (what
    :func:`traceapp.records.regions.contains` says)."""
    return tuple(r.code for r in regions.all_regions() if regions.contains(code, r.code))


def read_filters(session: Session, args: Mapping[str, str]) -> Filters:
    """Return the filters in ``args`` (a query string); raise InvalidField naming the first bad one.

    A brand must be registered and a producer must be an organization; a region must be in the
    pinned table; ``to`` may not be before ``from``."""
    region = _value(args, "region")
    if region is not None and not (re.fullmatch(r"[0-9]{6}", region) and regions.is_valid(region)):
        raise InvalidField("region", _("筛选条件 region 必须是已知的 6 位行政区划代码（GB/T 2260，例如省 430000、"
                                       "市 430200、县 430225），收到的是“%(value)s”。", value=region[:40]))
    brand = _value(args, "brand")
    if brand is not None:
        brand = brand.lower()
        if not (re.fullmatch(SLUG, brand) and len(brand) <= 64
                and session.scalar(select(Brand.id).where(Brand.slug == brand))):
            raise InvalidField("brand", _("筛选条件 brand 必须是已登记品牌的标识（slug，例如 yanling-huangtao），"
                                          "收到的是“%(value)s”。", value=brand[:64]))
    producer = _value(args, "producer")
    producer_id = None
    if producer is not None:
        producer_id = int(producer) if re.fullmatch(r"[1-9][0-9]{0,8}", producer) else None
        if producer_id is None or session.get(Organization, producer_id) is None:
            raise InvalidField("producer", _("筛选条件 producer 必须是已登记组织的编号（正整数），"
                                             "收到的是“%(value)s”。", value=producer[:40]))
    date_from, date_to = _date(args, "from"), _date(args, "to")
    if date_from and date_to and date_to < date_from:
        raise InvalidField("to", _("筛选条件 to（%(to)s）不能早于 from（%(from)s）。", to=date_to.isoformat(),
                                   **{"from": date_from.isoformat()}))
    return Filters(region, brand, producer_id, date_from, date_to)


def _value(args: Mapping[str, str], name: str) -> str | None:
    raw = args.get(name)
    return raw.strip() if raw is not None and raw.strip() else None


def _date(args: Mapping[str, str], name: str) -> date | None:
    raw = _value(args, name)
    if raw is None:
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidField(name, _("筛选条件 %(name)s 必须是 YYYY-MM-DD 格式的日期，收到的是“%(value)s”。",
                                   name=name, value=raw[:40])) from None

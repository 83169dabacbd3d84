"""The three dashboards as lists of figures: each figure is a chart and the table of the same figures
(headers and rows of text), which the page shows side by side and the CSV download writes out, so the
picture, the table and the file cannot disagree. Who may see which dashboard is decided here (the
``scope_*`` functions), not in the views, so every way in gets the same answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp import charts
from traceapp.audit.filters import Filters, named
from traceapp.brands.models import Brand
from traceapp.dashboards import queries
from traceapp.errors import Forbidden, InvalidField
from traceapp.i18n import gettext as _
from traceapp.i18n import ngettext
from traceapp.numbers import format_quantity
from traceapp.records.access import require_role
from traceapp.records.models import PRODUCER_KINDS, Organization

DEFAULT_MONTHS = 12  # what a dashboard shows before anyone picks dates: the last year, month by month
MAX_MONTHS = 120  # a longer range would draw bars too thin to read
METER_ROWS = 30  # licences drawn in the use chart (the fullest first); a big brand's hundreds stay in the table


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    desc: str
    headers: list[str]
    rows: list[list[str]]  # every row: the CSV download writes them all
    chart: Markup
    shown: int | None = None  # rows the page's table shows, when fewer than all (the chart's)


def date_range(filters: Filters, today: date) -> tuple[date, date]:
    """Return the dashboard's first and last day: the filters' from/to, by default the last
    DEFAULT_MONTHS months to today; raise InvalidField (on ``from``) for a range over MAX_MONTHS months."""
    end = filters.date_to or (today if not filters.date_from or filters.date_from <= today else filters.date_from)
    if filters.date_from:
        start = filters.date_from
    else:
        first = end.year * 12 + end.month - DEFAULT_MONTHS  # months since year 0 of the first month shown
        start = date(first // 12, first % 12 + 1, 1) if first >= 12 else date.min
    if len(queries.months(start, end)) > MAX_MONTHS:
        raise InvalidField("from", _("从%(from)s到%(to)s不能超过 %(n)d 个月，请缩短日期范围。", n=MAX_MONTHS,
                                     **{"from": named("from"), "to": named("to")}))
    return start, end


def _rate(part: int, whole: int) -> float | None:
    return part * 100 / whole if whole else None


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _span(start: date, end: date) -> str:
    return _("%(start)s 至 %(end)s", start=start.isoformat(), end=end.isoformat())


def batches_figure(session: Session, clauses: list, start: date, end: date, chart_id: str) -> Figure:
    by_month = queries.batches_per_month(session, clauses, start, end)
    labels = queries.months(start, end)
    counts = [by_month.get(m, 0) for m in labels]
    title = _("每月登记的批次（按采收日期）")
    desc = ngettext("%(span)s，共 %(num)d 个批次；最多的月份是 %(month)s，%(n)d 个。",
                    "%(span)s，共 %(num)d 个批次；最多的月份是 %(month)s，%(n)d 个。", sum(counts),
                    span=_span(start, end), month=labels[counts.index(max(counts))] if counts else "—",
                    n=max(counts, default=0))
    rows = [[m, str(n)] for m, n in zip(labels, counts, strict=True)]
    return Figure("batches", title, desc, [_("月份"), _("批次数")], rows,
                  charts.columns(chart_id, title, desc, labels, [(_("批次数"), counts)]))


def pass_rate_figure(session: Session, clauses: list, start: date, end: date, chart_id: str) -> Figure:
    by_month = queries.inspections_per_month(session, clauses, start, end)
    labels = queries.months(start, end)
    figures = [by_month.get(m, (0, 0)) for m in labels]
    rates = [_rate(passed, total) for total, passed in figures]
    total, passed = sum(t for t, _p in figures), sum(p for _t, p in figures)
    title = _("每月检测合格率")
    desc = ngettext("%(span)s，共检测 %(num)d 次，合格 %(passed)d 次，合格率 %(rate)s。",
                    "%(span)s，共检测 %(num)d 次，合格 %(passed)d 次，合格率 %(rate)s。", total, span=_span(start, end),
                    passed=passed, rate=_percent(_rate(passed, total)))
    rows = [[m, str(t), str(p), _percent(r)] for m, (t, p), r in zip(labels, figures, rates, strict=True)]
    return Figure("pass_rate", title, desc, [_("月份"), _("检测次数"), _("合格次数"), _("合格率")], rows,
                  charts.columns(chart_id, title, desc, labels, [(_("合格率"), rates)], percent=True))


def product_figure(session: Session, clauses: list, start: date, end: date, chart_id: str) -> Figure:
    found = queries.inspections_by_product(session, clauses, start, end)
    title = _("各产品的检测合格率")
    desc = _("%(span)s，检测次数最多的 %(n)d 种产品的合格率。", span=_span(start, end), n=len(found))
    rows = [[product, str(t), str(p), _percent(_rate(p, t))] for product, t, p in found]
    return Figure("by_product", title, desc, [_("产品"), _("检测次数"), _("合格次数"), _("合格率")], rows,
                  charts.columns(chart_id, title, desc, [p for p, _t, _q in found],
                                 [(_("合格率"), [_rate(p, t) for _x, t, p in found])], percent=True))


def risks_figure(session: Session, filters: Filters, start: date, end: date, chart_id: str) -> Figure:
    risks = queries.risks_per_month(session, filters, start, end)
    recalls = queries.recalls_per_month(session, filters.batch_clauses(queries.Batch), start, end)
    labels = queries.months(start, end)
    risk_counts, recall_counts = [risks.get(m, 0) for m in labels], [recalls.get(m, 0) for m in labels]
    title = _("每月的风险信号和召回")
    desc = _("%(span)s，共有 %(risks)d 条带日期的风险信号、%(recalls)d 次召回。", span=_span(start, end),
             risks=sum(risk_counts), recalls=sum(recall_counts))
    rows = [[m, str(r), str(c)] for m, r, c in zip(labels, risk_counts, recall_counts, strict=True)]
    return Figure("risks", title, desc, [_("月份"), _("风险信号"), _("召回")], rows,
                  charts.columns(chart_id, title, desc, labels, [(_("风险信号"), risk_counts),
                                                                (_("召回"), recall_counts)]))


def coverage_figure(session: Session, clauses: list, start: date, end: date, chart_id: str) -> Figure:
    by_month = queries.coverage_per_month(session, clauses, start, end)
    labels = queries.months(start, end)
    figures = [by_month.get(m, (0, 0)) for m in labels]
    total, covered = sum(t for t, _c in figures), sum(c for _t, c in figures)
    title = _("合格证覆盖率（按采收月份）")
    desc = ngettext("%(span)s，%(num)d 个批次中，%(covered)d 个开具了未作废的合格证，覆盖率 %(rate)s。",
                    "%(span)s，%(num)d 个批次中，%(covered)d 个开具了未作废的合格证，覆盖率 %(rate)s。", total,
                    span=_span(start, end), covered=covered, rate=_percent(_rate(covered, total)))
    rows = [[m, str(t), str(c), _percent(_rate(c, t))] for m, (t, c) in zip(labels, figures, strict=True)]
    return Figure("coverage", title, desc, [_("月份"), _("批次数"), _("有合格证的批次"), _("覆盖率")], rows,
                  charts.columns(chart_id, title, desc, labels,
                                 [(_("覆盖率"), [_rate(c, t) for t, c in figures])], percent=True))


def inspections_figure(session: Session, clauses: list, start: date, end: date, chart_id: str) -> Figure:
    by_month = queries.inspections_per_month(session, clauses, start, end)
    labels = queries.months(start, end)
    figures = [by_month.get(m, (0, 0)) for m in labels]
    title = _("每月检测次数")
    desc = ngettext("%(span)s，共检测 %(num)d 次：合格 %(passed)d 次，不合格 %(failed)d 次。",
                    "%(span)s，共检测 %(num)d 次：合格 %(passed)d 次，不合格 %(failed)d 次。",
                    sum(t for t, _p in figures), span=_span(start, end), passed=sum(p for _t, p in figures),
                    failed=sum(t - p for t, p in figures))
    rows = [[m, str(t), str(p), str(t - p)] for m, (t, p) in zip(labels, figures, strict=True)]
    return Figure("inspections", title, desc, [_("月份"), _("检测次数"), _("合格"), _("不合格")], rows,
                  charts.columns(chart_id, title, desc, labels, [(_("合格"), [p for _t, p in figures]),
                                                                (_("不合格"), [t - p for t, p in figures])]))


def use_figure(session: Session, brands: list[Brand], today: date, chart_id: str) -> Figure:
    found = queries.license_use(session, brands, today)
    title = _("%(year)d 年被许可人的用量与年度许可数量", year=today.year)
    over = sum(1 for row in found if row["share"] > 1)
    desc = _("今天有效的 %(n)d 份许可中，%(over)d 份已超出年度许可数量。", n=len(found), over=over)
    if len(found) > METER_ROWS:
        desc += " " + _("图和表列出用量比例最高的 %(n)d 份，下载的 CSV 列出全部。", n=METER_ROWS)
    rows = [[row["brand"], row["licensee"], format_quantity(row["used"]), format_quantity(row["cap"]), row["unit"],
             _percent(row["share"] * 100)] for row in found]
    headers = [_("品牌"), _("被许可人"), _("今年已用"), _("年度许可数量"), _("单位"), _("比例")]
    return Figure("use", title, desc, headers, rows, charts.meters(chart_id, title, desc,
                                      [(f"{row['licensee']} · {row['brand']}", row["share"])
                                       for row in found[:METER_ROWS]]),
                  shown=METER_ROWS if len(rows) > METER_ROWS else None)


# -- who sees what ---------------------------------------------------------------------------------

VIEWERS = {"regulator": "regulator", "brand": "brand_manager", "producer": "producer"}


def require_viewer(user, name: str) -> None:
    """Raise Forbidden unless the user's role has the dashboard ``name`` (admins have every one);
    regulators see the whole registry, the others only their own part (``scope_*``)."""
    require_role(user, VIEWERS[name])


def scope_brands(session: Session, user, filters: Filters) -> list[Brand]:
    """Return the brands a brand owner's dashboard counts: the user's organization's brands (an admin:
    every brand), or the one in ``filters.brand``, which must be among them."""
    require_role(user, "brand_manager")
    query = select(Brand).order_by(Brand.name)
    if user.role != "admin":
        query = query.where(Brand.owner_id == user.organization_id)
    owned = list(session.scalars(query))
    if filters.brand is None:
        return owned
    picked = [brand for brand in owned if brand.slug == filters.brand]
    if not picked:
        raise Forbidden(_("只有品牌的所有者能查看该品牌的看板。"))
    return picked


def scope_producer(session: Session, user, filters: Filters) -> Organization | None:
    """Return the producer a producer's dashboard counts: the user's own organization; an admin names one
    (None until they do). Naming another producer is refused."""
    require_role(user, "producer")
    if user.role == "admin":
        org = session.get(Organization, filters.producer) if filters.producer is not None else None
        return org if org is not None and org.kind in PRODUCER_KINDS else None
    if filters.producer is not None and filters.producer != user.organization_id:
        raise Forbidden(_("你只能查看自己所在组织的看板。"))
    return session.get(Organization, user.organization_id)


# -- the dashboards --------------------------------------------------------------------------------

def regulator_figures(session: Session, filters: Filters, start: date, end: date) -> list[Figure]:
    clauses = filters.batch_clauses(queries.Batch)
    return [batches_figure(session, clauses, start, end, "chart-batches"),
            pass_rate_figure(session, clauses, start, end, "chart-pass-rate"),
            product_figure(session, clauses, start, end, "chart-by-product"),
            risks_figure(session, filters, start, end, "chart-risks")]


def brand_figures(session: Session, brands: list[Brand], start: date, end: date, today: date) -> list[Figure]:
    clauses = [queries.Batch.brand.in_([b.slug for b in brands])]
    return [use_figure(session, brands, today, "chart-use"),
            batches_figure(session, clauses, start, end, "chart-batches"),
            pass_rate_figure(session, clauses, start, end, "chart-pass-rate"),
            coverage_figure(session, clauses, start, end, "chart-coverage")]


def producer_figures(session: Session, producer: Organization, start: date, end: date) -> list[Figure]:
    clauses = [queries.Batch.organization_id == producer.id]
    return [batches_figure(session, clauses, start, end, "chart-batches"),
            coverage_figure(session, clauses, start, end, "chart-coverage"),
            inspections_figure(session, clauses, start, end, "chart-inspections")]

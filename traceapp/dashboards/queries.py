"""The dashboards' figures, each ONE grouped SQL statement bounded by a date range: counts per day,
month or product are made in the database, so the rows read back are at most the days of the range,
however many batches the registry holds. ``clauses`` narrow the batches counted (region, brand,
producer: :meth:`traceapp.audit.filters.Filters.batch_clauses` or a list of the same kind)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, String, case, cast, exists, func, select
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP
from sqlalchemy.orm import Session

from traceapp import clock
from traceapp.audit import risk
from traceapp.brands.models import Brand, License
from traceapp.brands.queries import used_by_licensee
from traceapp.brands.services import in_unit
from traceapp.ledger.store import LedgerEntry
from traceapp.records.models import Batch, ComplianceCertificate, Inspection, Organization
from traceapp.records.recalls import RECALLED

PRODUCTS = 12  # the products with the most inspections in the range; the rest would be unreadable slivers


def months(start: date, end: date) -> list[str]:
    """Return every month from ``start`` to ``end`` as YYYY-MM, so a month with nothing still has its bar."""
    found, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def month_of(session: Session, column):
    """Return the YYYY-MM of a DATE column, spelled as the database spells it."""
    if _dialect(session) == "sqlite":
        return func.strftime("%Y-%m", column)
    return func.to_char(column, "YYYY-MM")


def _in_range(column, start: date, end: date) -> list:
    return [column >= start, column <= end]


def _by_month(rows) -> dict[str, tuple]:
    """Fold rows of (day, figures...) grouped by day into {YYYY-MM: summed figures}. Grouping by the
    date column itself walks its index in order with no function per row; a range holds at most a few
    thousand days, so the fold is cheap."""
    months_: dict[str, tuple] = {}
    for day, *figures in rows:
        key = day.isoformat()[:7] if isinstance(day, date) else str(day)[:7]
        known = months_.get(key)
        figures = tuple(int(f or 0) for f in figures)
        months_[key] = figures if known is None else tuple(a + b for a, b in zip(known, figures, strict=True))
    return months_


def batches_per_month(session: Session, clauses: list, start: date, end: date) -> dict[str, int]:
    """Return {YYYY-MM: batches harvested that month}."""
    rows = session.execute(select(Batch.harvest_date, func.count())
                           .where(*_in_range(Batch.harvest_date, start, end), *clauses).group_by(Batch.harvest_date))
    return {m: n for m, (n,) in _by_month(rows).items()}


def _passed():
    return func.sum(case((Inspection.verdict == "pass", 1), else_=0))


def inspections_per_month(session: Session, clauses: list, start: date, end: date) -> dict[str, tuple[int, int]]:
    """Return {YYYY-MM: (inspections that month, of which passed)} for inspections of the batches in
    ``clauses``, by the date of the inspection."""
    query = select(Inspection.inspected_on, func.count(), _passed())
    if clauses:  # every inspection is of a batch: without a filter on batches the join would only cost
        query = query.join(Batch, Batch.id == Inspection.batch_id)
    rows = session.execute(query.where(*_in_range(Inspection.inspected_on, start, end), *clauses)
                           .group_by(Inspection.inspected_on))
    return _by_month(rows)


def inspections_by_product(session: Session, clauses: list, start: date, end: date,
                           limit: int = PRODUCTS) -> list[tuple[str, int, int]]:
    """Return [(product, inspections, of which passed)], the most inspected products first."""
    total = func.count().label("total")
    rows = session.execute(select(Batch.product, total, _passed()).join(Batch, Batch.id == Inspection.batch_id)
                           .where(*_in_range(Inspection.inspected_on, start, end), *clauses)
                           .group_by(Batch.product).order_by(total.desc(), Batch.product).limit(limit))
    return [(product, n, int(p or 0)) for product, n, p in rows]


def coverage_per_month(session: Session, clauses: list, start: date, end: date) -> dict[str, tuple[int, int]]:
    """Return {YYYY-MM: (batches harvested that month, of which have a 合格证 that is not voided)}."""
    covered = exists(select(1).where(ComplianceCertificate.batch_id == Batch.id,
                                     ComplianceCertificate.voided_on.is_(None)))
    rows = session.execute(select(Batch.harvest_date, func.count(), func.sum(case((covered, 1), else_=0)))
                           .where(*_in_range(Batch.harvest_date, start, end), *clauses).group_by(Batch.harvest_date))
    return _by_month(rows)


def recalls_per_month(session: Session, clauses: list, start: date, end: date) -> dict[str, int]:
    """Return {YYYY-MM: ``batch.recalled`` entries that month} for the batches in ``clauses``, by the
    entry's time in the deployment's zone (a recall at 23:30 UTC on the 31st belongs to the next month
    in Asia/Shanghai). Recalls are ledger facts only: their time is the entry's ``ts``."""
    zone = clock.deployment_zone()
    if _dialect(session) == "sqlite":
        ts = func.json_extract(cast(LedgerEntry.body, String), "$.ts")
        # SQLite has no zone table: shift by the zone's offset now (the default zone keeps one all year).
        minutes = int(datetime.now(zone).utcoffset().total_seconds() // 60)
        shift = f"{minutes:+d} minutes"
        month = func.strftime("%Y-%m", ts, shift)
        day = func.date(ts, shift)
    else:
        ts = cast(func.convert_from(LedgerEntry.body, "UTF8"), JSONB)["ts"].astext
        local = func.timezone(zone.key, cast(ts, TIMESTAMP(timezone=True)))
        month = func.to_char(local, "YYYY-MM")
        day = cast(local, Date)
    month = month.label("month")
    start_text, end_text = (start.isoformat(), end.isoformat()) if _dialect(session) == "sqlite" else (start, end)
    rows = session.execute(
        select(month, func.count()).select_from(LedgerEntry)
        .join(Batch, Batch.code == func.substr(LedgerEntry.subject, len("batch:") + 1))
        .where(LedgerEntry.kind == RECALLED, day >= start_text, day <= end_text, *clauses).group_by(month))
    return {m: n for m, n in rows}


def license_use(session: Session, brands: list[Brand], today: date) -> list[dict]:
    """Return this year's use of each licence of ``brands`` valid today: {brand, licensee, used, cap,
    unit, share}, the fullest first. Use is the licensee's batches under the brand harvested this year,
    converted to the licence's unit as the cap check converts them (one grouped query per brand)."""
    found = []
    for brand in brands:
        used_by = used_by_licensee(session, brand, today.year)
        rows = session.execute(select(License, Organization.name).join(Organization,
                                                                      Organization.id == License.licensee_id)
                               .where(License.brand_id == brand.id, License.revoked_on.is_(None),
                                      License.valid_from <= today, License.valid_to >= today))
        for licence, name in rows:
            used = sum((in_unit(total, unit, licence.unit) or Decimal(0)
                        for unit, total in used_by.get(licence.licensee_id, [])), Decimal(0))
            share = float(used / licence.quantity) if licence.quantity else 0.0
            found.append({"brand": brand.name, "licensee": name, "licensee_id": licence.licensee_id,
                          "used": used, "cap": licence.quantity, "unit": licence.unit, "share": share})
    return sorted(found, key=lambda row: (-row["share"], row["licensee"], row["brand"]))


def risks_per_month(session: Session, filters, start: date, end: date) -> dict[str, int]:
    """Return {YYYY-MM: risk findings dated that month}, over the regulator's risk rules whose findings
    carry a date (``day``: an inspection, a harvest, a 合格证's issue), each rule's own statement under the
    same filters, grouped in the database."""
    total: dict[str, int] = {}
    dated = replace(filters, date_from=start, date_to=end)  # each rule bounds its own date, on its indexes
    for rule in dated_rules():
        found = risk.rule_query(session, rule, dated).order_by(None).subquery()
        month = month_of(session, found.c.day).label("month")
        for m, n in session.execute(select(month, func.count()).where(*_in_range(found.c.day, start, end))
                                    .group_by(month)):
            total[m] = total.get(m, 0) + n
    return total


def dated_rules() -> list:
    """Return the risk rules whose findings have a date (``day``), which a month can be told from."""
    return [rule for rule in risk.RULES if any(c.key == "day" and c.kind == "date" for c in rule.columns)]

"""What the console shows: a brand's licences with their status and this year's use, the brand's
batches by filter with keyset paging, and what a brand manager's home lists. Each page is a few
grouped queries over ``ix_batches_brand_harvest`` so it stays quick on a registry of a million batches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from traceapp.brands.models import Brand, License
from traceapp.brands.services import in_unit
from traceapp.pickers.queries import masked_name, sees_personal
from traceapp.records.models import Batch, Inspection, Organization

STATUSES = ("active", "pending", "expired", "revoked")
OUTCOMES = ("pass", "fail", "none")
LICENCES_PAGE = 20
BATCHES_PAGE = 20
COUNT_CAP = 10_000  # a filter's count stops here: counting every row of a big brand costs a scan
ENDING_DAYS = 30
NEAR_CAP = Decimal("0.8")  # a licensee this far into its yearly cap is shown on the home page


def licence_status(license_: License, today: date) -> str:
    """Return ``revoked``, ``pending`` (not yet valid), ``expired`` or ``active``."""
    if license_.revoked_on is not None:
        return "revoked"
    if today < license_.valid_from:
        return "pending"
    if today > license_.valid_to:
        return "expired"
    return "active"


def use_this_year(session: Session, brand: Brand, year: int, licensees: list[int] | None = None
                  ) -> dict[int, tuple[list[tuple[str, Decimal]], int]]:
    """Return, per licensee (those in ``licensees``, or all), its quantities under the brand harvested in
    ``year`` by unit and its batch count, in one grouped query (the figures the claim check compares
    against the cap)."""
    query = (select(Batch.organization_id, Batch.unit, func.sum(Batch.quantity), func.count())
             .where(Batch.brand == brand.slug, Batch.harvest_date >= date(year, 1, 1),
                    Batch.harvest_date <= date(year, 12, 31))
             .group_by(Batch.organization_id, Batch.unit))
    if licensees is not None:  # a page of a big brand's licences: group only the rows it shows
        query = query.where(Batch.organization_id.in_(licensees))
    rows = session.execute(query)
    used: dict[int, tuple[list[tuple[str, Decimal]], int]] = {}
    for org_id, unit, total, count in rows:
        amounts, batches = used.get(org_id, ([], 0))
        used[org_id] = ([*amounts, (unit, Decimal(total))], batches + count)
    return used


def _in_licence_unit(amounts: list[tuple[str, Decimal]], unit: str) -> Decimal:
    return sum((in_unit(total, batch_unit, unit) or Decimal(0) for batch_unit, total in amounts), Decimal(0))


def licensee_name(org: Organization, viewer) -> str:
    """An individual licensee is named in full only to those who may see personal data."""
    return org.name if sees_personal(viewer, org.id) else masked_name(org.name, org.kind)


@dataclass
class LicenceRow:
    id: int
    licensee_id: int
    licensee: str
    uscc: str
    products: list
    valid_from: date
    valid_to: date
    status: str
    cap: Decimal
    unit: str
    used: Decimal
    share: float
    batches: int
    bases: list
    revoked_on: date | None
    revoke_reason: str | None
    ledger_seq: int

    @property
    def percent(self) -> str:
        """This year's use as a whole percentage of the cap, as the page prints it."""
        return f"{self.share * 100:.0f}"


def licence_rows(session: Session, brand: Brand, viewer, today: date, *, page: int = 1,
                 per_page: int = LICENCES_PAGE) -> tuple[list[LicenceRow], int]:
    """Return one page of the brand's licences (by licensee name) with status and this year's use, and
    the number of licences."""
    total = session.scalar(select(func.count()).select_from(License).where(License.brand_id == brand.id))
    rows = session.execute(select(License, Organization).join(Organization, Organization.id == License.licensee_id)
                           .where(License.brand_id == brand.id).order_by(Organization.name, License.id)
                           .limit(per_page).offset((page - 1) * per_page)).all()
    used = use_this_year(session, brand, today.year, sorted({org.id for _l, org in rows})) if rows else {}
    return [_row(license_, org, used.get(org.id, ([], 0)), viewer, today) for license_, org in rows], total


def _row(license_: License, org: Organization, use: tuple[list, int], viewer, today: date) -> LicenceRow:
    amount = _in_licence_unit(use[0], license_.unit)
    share = float(amount / license_.quantity) if license_.quantity else 0.0
    return LicenceRow(id=license_.id, licensee_id=org.id, licensee=licensee_name(org, viewer), uscc=org.uscc or "",
                      products=list(license_.products), valid_from=license_.valid_from, valid_to=license_.valid_to,
                      status=licence_status(license_, today), cap=license_.quantity, unit=license_.unit,
                      used=amount, share=share, batches=use[1], bases=list(license_.bases or []),
                      revoked_on=license_.revoked_on, revoke_reason=license_.revoke_reason,
                      ledger_seq=license_.ledger_seq)


def licensees(session: Session, brand: Brand, viewer) -> list[tuple[str, str]]:
    """Return (id, name) of the organizations holding or having held a licence of the brand, by name."""
    rows = session.scalars(select(Organization).where(Organization.id.in_(
        select(License.licensee_id).where(License.brand_id == brand.id))).order_by(Organization.name))
    return [(str(org.id), licensee_name(org, viewer)) for org in rows]


@dataclass
class BatchFilter:
    licensee: int | None = None
    product: str = ""
    harvest_from: date | None = None
    harvest_to: date | None = None
    outcome: str = ""
    after: tuple[date, int] | None = None  # the last row of the previous page (harvest date, id)


def _filtered(brand: Brand, f: BatchFilter):
    conditions = [Batch.brand == brand.slug]
    if f.licensee is not None:
        conditions.append(Batch.organization_id == f.licensee)
    if f.product:
        conditions.append(Batch.product == f.product)
    if f.harvest_from is not None:
        conditions.append(Batch.harvest_date >= f.harvest_from)
    if f.harvest_to is not None:
        conditions.append(Batch.harvest_date <= f.harvest_to)
    inspected = exists().where(Inspection.batch_id == Batch.id)
    failed = exists().where(Inspection.batch_id == Batch.id, Inspection.verdict == "fail")
    if f.outcome == "fail":
        conditions.append(failed)
    elif f.outcome == "pass":
        conditions.append(and_(inspected, ~failed))
    elif f.outcome == "none":
        conditions.append(~inspected)
    return conditions


def brand_batches(session: Session, brand: Brand, f: BatchFilter, viewer, *, per_page: int = BATCHES_PAGE
                  ) -> tuple[list[dict], int, bool, tuple[date, int] | None]:
    """Return one page of the brand's batches matching ``f``, newest harvest first, with each batch's
    inspection outcome; the count (capped at COUNT_CAP: ``capped`` says so) and the key of the next page."""
    conditions = _filtered(brand, f)
    counted = session.scalar(select(func.count()).select_from(
        select(Batch.id).where(*conditions).limit(COUNT_CAP + 1).subquery()))
    query = select(Batch, Organization).join(Organization, Organization.id == Batch.organization_id).where(*conditions)
    if f.after is not None:
        day, last_id = f.after
        query = query.where(or_(Batch.harvest_date < day, and_(Batch.harvest_date == day, Batch.id < last_id)))
    rows = session.execute(query.order_by(Batch.harvest_date.desc(), Batch.id.desc()).limit(per_page + 1)).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    verdicts: dict[int, set[str]] = {}
    if rows:
        for batch_id, verdict in session.execute(select(Inspection.batch_id, Inspection.verdict).where(
                Inspection.batch_id.in_([b.id for b, _o in rows]))):
            verdicts.setdefault(batch_id, set()).add(verdict)
    items = [{"code": b.code, "product": b.product, "quantity": b.quantity, "unit": b.unit,
              "harvest_date": b.harvest_date, "producer": licensee_name(o, viewer),
              "outcome": _outcome(verdicts.get(b.id))} for b, o in rows]
    following = (rows[-1][0].harvest_date, rows[-1][0].id) if more else None
    return items, min(counted, COUNT_CAP), counted > COUNT_CAP, following


def _outcome(verdicts: set[str] | None) -> str:
    if not verdicts:
        return "none"
    return "fail" if "fail" in verdicts else "pass"


def managed_brands(session: Session, viewer, q: str = "", limit: int = 100) -> list[Brand]:
    """Return the brands the viewer manages (an admin: every brand, or those matching ``q``), by name."""
    from traceapp.brands.queries import find_brands

    if viewer.role == "admin":
        return find_brands(session, q)[:limit] if q.strip() else list(
            session.scalars(select(Brand).order_by(Brand.name).limit(limit)))
    return list(session.scalars(select(Brand).where(Brand.owner_id == viewer.organization_id).order_by(Brand.name)))


def home_lists(session: Session, viewer, today: date) -> dict:
    """What a brand manager must look at next: its brands' licences that end within ENDING_DAYS, and
    licensees whose use this year has reached NEAR_CAP of their cap."""
    brands = managed_brands(session, viewer)
    until = today + timedelta(days=ENDING_DAYS)
    ending, near = [], []
    for brand in brands:
        active = session.execute(select(License, Organization)
                                 .join(Organization, Organization.id == License.licensee_id)
                                 .where(License.brand_id == brand.id, License.revoked_on.is_(None),
                                        License.valid_from <= today, License.valid_to >= today)
                                 .order_by(License.valid_to, Organization.name)).all()
        if not active:
            continue
        used = use_this_year(session, brand, today.year)
        for license_, org in active:
            row = _row(license_, org, used.get(org.id, ([], 0)), viewer, today)
            if license_.valid_to <= until:
                ending.append((brand, row))
            if license_.quantity and row.used >= license_.quantity * NEAR_CAP:
                near.append((brand, row))
    near.sort(key=lambda pair: -pair[1].share)
    return {"brands": brands, "ending": ending, "near_cap": near, "ending_days": ENDING_DAYS,
            "near_cap_share": int(NEAR_CAP * 100)}

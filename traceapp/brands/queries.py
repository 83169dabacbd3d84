"""Reading brands for the directory, the brand page and the API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from traceapp import clock
from traceapp.brands.attachments import attachment_record, pending_request
from traceapp.brands.models import Brand, BrandAttachment, License
from traceapp.brands.search import fold
from traceapp.brands.services import brand_record, in_unit, license_record
from traceapp.personal.fields import public_name
from traceapp.records import regions
from traceapp.records.models import Batch, Inspection, Organization
from traceapp.records.queries import public_url
from traceapp.records.values import quantity_text


def brand_view(session: Session, brand: Brand) -> dict:
    parent = session.get(Brand, brand.parent_id) if brand.parent_id else None
    return {"id": brand.id, **brand_record(brand, parent), "owner_id": brand.owner_id,
            "area_names": [regions.full_name(c) for c in brand.area],
            "retired_on": brand.retired_on.isoformat() if brand.retired_on else None,
            "qr_digital_link": brand.qr_digital_link,
            "url": public_url(f"/brands/{brand.slug}"), "ledger_seq": brand.ledger_seq,
            "parent_request": attachment_view(session, waiting) if (waiting := pending_request(session, brand))
            else None}


def attachment_view(session: Session, attachment: BrandAttachment) -> dict:
    """Return a request to place a brand under a parent as the API and the brand page show it."""
    brand, parent = session.get(Brand, attachment.brand_id), session.get(Brand, attachment.parent_id)
    return {"id": attachment.id, "decided_on": None, "reason": None, "decision_seq": None,
            **attachment_record(attachment, brand.slug, parent.slug), "brand_name": brand.name,
            "parent_name": parent.name, "ledger_seq": attachment.ledger_seq}


def attachments_to(session: Session, parent: Brand, state: str | None = None) -> list[BrandAttachment]:
    """Return the requests to be placed under ``parent`` (in one state, or all), oldest first."""
    query = select(BrandAttachment).where(BrandAttachment.parent_id == parent.id).order_by(BrandAttachment.id)
    if state:
        query = query.where(BrandAttachment.state == state)
    return list(session.scalars(query))


def license_view(license_: License, brand: Brand, today: date | None = None) -> dict:
    today = today or clock.today()
    active = license_.revoked_on is None and license_.valid_from <= today <= license_.valid_to
    return {"id": license_.id, **license_record(license_, brand), "active": active,
            "revoked_on": license_.revoked_on.isoformat() if license_.revoked_on else None,
            "revoke_reason": license_.revoke_reason, "ledger_seq": license_.ledger_seq}


def find_brands(session: Session, q: str = "", province: str = "", category: str = "") -> list[Brand]:
    """Return brands matching a search (name, alias, pinyin, initials, place), a province code
    (its first two digits) and a category, by name."""
    query = select(Brand).order_by(Brand.name)
    if q.strip():
        needle = fold(q)
        if not needle:
            return []
        query = query.where(Brand.search_text.contains(needle, autoescape=True))
    if category:
        query = query.where(Brand.category == category)
    rows = session.scalars(query).all()
    if province:
        rows = [b for b in rows if any(code[:2] == province[:2] for code in b.area)]
    return rows


def provinces(session: Session) -> list[tuple[str, str]]:
    """Return (code, name) of the provinces that have brands."""
    codes = sorted({code[:2] + "0000" for area in session.scalars(select(Brand.area)) for code in area})
    return [(code, regions.full_name(code)) for code in codes]


def used_by_licensee(session: Session, brand: Brand, year: int) -> dict[int, list[tuple[str, Decimal]]]:
    """Return each licensee's quantities under the brand in ``year`` by unit, in one grouped query."""
    used: dict[int, list[tuple[str, Decimal]]] = {}
    rows = session.execute(select(Batch.organization_id, Batch.unit, func.sum(Batch.quantity)).where(
        Batch.brand == brand.slug, Batch.harvest_date >= date(year, 1, 1), Batch.harvest_date <= date(year, 12, 31))
        .group_by(Batch.organization_id, Batch.unit))
    for org_id, unit, total in rows:
        used.setdefault(org_id, []).append((unit, Decimal(total)))
    return used


def brand_page(session: Session, brand: Brand, today: date | None = None) -> dict:
    """Return what the public brand page shows: area, owner, licensees, recent batches, this year's figures."""
    today = today or clock.today()
    year = today.year
    licensees = []
    rows = session.execute(select(License, Organization).join(Organization, Organization.id == License.licensee_id)
                           .where(License.brand_id == brand.id).order_by(Organization.name, License.id)).all()
    used_by = used_by_licensee(session, brand, year)
    for license_, org in rows:
        view = license_view(license_, brand, today)
        used = sum((in_unit(total, unit, license_.unit) or Decimal(0) for unit, total in used_by.get(org.id, [])),
                   Decimal(0))
        licensees.append({**view, "name": public_name(org.name, org.kind), "uscc": org.uscc, "demo": org.demo,
                          "used": quantity_text(used), "authorized": quantity_text(license_.quantity),
                          "share": float(used / license_.quantity) if license_.quantity else 0.0})
    in_year = (Batch.brand == brand.slug, Batch.harvest_date >= date(year, 1, 1),
               Batch.harvest_date <= date(year, 12, 31))
    batch_count = session.scalar(select(func.count()).select_from(Batch).where(*in_year))
    verdicts = dict(session.execute(select(Inspection.verdict, func.count())
                                    .join(Batch, Batch.id == Inspection.batch_id)
                                    .where(*in_year).group_by(Inspection.verdict)).all())
    inspected = sum(verdicts.values())
    recent = session.execute(select(Batch, Organization).join(Organization, Organization.id == Batch.organization_id)
                             .where(Batch.brand == brand.slug).order_by(Batch.harvest_date.desc(), Batch.id.desc())
                             .limit(20)).all()
    owner = session.get(Organization, brand.owner_id)
    parent = session.get(Brand, brand.parent_id) if brand.parent_id else None
    children = session.scalars(select(Brand).where(Brand.parent_id == brand.id).order_by(Brand.name)).all()
    return {"brand": brand_view(session, brand), "owner": owner, "parent": parent, "children": children,
            "requests": [attachment_view(session, a) for a in attachments_to(session, brand, "pending")],
            "licensees": licensees, "year": year, "batch_count": batch_count,
            "inspections": inspected, "pass_rate": (verdicts.get("pass", 0) / inspected) if inspected else None,
            "recent": [{"code": b.code, "product": b.product, "quantity": quantity_text(b.quantity), "unit": b.unit,
                        "harvest_date": b.harvest_date.isoformat(), "producer": public_name(o.name, o.kind),
                        "demo": o.demo}
                       for b, o in recent]}


def claim_status(session: Session, batch: Batch, today: date | None = None) -> dict | None:
    """Return how a batch's brand claim stands: the brand, and the licence it rested on — valid at
    harvest, and whether it has ended since (revoked or expired) and when."""
    if not batch.brand:
        return None
    return claim_under(session, batch, session.scalar(select(Brand).where(Brand.slug == batch.brand)), today)


def claim_under(session: Session, batch: Batch, brand: Brand | None, today: date | None = None) -> dict:
    """Return ``claim_status`` of a branded batch whose brand the caller has read (None: no brand of
    that slug is in the registry)."""
    if brand is None:
        return claim_of(batch, None, None, [], today)
    licences = session.scalars(select(License).where(
        License.brand_id == brand.id, License.licensee_id == batch.organization_id,
        License.valid_from <= batch.harvest_date, License.valid_to >= batch.harvest_date).order_by(License.id)).all()
    return claim_of(batch, brand.slug, brand.name, licences, today)


def claim_of(batch, slug: str | None, name: str | None, licences: list, today: date | None = None) -> dict:
    """Return the claim of ``batch`` on its brand (``slug`` and ``name``, None when no such brand
    exists) given the brand's licences to its producer covering its harvest date, by id. Each
    licence needs ``id``, ``products``, ``valid_from``, ``valid_to`` and ``revoked_on``."""
    if slug is None:
        return {"slug": batch.brand, "name": batch.brand, "license": None}
    covering = [lic for lic in licences if batch.product in lic.products] or licences
    if not covering:
        return {"slug": slug, "name": name, "license": None}
    lic = covering[0]
    today = today or clock.today()
    ended = lic.revoked_on if lic.revoked_on else (lic.valid_to if lic.valid_to < today else None)
    return {"slug": slug, "name": name,
            "license": {"id": lic.id, "valid_from": lic.valid_from.isoformat(), "valid_to": lic.valid_to.isoformat(),
                        "valid_at_harvest": lic.revoked_on is None or lic.revoked_on > batch.harvest_date,
                        "ended_on": ended.isoformat() if ended else None,
                        "ended_by": "revoked" if lic.revoked_on else ("expired" if ended else None)}}

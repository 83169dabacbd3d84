"""What the pickers offer: divisions of the pinned GB/T 2260 table by parent or by name and pinyin,
organizations by name or 统一社会信用代码 (an individual's name masked for viewers who may not see it),
and the brands a producer may claim today with what is left of this year's cap.

Every answer is small (``LIMIT``), so a type-ahead stays fast on a large registry."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from traceapp.brands.models import Brand, License
from traceapp.brands.queries import find_brands
from traceapp.brands.services import in_unit
from traceapp.personal.fields import public_name
from traceapp.records import regions
from traceapp.records.labels import translated_labels
from traceapp.records.models import Batch, Organization
from traceapp.records.values import quantity_text

LIMIT = 20
MAX_QUERY = 100
# Who sees an individual producer's name, which is personal data: admins, regulators
# and the organization's own staff.
SEES_PERSONAL = ("admin", "regulator")


# -- regions --------------------------------------------------------------------------------------------

def region_item(region: regions.Region) -> dict:
    """Return a division as the picker shows it: code, name, full name, level, path of codes from the province."""
    path = [r.code for r in regions.ancestors(region.code)] + [region.code]
    return {"code": region.code, "name": region.name, "full_name": regions.full_name(region.code),
            "level": region.level, "pinyin": region.pinyin, "path": path,
            "has_children": bool(children_of(region.code))}


def _children_table() -> dict[str | None, list[regions.Region]]:
    table: dict[str | None, list[regions.Region]] = {}
    for region in regions.all_regions():
        table.setdefault(region.parent, []).append(region)
    return table


_CHILDREN: dict[str | None, list[regions.Region]] = {}


def children_of(parent: str | None) -> list[regions.Region]:
    """Return the divisions directly under ``parent`` (provinces for None), in code order."""
    if not _CHILDREN:
        _CHILDREN.update(_children_table())
    return _CHILDREN.get(parent or None, [])


def region_children(parent: str | None) -> list[dict]:
    """Return the picker items directly under ``parent`` (the provinces for None)."""
    return [region_item(r) for r in children_of(parent)]


def region_search(text: str, limit: int = LIMIT) -> list[dict]:
    """Return picker items matching a name, a full name, pinyin or initials, or a code's first digits."""
    text = text.strip()[:MAX_QUERY]
    if re.fullmatch(r"[0-9]{1,6}", text):
        found = [r for r in regions.all_regions() if r.code.startswith(text)][:limit]
    else:
        found = regions.search(text, limit)
    return [region_item(r) for r in found]


def region_path(code: str | None) -> list[dict]:
    """Return the picker items from the province down to ``code`` (empty for no or an unknown code)."""
    region = regions.get(code) if code else None
    if region is None:
        return []
    return [region_item(r) for r in regions.ancestors(code)] + [region_item(region)]


# -- organizations --------------------------------------------------------------------------------------

def sees_personal(viewer, organization_id: int) -> bool:
    """Return whether ``viewer`` may see the personal fields of that organization."""
    return viewer is not None and (viewer.role in SEES_PERSONAL or viewer.organization_id == organization_id)




def masked_name(name: str, kind: str) -> str:
    """Return how an organization is named to those who may not see personal data: an individual by
    surname and 某 (issue 23's one rule, :func:`traceapp.personal.fields.public_name`), any other kind
    by its registered name."""
    return public_name(name, kind)


def organization_item(org: Organization, viewer) -> dict:
    """Return an organization as the picker shows it to ``viewer``."""
    name = org.name if sees_personal(viewer, org.id) else masked_name(org.name, org.kind)
    kind = translated_labels()["org_kind"].get(org.kind, org.kind)
    return {"id": org.id, "name": name, "uscc": org.uscc or "", "kind": org.kind, "kind_label": kind,
            "region": org.region, "region_name": regions.full_name(org.region),
            "text": f"{name} · {kind} · {regions.full_name(org.region)}" + (f" · {org.uscc}" if org.uscc else "")}


def organization_search(session: Session, text: str, viewer, kinds: tuple[str, ...] | None = None,
                        limit: int = LIMIT) -> list[dict]:
    """Return organizations whose name contains ``text`` or whose 统一社会信用代码 or id starts with it.

    A viewer who may not see personal data finds an ``individual`` only by its full name, its code or its
    id, and sees it masked: a part of a person's name must not reveal who is registered."""
    text = text.strip()[:MAX_QUERY]
    if not text:
        return []
    upper = text.upper()
    by_code = [Organization.uscc.startswith(upper, autoescape=True)]
    if re.fullmatch(r"[1-9][0-9]{0,8}", text):
        by_code.append(Organization.id == int(text))
    by_name = Organization.name.contains(text, autoescape=True)
    if viewer is None or viewer.role not in SEES_PERSONAL:
        own = Organization.id == (viewer.organization_id if viewer is not None else None)
        by_name = or_(by_name & ((Organization.kind != "individual") | own), Organization.name == text)
    query = select(Organization).where(or_(by_name, *by_code))
    if kinds:
        query = query.where(Organization.kind.in_(kinds))
    # exact and leading matches first, then shorter names, so 炎陵 finds 炎陵县… before …炎陵路…
    query = query.order_by((Organization.name == text).desc(), Organization.name.startswith(text).desc(),
                           func.length(Organization.name), Organization.id).limit(limit)
    return [organization_item(org, viewer) for org in session.scalars(query)]


def organization_label(session: Session, organization_id, viewer) -> str:
    """Return the text a picker shows for a chosen organization id ('' for none or an unknown id)."""
    if organization_id in (None, ""):
        return ""
    if not re.fullmatch(r"[1-9][0-9]{0,8}", str(organization_id)):  # a refused value, shown back as typed
        return str(organization_id)
    org = session.get(Organization, int(organization_id))
    return organization_item(org, viewer)["text"] if org is not None else str(organization_id)


# -- brands ---------------------------------------------------------------------------------------------

def licensed_brands(session: Session, organization_id: int, today: date) -> list[dict]:
    """Return the brands ``organization_id`` holds a licence for that is valid ``today`` (not revoked, the
    brand not retired), by name, each with its licensed products and this year's cap, use and remainder
    in the licence's unit (the figures :func:`traceapp.brands.services.check_claim` compares)."""
    rows = session.execute(
        select(License, Brand).join(Brand, Brand.id == License.brand_id)
        .where(License.licensee_id == organization_id, License.revoked_on.is_(None),
               License.valid_from <= today, License.valid_to >= today,
               or_(Brand.retired_on.is_(None), Brand.retired_on > today))
        .order_by(Brand.name, Brand.slug, License.valid_from, License.id)).all()
    if not rows:
        return []
    # this year's claims under each of these brands in one grouped query (the producer's batches by
    # harvest date), summed per brand in the licence's unit as used_quantity does
    claimed: dict[str, list[tuple[str, Decimal]]] = {}
    for slug, unit, total in session.execute(
            select(Batch.brand, Batch.unit, func.sum(Batch.quantity))
            .where(Batch.organization_id == organization_id, Batch.harvest_date >= date(today.year, 1, 1),
                   Batch.harvest_date <= date(today.year, 12, 31), Batch.brand.in_({b.slug for _l, b in rows}))
            .group_by(Batch.brand, Batch.unit)):
        claimed.setdefault(slug, []).append((unit, Decimal(total)))
    found: dict[str, dict] = {}
    for license_, brand in rows:
        if brand.slug in found:  # the claim check takes a brand's earliest covering licence
            found[brand.slug]["products"] += [p for p in license_.products if p not in found[brand.slug]["products"]]
            continue
        used = sum((in_unit(total, unit, license_.unit) or Decimal(0) for unit, total in claimed.get(brand.slug, [])),
                   Decimal(0))
        left = max(license_.quantity - used, Decimal(0))
        found[brand.slug] = {"slug": brand.slug, "name": brand.name, "aliases": list(brand.aliases),
                             "products": list(license_.products), "unit": license_.unit,
                             "cap": quantity_text(license_.quantity), "used": quantity_text(used),
                             "remaining": quantity_text(left), "valid_to": license_.valid_to.isoformat(),
                             "year": today.year}
    return list(found.values())


def brand_search(session: Session, text: str, limit: int = LIMIT) -> list[dict]:
    """Return brands matching a name, alias, pinyin, initials or place (the directory's search)."""
    text = text.strip()[:MAX_QUERY]
    return [{"slug": b.slug, "name": b.name, "text": f"{b.name} · {b.slug}"}
            for b in find_brands(session, text)[:limit]] if text else []


def brand_label(session: Session, slug: str | None) -> str:
    """Return the name of the brand with this slug ('' for none, the value itself if unknown)."""
    if not slug:
        return ""
    name = session.scalar(select(Brand.name).where(Brand.slug == slug))
    return name or slug

"""Writes for brands and licences (validate, append the ledger entry, update the projection),
and the check a batch's brand claim must pass."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from traceapp.brands import search
from traceapp.brands.attachments import needs_request, pending_request, request_attachment, withdraw_request
from traceapp.brands.attachments import within as _within
from traceapp.brands.models import LEVELS, Brand, License
from traceapp.errors import Conflict, Forbidden, NotFound, Rejected
from traceapp.i18n import gettext as _
from traceapp.ledger.store import ledger_of
from traceapp.numbers import format_quantity
from traceapp.records import regions
from traceapp.records.access import require_role
from traceapp.records.endings import append_ending, read_reason
from traceapp.records.labels import BRAND_LEVEL, CATEGORY
from traceapp.records.models import CATEGORIES, PRODUCER_KINDS, UNITS, Batch, Organization
from traceapp.records.values import is_row_id, quantity_text
from traceapp.validation import Fields

SLUG = r"[a-z0-9]+(-[a-z0-9]+)*"
# Units a yearly cap can be compared across, in kilograms.
KG = {"kg": Decimal(1), "g": Decimal("0.001"), "t": Decimal(1000), "斤": Decimal("0.5")}


def get_brand(session: Session, slug) -> Brand:
    wanted = slug.strip().lower() if isinstance(slug, str) else ""
    # A string that cannot be a slug (a NUL byte, say) is not looked up: PostgreSQL would refuse it.
    brand = session.scalar(select(Brand).where(Brand.slug == wanted)) if re.fullmatch(SLUG, wanted) else None
    if brand is None:
        raise NotFound(_("没有标识为 %(slug)s 的品牌。", slug=str(slug)[:64]))
    return brand


def _owner(session: Session, user, f: Fields) -> Organization | None:
    owner_id = f.integer("owner", required=user.role == "admin")
    if user.role != "admin":
        if owner_id is not None and owner_id != user.organization_id:
            raise Forbidden(_("品牌管理员只能为自己所在的品牌主体登记品牌。"))
        owner_id = user.organization_id
    owner = session.get(Organization, owner_id) if is_row_id(owner_id) else None
    if owner_id is not None and (owner is None or owner.kind != "brand_owner"):
        f.fail("owner", _("%(field)s必须是已登记的品牌主体组织的编号；请选择一家品牌主体。", field=f.label("owner")))
    return owner


# What a brand manager may change after registration; the slug (printed in URLs) and the owner may not.
CHANGEABLE = ("name", "aliases", "category", "level", "parent", "area", "products", "gi_number", "standard",
              "description", "qr_digital_link")
FLAGS = {"true": True, "false": False, "1": True, "0": False, "on": True, "off": False}


def _read_brand(session: Session, f: Fields, data: dict, fields: tuple[str, ...], brand: Brand | None = None) -> dict:
    """Read and check the named brand fields (``parent`` as a Brand or None); ``brand`` is the one being
    changed, whose parent may not be itself or below it and whose area must still hold its sub-brands'."""
    values: dict = {}
    if "name" in fields:
        values["name"] = f.text("name", max_length=100)
    if "aliases" in fields:
        values["aliases"] = f.text_list("aliases", max_items=20, max_length=100) if data.get("aliases") else []
    if "category" in fields:
        values["category"] = f.choice("category", CATEGORIES, CATEGORY)
    if "level" in fields:
        values["level"] = f.choice("level", LEVELS, BRAND_LEVEL)
    if "parent" in fields:
        values["parent"] = _read_parent(session, f, data, brand)
    if "area" in fields:
        values["area"] = area = f.text_list("area", max_items=50, max_length=6)
        for code in area:
            if not regions.is_valid(code):
                f.fail("area", _("%(field)s中的 %(code)s 不是已知的行政区划代码（数据版本 %(version)s）；"
                                 "请填写 6 位行政区划代码，例如 430225。",
                                 field=f.label("area"), code=code, version=regions.DATA_VERSION))
    if "products" in fields:
        values["products"] = f.text_list("products")
    if "gi_number" in fields:
        values["gi_number"] = f.text("gi_number", required=False, max_length=100) or None
    if "standard" in fields:
        values["standard"] = f.text("standard", required=False, max_length=100) or None
    if "description" in fields:
        values["description"] = f.text("description", required=False, max_length=2000, multiline=True)
    if "qr_digital_link" in fields:
        values["qr_digital_link"] = _flag(f, "qr_digital_link")
    parent = values["parent"] if "parent" in values else (
        session.get(Brand, brand.parent_id) if brand is not None and brand.parent_id else None)
    area = values.get("area") or (brand.area if brand is not None else [])
    if parent is not None and area and not _within(area, parent.area):
        f.fail("area", _("品牌的产地范围必须在上级品牌 %(parent)s 的范围之内。", parent=parent.name))
    if brand is not None and "area" in values:
        for child in session.scalars(select(Brand).where(Brand.parent_id == brand.id)):
            if not _within(child.area, area):
                f.fail("area", _("下级品牌 %(child)s 的产地范围必须仍在本品牌的范围之内。", child=child.name))
    return values


def _flag(f: Fields, field: str) -> bool:
    """Read a boolean (JSON true/false, or a form's "true"/"false"/"on"/"off"/"1"/"0"); absent is false."""
    raw = f.data.get(field)
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    value = FLAGS.get(raw.strip().lower()) if isinstance(raw, str) else None
    if value is None:
        f.fail(field, _("%(field)s必须是 true 或 false。", field=f.label(field)))
        return False
    return value


def _read_parent(session: Session, f: Fields, data: dict, brand: Brand | None) -> Brand | None:
    value = data.get("parent")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None  # no parent (a form's empty choice); false, 0 or [] are not "none" but wrong
    parent_slug = f.text("parent", max_length=64)
    if not parent_slug:  # refused: the reason is the field's error
        return None
    parent = session.scalar(select(Brand).where(Brand.slug == parent_slug.lower()))
    if parent is None:
        f.fail("parent", _("没有标识为 %(slug)s 的品牌。", slug=parent_slug))
        return None
    ancestor, seen = parent, set()
    while brand is not None and ancestor is not None and ancestor.id not in seen:
        if ancestor.id == brand.id:
            f.fail("parent", _("品牌不能以自己或自己的下级品牌为上级品牌。"))
            return None
        seen.add(ancestor.id)
        ancestor = session.get(Brand, ancestor.parent_id) if ancestor.parent_id else None
    return parent


def register_brand(session: Session, data: dict, *, user) -> Brand:
    """Register a brand owned by the user's brand-owner organization and append ``brand.registered``.

    A ``parent`` of another owner is not taken at once: the brand is registered without it and asks
    the parent's owner (``brand.attachment_requested``; see ``brands.attachments``)."""
    require_role(user, "brand_manager")
    f = Fields(data)
    values = _read_brand(session, f, data, CHANGEABLE)
    slug = f.pattern("slug", SLUG, _("%(field)s只能包含小写字母、数字和连字符，例如 yanling-huangtao。",
                                      field=f.label("slug")), required=False)
    if len(slug) > 64:  # the column's length; a longer one is a database error on PostgreSQL
        f.fail("slug", _("%(field)s不能超过 %(max)d 个字符。", field=f.label("slug"), max=64))
    if not slug and values["name"]:
        slug = search.slug_for(values["name"])
        if not slug:  # a name without any letter, digit or Chinese character
            f.fail("slug", _("%(field)s是必填项。", field=f.label("slug")))
    owner = _owner(session, user, f)
    f.check()
    if session.scalar(select(Brand.id).where(Brand.slug == slug)):
        raise Conflict(_("品牌标识 %(slug)s 已被使用。", slug=slug), {"slug": "duplicate"})
    parent = values.pop("parent")
    requested = parent if parent is not None and needs_request(user, owner.id, parent) else None
    if requested is not None:
        parent = None
    brand = Brand(slug=slug, **values, parent_id=parent.id if parent else None, owner_id=owner.id, ledger_seq=-1,
                  search_text=search.search_text(values["name"], values["aliases"], values["area"]))
    entry = ledger_of(session).append(session, "brand.registered", user.actor(), f"brand:{slug}",
                                      brand_record(brand, parent))
    brand.ledger_seq = entry.seq
    session.add(brand)
    session.flush()  # the brand's id, for the answer and for licences granted in the same transaction
    if requested is not None:
        request_attachment(session, brand, requested, user=user)
    return brand


def change_brand(session: Session, brand: Brand, data: dict, *, user) -> Brand:
    """Change some of a brand's fields (those present in ``data``) and append ``brand.changed`` with the
    new values, the previous ones and an optional reason. Licences and batches stay as they are.

    A new ``parent`` of another owner is asked for instead (``brand.attachment_requested``); any
    parent given withdraws the brand's waiting request."""
    _require_manager(user, brand)
    f = Fields(data)
    for field in ("slug", "owner"):
        if field in f.data:
            f.fail(field, _("%(field)s登记后不能修改。", field=f.label(field)))
    fields = tuple(field for field in CHANGEABLE if field in f.data)
    if not fields and not f.errors:
        f.fail("body", _("请至少给出一个要修改的字段：%(fields)s。",
                                fields=_("、").join(str(f.label(field)) for field in CHANGEABLE)))
    values = _read_brand(session, f, f.data, fields, brand)
    reason = f.text("reason", required=False, max_length=500, multiline=True)
    f.check()
    parent = session.get(Brand, brand.parent_id) if brand.parent_id else None
    before = {"qr_digital_link": False, **brand_record(brand, parent)}  # the flag is only recorded when on
    waiting = requested = None
    if "parent" in values:
        wanted = values.pop("parent")
        waiting = pending_request(session, brand)
        if wanted is not None and wanted.id != brand.parent_id and needs_request(user, brand.owner_id, wanted):
            requested = wanted
        else:
            parent = wanted
    after = {"qr_digital_link": False, **brand_record(brand, parent), **{
        field: value for field, value in values.items() if field in before}}
    changes = {k: after[k] for k in fields if after[k] != before[k]}
    if not changes and waiting is None and requested is None:
        raise Conflict(_("这些值与品牌当前的登记相同，没有需要修改的内容。"))
    if waiting is not None:
        withdraw_request(session, waiting, brand, user=user)
    if changes:
        brand.parent_id = parent.id if parent else None
        for field, value in values.items():
            setattr(brand, field, value)
        brand.search_text = search.search_text(brand.name, brand.aliases, brand.area)
        data_ = {"changes": changes, "previous": {k: before[k] for k in changes}}
        if reason:
            data_["reason"] = reason
        ledger_of(session).append(session, "brand.changed", user.actor(), f"brand:{brand.slug}", data_)
    if requested is not None:
        request_attachment(session, brand, requested, user=user)
    return brand


def brand_record(brand: Brand, parent: Brand | None) -> dict:
    return {"name": brand.name, "aliases": brand.aliases, "slug": brand.slug, "category": brand.category,
            "level": brand.level, "parent": parent.slug if parent else None, "owner": f"org:{brand.owner_id}",
            "area": brand.area, "products": brand.products, "gi_number": brand.gi_number,
            "standard": brand.standard, "description": brand.description,
            # Only when on, so that entries written before the setting existed still match their rows.
            **({"qr_digital_link": True} if brand.qr_digital_link else {})}


def _require_manager(user, brand: Brand) -> None:
    require_role(user, "brand_manager")
    if user.role != "admin" and user.organization_id != brand.owner_id:
        raise Forbidden(_("只有品牌 %(name)s 的品牌主体能管理它。", name=brand.name))


def retire_brand(session: Session, brand: Brand, data: dict, *, user) -> Brand:
    """Retire a brand (no new licences or claims) and append ``brand.retired``."""
    _require_manager(user, brand)
    reason = read_reason(data)
    if brand.retired_on is not None:
        raise Conflict(_("品牌 %(name)s 已于 %(date)s 停用。", name=brand.name, date=brand.retired_on.isoformat()))
    brand.retired_on, _seq = append_ending(session, user=user, kind="brand.retired", subject=f"brand:{brand.slug}",
                                           date_key="retired_on", reason=reason)
    return brand


def grant_license(session: Session, brand: Brand, data: dict, *, user) -> License:
    """Grant a licence to use the brand and append ``brand.licensed``."""
    _require_manager(user, brand)
    if brand.retired_on is not None:
        raise Rejected(_("品牌 %(name)s 已停用，不能再发放许可。", name=brand.name))
    f = Fields(data)
    licensee_id = f.integer("licensee")
    licensee = session.get(Organization, licensee_id) if is_row_id(licensee_id) else None
    if licensee_id is not None and (licensee is None or licensee.kind not in PRODUCER_KINDS):
        f.fail("licensee", _("%(field)s必须是生产主体（合作社、企业、家庭农场或个人）的组织编号；"
                                "请选择一家已登记的生产主体。",
                                field=f.label("licensee")))
    products = f.text_list("products")
    outside = [p for p in products if p not in brand.products]
    if outside:
        f.fail("products", _("品牌 %(name)s 不包含产品 %(products)s；可许可：%(allowed)s。", name=brand.name,
                             products="、".join(outside), allowed="、".join(brand.products)))
    valid_from, valid_to = f.validity()
    quantity = f.quantity("quantity")
    unit = f.choice("unit", UNITS)
    bases = f.text_list("bases", max_items=50, max_length=200) if data.get("bases") else []
    f.check()
    license_ = License(brand_id=brand.id, licensee_id=licensee.id, products=products, valid_from=valid_from,
                       valid_to=valid_to, quantity=quantity, unit=unit, bases=bases, granted_by=user.username,
                       ledger_seq=-1)
    session.add(license_)
    session.flush()
    entry = ledger_of(session).append(session, "brand.licensed", user.actor(), f"license:{license_.id}",
                                      license_record(license_, brand))
    license_.ledger_seq = entry.seq
    return license_


def license_record(license_: License, brand: Brand) -> dict:
    return {"brand": brand.slug, "licensee": f"org:{license_.licensee_id}", "products": license_.products,
            "valid_from": license_.valid_from.isoformat(), "valid_to": license_.valid_to.isoformat(),
            "quantity": quantity_text(license_.quantity), "unit": license_.unit, "bases": license_.bases}


def get_license(session: Session, brand: Brand, license_id) -> License:
    license_ = session.get(License, license_id) if is_row_id(license_id) else None
    if license_ is None or license_.brand_id != brand.id:
        raise NotFound(_("品牌 %(name)s 没有编号为 %(id)s 的许可。", name=brand.name, id=license_id))
    return license_


def revoke_license(session: Session, brand: Brand, license_: License, data: dict, *, user) -> License:
    """Revoke a licence with a reason and append ``brand.license_revoked``; new claims stop at once."""
    _require_manager(user, brand)
    reason = read_reason(data)
    if license_.revoked_on is not None:
        raise Conflict(_("许可 %(id)s 已于 %(date)s 撤销。", id=license_.id, date=license_.revoked_on.isoformat()))
    license_.revoked_on, license_.revoke_seq = append_ending(session, user=user, kind="brand.license_revoked",
                                                             subject=f"license:{license_.id}",
                                                             date_key="revoked_on", reason=reason)
    license_.revoke_reason = reason
    return license_


def check_claim(session: Session, *, slug: str, organization_id: int, product: str, harvest: date,
                origin: str, quantity: Decimal, unit: str, batch_id: int | None = None) -> License:
    """Return the licence that lets this batch carry the brand, or raise Rejected (422) naming
    the rule that fails and by how much. Unknown brands are the caller's field error."""
    brand = session.scalar(select(Brand).where(Brand.slug == slug))
    if brand is None:
        raise Rejected(_("没有标识为 %(slug)s 的品牌。", slug=slug), {"brand": "unknown"})
    if brand.retired_on is not None and brand.retired_on <= harvest:
        raise Rejected(_("品牌 %(name)s 已于 %(date)s 停用。", name=brand.name, date=brand.retired_on.isoformat()),
                       {"brand": "retired"})
    if not any(regions.contains(code, origin) for code in brand.area):
        names = "、".join(regions.full_name(c) for c in brand.area)
        raise Rejected(_("产地 %(origin)s 不在品牌 %(name)s 的产地范围（%(area)s）之内。",
                         origin=regions.full_name(origin), name=brand.name, area=names), {"origin_region": "outside"})
    licences = session.scalars(select(License).where(License.brand_id == brand.id,
                                                     License.licensee_id == organization_id)
                               .order_by(License.valid_from)).all()
    if not licences:
        raise Rejected(_("生产主体没有品牌 %(name)s 的使用许可。", name=brand.name), {"brand": "no_license"})
    active = [lic for lic in licences if lic.revoked_on is None]
    if not active:
        last = licences[-1]
        raise Rejected(_("品牌 %(name)s 的使用许可已于 %(date)s 撤销：%(reason)s", name=brand.name,
                         date=last.revoked_on.isoformat(), reason=last.revoke_reason), {"brand": "license_revoked"})
    dated = [lic for lic in active if lic.valid_from <= harvest <= lic.valid_to]
    if not dated:
        spans = "；".join(f"{lic.valid_from.isoformat()} – {lic.valid_to.isoformat()}" for lic in active)
        raise Rejected(_("采收日期 %(date)s 不在品牌 %(name)s 使用许可的有效期（%(spans)s）内。",
                         date=harvest.isoformat(), name=brand.name, spans=spans), {"brand": "license_not_valid"})
    covering = [lic for lic in dated if product in lic.products]
    if not covering:
        raise Rejected(_("品牌 %(name)s 的使用许可不包含产品 %(product)s（许可产品：%(products)s）。",
                         name=brand.name, product=product, products="、".join(dated[0].products)),
                       {"product": "not_licensed"})
    license_ = covering[0]
    _check_cap(session, brand, license_, organization_id, harvest.year, quantity, unit, batch_id)
    return license_


def in_unit(amount: Decimal, unit: str, license_unit: str) -> Decimal | None:
    """Return ``amount`` of ``unit`` in ``license_unit``, or None when they cannot be converted."""
    if unit == license_unit:
        return amount
    if unit in KG and license_unit in KG:
        return amount * KG[unit] / KG[license_unit]
    return None


def _check_cap(session: Session, brand: Brand, license_: License, organization_id: int, year: int,
               quantity: Decimal, unit: str, batch_id: int | None) -> None:
    this = in_unit(quantity, unit, license_.unit)
    if this is None:
        raise Rejected(_("批次单位 %(unit)s 无法换算为许可数量的单位 %(license_unit)s。", unit=unit,
                         license_unit=license_.unit), {"unit": "not_convertible"})
    used = used_quantity(session, brand, organization_id, year, license_.unit, exclude=batch_id)
    if used + this > license_.quantity:
        over = used + this - license_.quantity
        raise Rejected(_("许可允许 %(year)d 年使用 %(cap)s %(unit)s；已登记 %(used)s %(unit)s；"
                         "本批次 %(this)s %(unit)s 将超出 %(over)s %(unit)s。", year=year, cap=_n(license_.quantity),
                         unit=license_.unit, used=_n(used), this=_n(this), over=_n(over)), {"quantity": "over_cap"})


def _n(amount: Decimal) -> str:
    """Format a quantity as people read it: 48200 -> 48,200 (unit conversions are exact: no rounding)."""
    return format_quantity(amount)


def used_quantity(session: Session, brand: Brand, organization_id: int, year: int, unit: str, *,
                  exclude: int | None = None) -> Decimal:
    """Return the licensee's quantity claimed under the brand in ``year``, in ``unit`` (without the
    batch ``exclude``: the one being corrected)."""
    used = Decimal(0)
    query = select(Batch.unit, func.sum(Batch.quantity)).where(
        Batch.brand == brand.slug, Batch.organization_id == organization_id,
        Batch.harvest_date >= date(year, 1, 1), Batch.harvest_date <= date(year, 12, 31))
    if exclude is not None:
        query = query.where(Batch.id != exclude)
    rows = session.execute(query.group_by(Batch.unit))
    for batch_unit, total in rows:
        used += in_unit(Decimal(total), batch_unit, unit) or Decimal(0)
    return used


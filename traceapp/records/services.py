"""Writes for organizations and batches (inspections and certificates follow): validate,
change the projection, append the ledger entry, never commit (the caller owns the
transaction)."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.errors import Conflict, Forbidden, NotFound, Rejected
from traceapp.field_labels import LABELS
from traceapp.i18n import gettext as _
from traceapp.ledger.store import ledger_of
from traceapp.personal.services import append_personal
from traceapp.records import regions
from traceapp.records.codes import LOT_FORBIDDEN, is_valid_gtin14, new_code, normalize_code
from traceapp.records.labels import CATEGORY, ORG_KIND, ROLE, label_of
from traceapp.records.models import (
    CATEGORIES,
    ORG_KINDS,
    UNITS,
    USCC_OPTIONAL_KINDS,
    Batch,
    BatchInput,
    Organization,
)
from traceapp.records.uscc import validate_uscc
from traceapp.records.values import is_row_id, quantity_text
from traceapp.validation import Fields, InvalidInput, add_years

MAX_PACK_YEARS = 1  # packing follows the harvest within a season; a later date is a mistyped year


def register_organization(session: Session, data: dict, *, actor: dict, demo: bool = False) -> Organization:
    """Register an organization and append ``org.registered``.

    Raises InvalidInput naming each bad field, Conflict when the USCC is already registered.
    """
    f = Fields(data)
    name = f.text("name")
    kind = f.choice("kind", ORG_KINDS, ORG_KIND)
    region = read_region(f, "region")
    uscc = f.text("uscc", required=False, max_length=18).upper() or None
    if uscc is None and kind and kind not in USCC_OPTIONAL_KINDS:
        f.fail("uscc", _("%(kind)s必须填写统一社会信用代码；只有家庭农场和个人可以不填。",
                         kind=label_of(ORG_KIND, kind)))
    if uscc is not None:
        try:
            validate_uscc(uscc)
        except ValueError:
            f.fail("uscc", _("%(code)s 不是有效的统一社会信用代码（18 位数字或大写字母，按 GB 32100 校验）。",
                             code=uscc))
    address = f.text("address", required=False, max_length=300)
    contact = f.text("contact", required=False, max_length=200)
    f.check()
    if uscc and session.execute(select(Organization.id).where(Organization.uscc == uscc)).first():
        raise Conflict(_("统一社会信用代码 %(code)s 已经登记过。", code=uscc), {"uscc": "duplicate"})
    org = Organization(name=name, kind=kind, uscc=uscc, region=region, address=address, contact=contact,
                       demo=demo, ledger_seq=-1)
    session.add(org)
    session.flush()
    entry = append_personal(session, "org.registered", actor, f"org:{org.id}", org_record(org))
    org.ledger_seq = entry.seq
    return org


def org_record(org: Organization) -> dict:
    """Return the fields of an organization as they go into its ledger entry."""
    return {"name": org.name, "kind": org.kind, "uscc": org.uscc, "region": org.region,
            "address": org.address, "contact": org.contact, "demo": org.demo}


def get_organization(session: Session, org_id: int) -> Organization:
    """Return the organization or raise NotFound."""
    org = session.get(Organization, org_id) if is_row_id(org_id) else None
    if org is None:
        raise NotFound(_("没有编号为 %(id)s 的组织。", id=org_id))
    return org


def remaining(session: Session, batch: Batch) -> Decimal:
    """Return how much of a batch it can still give (to inputs, transfers or 合格证): its quantity less
    everything it has given (``quantities``)."""
    from traceapp.records.quantities import commitments  # it reads the models only; kept beside its rule

    return commitments(session, batch).free


def get_batch(session: Session, code: str) -> Batch:
    """Return the batch with this code (any case) or raise NotFound."""
    canonical = normalize_code(code) if isinstance(code, str) else None
    batch = session.scalar(select(Batch).where(Batch.code == canonical)) if canonical else None
    if batch is None:
        raise NotFound(_("没有批次码为 %(code)s 的批次。", code=str(code)[:40]))
    return batch


def register_batch(session: Session, data: dict, *, user) -> Batch:
    """Register a producer batch for the user's organization and append ``batch.registered``.

    Producers register for their own organization only; an admin names ``organization``.
    Raises Forbidden for other roles, InvalidInput naming each bad field, Conflict for a
    GTIN and lot already used.
    """
    org_id = _batch_owner(session, data, user)
    f = Fields(data)
    fields = read_batch_fields(f)
    slug_rule = _("%(field)s必须是品牌的拼音标识（小写字母、数字和连字符），例如 yanling-huangtao；不使用品牌请留空。",
                  field=f.label("brand"))
    brand = f.pattern("brand", r"[a-z0-9]+(-[a-z0-9]+)*", slug_rule, required=False) or None
    unit = f.choice("unit", UNITS)
    inputs = _read_inputs(session, f, data.get("inputs"), unit, org_id)
    f.check()
    refuse_duplicate_lot(session, fields["gtin"], fields["lot"])
    if brand:
        from traceapp.brands.services import check_claim  # brands build on records, not the reverse

        check_claim(session, slug=brand, organization_id=org_id, product=fields["product"],
                    harvest=fields["harvest_date"], origin=fields["origin_region"], quantity=fields["quantity"],
                    unit=unit)
    batch = Batch(code=unused_code(session, Batch.code), organization_id=org_id, brand=brand, unit=unit,
                  registered_by=user.username, ledger_seq=-1, **fields)
    batch.inputs = [BatchInput(source=source, quantity=amount) for source, amount in inputs]
    # Appended before the row is written, so the row is inserted with its ledger_seq (no UPDATE).
    entry = ledger_of(session).append(session, "batch.registered", user.actor(), f"batch:{batch.code}",
                                      batch_record(batch, [(s.code, a) for s, a in inputs]))
    session.add(batch)
    batch.ledger_seq = entry.seq
    return batch


def read_batch_fields(f: Fields) -> dict:
    """Read and check the batch fields that registration and correction share."""
    product = f.text("product", max_length=100)
    category = f.choice("category", CATEGORIES, CATEGORY)
    quantity = f.quantity("quantity")
    harvest = f.past_date("harvest_date")
    pack = f.date("pack_date", required=False)
    if harvest and pack and pack < harvest:
        f.fail("pack_date", _("包装日期不能早于采收日期 %(date)s。", date=harvest.isoformat()))
    elif harvest and pack and pack > add_years(harvest, MAX_PACK_YEARS):
        f.fail("pack_date", _("包装日期不能晚于采收日期之后一年（%(date)s），请核对年份。",
                              date=add_years(harvest, MAX_PACK_YEARS).isoformat()))
    region = read_region(f, "origin_region")
    base = f.text("base", max_length=200)
    gtin = f.text("gtin", required=False, max_length=14) or None
    if gtin and not is_valid_gtin14(gtin):
        f.fail("gtin", _("商品条码 GTIN-14 必须是 14 位数字（0-9）且校验位正确（GS1）。"))
    lot = f.text("lot", required=False, max_length=20) or None
    if lot and (LOT_FORBIDDEN & set(lot) or any(c.isspace() for c in lot)):
        f.fail("lot", _("批号不能包含空白或 % & / < > ? 这些字符。"))
    return {"product": product, "category": category, "quantity": quantity, "harvest_date": harvest,
            "pack_date": pack, "origin_region": region, "base": base, "gtin": gtin, "lot": lot}


def read_region(f: Fields, field: str) -> str:
    """Read a 6-digit GB/T 2260 division code that the pinned table knows."""
    region = f.pattern(field, r"[0-9]{6}", _("%(field)s必须是 6 位数字的行政区划代码（GB/T 2260），例如 430225。",
                                             field=f.label(field)))
    if region and not regions.is_valid(region):
        f.fail(field, _("%(field)s %(code)s 不是已知的行政区划代码（数据版本 %(version)s）。",
                        field=f.label(field), code=region, version=regions.DATA_VERSION))
    return region


def refuse_duplicate_lot(session: Session, gtin: str | None, lot: str | None, *, batch_id: int | None = None) -> None:
    """Raise Conflict when another batch already has this GTIN and lot."""
    if not (gtin and lot):
        return
    other = session.scalar(select(Batch.id).where(Batch.gtin == gtin, Batch.lot == lot))
    if other is not None and other != batch_id:
        raise Conflict(_("GTIN %(gtin)s 下已经有批号 %(lot)s 的批次。", gtin=gtin, lot=lot), {"lot": "duplicate"})


def batch_record(batch: Batch, inputs: list[tuple[str, Decimal]]) -> dict:
    """Return the fields of a batch as they go into its ledger entry."""
    return {"code": batch.code, "organization": f"org:{batch.organization_id}", "product": batch.product,
            "category": batch.category, "brand": batch.brand, "quantity": quantity_text(batch.quantity),
            "unit": batch.unit, "harvest_date": batch.harvest_date.isoformat(),
            "pack_date": batch.pack_date.isoformat() if batch.pack_date else None,
            "origin_region": batch.origin_region, "base": batch.base, "gtin": batch.gtin, "lot": batch.lot,
            "inputs": [{"code": code, "quantity": quantity_text(amount)} for code, amount in inputs]}


def _batch_owner(session: Session, data: dict, user) -> int:
    if user.role == "producer":
        if user.organization_id is None:
            raise Forbidden(_("你的账号不属于任何生产主体，不能登记批次。"))
        if data.get("organization") not in (None, "", user.organization_id, str(user.organization_id)):
            raise Forbidden(_("你只能为自己所在的组织登记批次。"))
        return user.organization_id
    if user.role == "admin":
        org_id = data.get("organization")
        if not isinstance(org_id, int) and not (isinstance(org_id, str) and re.fullmatch(r"[0-9]{1,9}", org_id)):
            message = _("管理员登记批次时必须给出%(field)s：请填写批次所属生产主体的组织编号。",
                        field=LABELS["organization"])
            raise InvalidInput(message, {"organization": message})
        return get_organization(session, int(org_id)).id
    raise Forbidden(_("%(role)s的账号不能登记批次；只有生产主体的账号可以。", role=label_of(ROLE, user.role)))


def _read_inputs(session: Session, f: Fields, raw, unit: str, org_id: int) -> list[tuple[Batch, Decimal]]:
    """Read ``inputs`` for a batch of ``org_id``: each an earlier batch of that organization, or one handed
    over to it (a transfer), not recalled, frozen or void, with the quantity it can still give.

    Field errors go to ``f``; raises Rejected (422) for a held input or one the organization may not use.
    """
    from traceapp.records.holds import refuse_held  # holds read recalls, which build on this module
    from traceapp.records.quantities import commitments

    if raw in (None, []):
        return []
    if not isinstance(raw, list) or len(raw) > 100:
        f.fail("inputs", _("原料批次必须是列表，每项包含批次码和数量（最多 100 项）。"))
        return []
    taken: list[tuple[Batch, Decimal]] = []
    for i, item in enumerate(raw):
        field = f"inputs[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("code"), str):
            f.fail(field, _("第 %(n)d 个原料批次必须包含批次码和数量。", n=i + 1))
            continue
        code = normalize_code(item["code"])
        source = session.scalar(select(Batch).where(Batch.code == code)) if code else None
        amount = f.nested(item, field, label=_("第 %(n)d 个原料批次", n=i + 1)).quantity("quantity")
        if source is None:
            f.fail(f"{field}.code", _("没有批次码为 %(code)s 的批次。", code=item["code"][:40]))
            continue
        if any(s.id == source.id for s, _a in taken):
            f.fail(f"{field}.code", _("批次 %(code)s 在原料批次中出现了两次。", code=source.code))
            continue
        if unit and source.unit != unit:
            f.fail(f"{field}.code", _("原料批次 %(code)s 的单位是 %(theirs)s，与本批次的 %(ours)s 不同。",
                                      code=source.code, theirs=source.unit, ours=unit))
            continue
        refuse_held(session, source, "input", f"{field}.code")
        given = commitments(session, source)
        own = source.organization_id == org_id
        if not own and org_id not in given.handed:
            message = _("原料批次 %(code)s 属于其他组织，且没有转交给本组织；"
                        "请先请该批次的生产主体把所需数量转交给你们。", code=source.code)
            raise Rejected(message, {f"{field}.code": message})
        if amount is None:
            continue
        left = given.free if own else given.left_for(org_id)
        if amount > left:
            f.fail(f"{field}.quantity", _("批次 %(code)s 只剩 %(left)s %(unit)s 可用，不能再取 %(want)s。",
                                          code=source.code, left=quantity_text(left), unit=source.unit,
                                          want=quantity_text(amount)))
        else:
            taken.append((source, amount))
    return taken


def unused_code(session: Session, column) -> str:
    """Return a fresh random code not yet in ``column`` (a unique code column)."""
    while True:
        code = new_code()
        if session.scalar(select(column).where(column == code).limit(1)) is None:
            return code

"""Placing a brand under a parent brand: the parent's owner decides.

A brand of the parent's own owner (or one an admin places) is attached at once. Any other owner's
brand asks: ``brand.attachment_requested``, then the parent's brand manager appends
``brand.attachment_accepted`` (the brand takes the parent) or ``brand.attachment_refused``; a later
change of parent by the brand's own manager withdraws a waiting request
(``brand.attachment_withdrawn``). Until accepted, the brand has no parent: it is not listed on the
parent's page and does not bind the parent's area. An admin detaches a sub-brand with a reason
(``brand.detached``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp import clock
from traceapp.brands.models import Brand, BrandAttachment
from traceapp.errors import Conflict, Forbidden, NotFound, Rejected
from traceapp.i18n import gettext as _
from traceapp.ledger.store import ledger_of
from traceapp.records import regions
from traceapp.records.access import require_role
from traceapp.records.endings import read_reason
from traceapp.records.values import is_row_id
from traceapp.validation import Fields

DECISIONS = {"accepted": "brand.attachment_accepted", "refused": "brand.attachment_refused",
             "withdrawn": "brand.attachment_withdrawn"}


def within(area: list[str], outer: list[str]) -> bool:
    """Return whether every region code of ``area`` lies in one of ``outer``'s."""
    return all(any(regions.contains(o, code) for o in outer) for code in area)


def needs_request(user, owner_id: int, parent: Brand) -> bool:
    """Return whether placing a brand of ``owner_id`` under ``parent`` waits for the parent's owner."""
    return parent.owner_id != owner_id and user.role != "admin"


def pending_request(session: Session, brand: Brand) -> BrandAttachment | None:
    """Return the brand's request to be placed under a parent that waits for a decision, if any."""
    return session.scalar(select(BrandAttachment).where(BrandAttachment.brand_id == brand.id,
                                                        BrandAttachment.state == "pending"))


def request_attachment(session: Session, brand: Brand, parent: Brand, *, user) -> BrandAttachment:
    """Ask to place ``brand`` under ``parent`` and append ``brand.attachment_requested``. The caller has
    checked the parent (no cycle, areas nested) and withdrawn any earlier request."""
    attachment = BrandAttachment(brand_id=brand.id, parent_id=parent.id, state="pending", requested_by=user.username,
                                 ledger_seq=-1)
    session.add(attachment)
    session.flush()
    entry = ledger_of(session).append(session, "brand.attachment_requested", user.actor(),
                                      f"brand_attachment:{attachment.id}", {"brand": brand.slug, "parent": parent.slug})
    attachment.ledger_seq = entry.seq
    return attachment


def withdraw_request(session: Session, attachment: BrandAttachment, brand: Brand, *, user) -> None:
    """Withdraw a waiting request (its brand's manager chose another parent or none)."""
    parent = session.get(Brand, attachment.parent_id)
    _decide(session, attachment, "withdrawn", brand, parent, user=user, reason=None)


def get_attachment(session: Session, parent: Brand, attachment_id) -> BrandAttachment:
    """Return the request with this id to be placed under ``parent``; raise NotFound otherwise."""
    attachment = session.get(BrandAttachment, attachment_id) if is_row_id(attachment_id) else None
    if attachment is None or attachment.parent_id != parent.id:
        raise NotFound(_("品牌 %(name)s 没有编号为 %(id)s 的挂靠申请。", name=parent.name, id=attachment_id))
    return attachment


def accept_attachment(session: Session, parent: Brand, attachment: BrandAttachment, data: dict, *, user
                      ) -> BrandAttachment:
    """Accept a request as the parent's brand manager (or an admin): append ``brand.attachment_accepted``
    and give the brand its parent. Raises Forbidden, Conflict when already decided, Rejected (422)
    when the brand's area has left the parent's or the parent now lies below the brand."""
    _require_parent_manager(user, parent)
    f = Fields(data)
    reason = f.text("reason", required=False, max_length=500, multiline=True) or None
    f.check()
    brand = _waiting(session, attachment)
    if not within(brand.area, parent.area):
        raise Rejected(_("品牌 %(child)s 的产地范围不在本品牌 %(parent)s 的范围之内，不能接受挂靠；"
                         "请先扩大本品牌的产地范围，或请对方缩小其范围后重新申请。",
                         child=brand.name, parent=parent.name), {"area": "outside"})
    ancestor, seen = parent, set()
    while ancestor is not None and ancestor.id not in seen:
        if ancestor.id == brand.id:
            raise Rejected(_("品牌 %(child)s 是本品牌的上级品牌，不能再挂靠到本品牌之下。", child=brand.name),
                           {"parent": "cycle"})
        seen.add(ancestor.id)
        ancestor = session.get(Brand, ancestor.parent_id) if ancestor.parent_id else None
    _decide(session, attachment, "accepted", brand, parent, user=user, reason=reason)
    brand.parent_id = parent.id
    return attachment


def refuse_attachment(session: Session, parent: Brand, attachment: BrandAttachment, data: dict, *, user
                      ) -> BrandAttachment:
    """Refuse a request with a reason as the parent's brand manager (or an admin) and append
    ``brand.attachment_refused``. Raises Forbidden, InvalidInput without a reason, Conflict when decided."""
    _require_parent_manager(user, parent)
    reason = read_reason(data)
    brand = _waiting(session, attachment)
    _decide(session, attachment, "refused", brand, parent, user=user, reason=reason)
    return attachment


def detach_brand(session: Session, brand: Brand, data: dict, *, user) -> Brand:
    """Detach a sub-brand from its parent with a reason (admin only) and append ``brand.detached``."""
    if user.role != "admin":
        raise Forbidden(_("只有管理员能把下级品牌从上级品牌中移出。"))
    reason = read_reason(data)
    if brand.parent_id is None:
        raise Conflict(_("品牌 %(name)s 没有上级品牌，无需移出。", name=brand.name))
    parent = session.get(Brand, brand.parent_id)
    ledger_of(session).append(session, "brand.detached", user.actor(), f"brand:{brand.slug}",
                              {"parent": parent.slug, "detached_on": clock.today().isoformat(), "reason": reason})
    brand.parent_id = None
    return brand


def _require_parent_manager(user, parent: Brand) -> None:
    require_role(user, "brand_manager")
    if user.role != "admin" and user.organization_id != parent.owner_id:
        raise Forbidden(_("只有品牌 %(name)s 的品牌主体能接受或拒绝挂靠到它之下的申请。", name=parent.name))


def _waiting(session: Session, attachment: BrandAttachment) -> Brand:
    brand = session.get(Brand, attachment.brand_id)
    if attachment.state != "pending":
        raise Conflict(_("品牌 %(name)s 的这份挂靠申请已经处理过（%(state)s），不能再次处理。", name=brand.name,
                         state=STATE_LABELS[attachment.state]()))
    return brand


def _decide(session: Session, attachment: BrandAttachment, state: str, brand: Brand, parent: Brand, *, user,
            reason: str | None) -> None:
    today = clock.today()
    data = {"brand": brand.slug, "parent": parent.slug, f"{state}_on": today.isoformat()}
    if reason:
        data["reason"] = reason
    entry = ledger_of(session).append(session, DECISIONS[state], user.actor(), f"brand_attachment:{attachment.id}",
                                      data)
    attachment.state, attachment.decided_by, attachment.decided_on = state, user.username, today
    attachment.reason, attachment.decision_seq = reason, entry.seq


STATE_LABELS = {"pending": lambda: _("待处理"), "accepted": lambda: _("已接受"), "refused": lambda: _("已拒绝"),
                "withdrawn": lambda: _("已撤回")}


def attachment_record(attachment: BrandAttachment, brand_slug: str, parent_slug: str) -> dict:
    """Return what the entries of a request say about it: brand, parent, state, and the decision's
    day, reason and entry once decided."""
    record = {"brand": brand_slug, "parent": parent_slug, "state": attachment.state}
    if attachment.state != "pending":
        # A row changed behind the ledger may lack the day: verify reports it rather than failing.
        record["decided_on"] = attachment.decided_on.isoformat() if attachment.decided_on else None
        record["reason"] = attachment.reason
        record["decision_seq"] = attachment.decision_seq
    return record

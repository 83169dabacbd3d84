"""Administering organizations: find them, change their registration with a reason
(``org.changed`` keeps the new and the previous values), deactivate and reactivate them
(``org.deactivated``, ``org.reactivated``: their users cannot sign in meanwhile; their records
stay). Admins only; like every service, nothing here commits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from traceapp.errors import Conflict, Forbidden, Rejected
from traceapp.i18n import gettext as _
from traceapp.i18n import lazy_gettext as _l
from traceapp.ledger.store import ledger_of
from traceapp.personal.fields import changed_paths
from traceapp.personal.services import append_personal
from traceapp.records.labels import ORG_KIND, ROLE, label_of
from traceapp.records.models import ORG_KINDS, USCC_OPTIONAL_KINDS, Organization
from traceapp.records.services import org_record, read_region
from traceapp.records.uscc import validate_uscc
from traceapp.validation import Fields

CHANGEABLE = ("name", "kind", "uscc", "region", "address", "contact")
# A changed 统一社会信用代码 or kind re-files the organization under another identity or other
# duties, so the form asks for more than a click: the new code typed twice, the kind ticked.
CONFIRM_LABELS = {"confirm_uscc": _l("再次输入新的统一社会信用代码"), "confirm_kind": _l("确认修改类型")}
PAGE_SIZE = 25
ENTRY_KINDS = ("org.registered", "org.changed", "org.deactivated", "org.reactivated")


def _require_admin(user) -> None:
    if getattr(user, "role", None) != "admin":
        raise Forbidden(_("只有管理员可以管理组织和账号。"))


def change_organization(session: Session, org: Organization, data: dict, *, user) -> Organization:
    """Change the fields of ``data`` among CHANGEABLE and append ``org.changed`` with the new values,
    the previous ones and the reason (required). A new 统一社会信用代码 must be typed again in
    ``confirm_uscc``, a new kind confirmed by ``confirm_kind``; the kind must still suit every
    user's role.

    Raises Forbidden for anyone but an admin, InvalidInput naming each bad field, Conflict when
    nothing changes or the code belongs to another organization, Rejected when a user's role no
    longer fits the new kind."""
    from traceapp.auth.services import ROLE_ORG_KINDS

    _require_admin(user)
    f = Fields(data, labels=CONFIRM_LABELS)
    before = org_record(org)
    given = [field for field in CHANGEABLE if field in f.data]
    values = {}
    if "name" in given:
        values["name"] = f.text("name")
    if "kind" in given:
        values["kind"] = f.choice("kind", ORG_KINDS, ORG_KIND)
    if "region" in given:
        values["region"] = read_region(f, "region")
    if "uscc" in given:
        values["uscc"] = f.text("uscc", required=False, max_length=18).upper() or None
        if values["uscc"] is not None:
            try:
                validate_uscc(values["uscc"])
            except ValueError:
                f.fail("uscc", _("%(code)s 不是有效的统一社会信用代码（18 位数字或大写字母，按 GB 32100 校验）。",
                                 code=values["uscc"]))
    if "address" in given:
        values["address"] = f.text("address", required=False, max_length=300)
    if "contact" in given:
        values["contact"] = f.text("contact", required=False, max_length=200)
    reason = f.text("reason", max_length=500, multiline=True)
    after = {**before, **values}
    if not f.errors and after["uscc"] is None and after["kind"] not in USCC_OPTIONAL_KINDS:
        f.fail("uscc", _("%(kind)s必须填写统一社会信用代码；只有家庭农场和个人可以不填。",
                         kind=label_of(ORG_KIND, after["kind"])))
    changes = {k: after[k] for k in CHANGEABLE if after[k] != before[k]}
    if "uscc" in changes and changes["uscc"] is not None:
        typed = str(f.data.get("confirm_uscc") or "").strip().upper()
        if typed != changes["uscc"]:
            f.fail("confirm_uscc", _("修改统一社会信用代码须在“%(field)s”中再输入一遍新的代码，两次必须一致。",
                                     field=f.label("confirm_uscc")))
    if "kind" in changes and str(f.data.get("confirm_kind") or "") not in ("1", "on", "true", "yes"):
        f.fail("confirm_kind", _("修改组织类型会改变其账号能做的事：请勾选“%(field)s”后再保存。",
                                 field=f.label("confirm_kind")))
    f.check()
    if not changes:
        raise Conflict(_("这些值与组织当前的登记相同，没有需要修改的内容。"))
    if "uscc" in changes and changes["uscc"] and session.scalar(
            select(Organization.id).where(Organization.uscc == changes["uscc"], Organization.id != org.id)):
        raise Conflict(_("统一社会信用代码 %(code)s 已经登记过。", code=changes["uscc"]), {"uscc": "duplicate"})
    if "kind" in changes:
        from traceapp.auth.models import User

        roles = set(session.scalars(select(User.role).where(User.organization_id == org.id)))
        unfit = sorted(r for r in roles if r in ROLE_ORG_KINDS and changes["kind"] not in ROLE_ORG_KINDS[r])
        if unfit:
            raise Rejected(_("这个组织有%(roles)s的账号，它们不能属于%(kind)s；请先修改或停用这些账号。",
                             roles=_("、").join(str(label_of(ROLE, r)) for r in unfit),
                             kind=label_of(ORG_KIND, changes["kind"])), {"kind": "roles"})
    for field, value in changes.items():
        setattr(org, field, value)
    session.flush()
    individual = "individual" in (before["kind"], after["kind"])
    append_personal(session, "org.changed", user.actor(), f"org:{org.id}",
                    {"changes": changes, "previous": {k: before[k] for k in changes}, "reason": reason},
                    paths=changed_paths(changes, individual=individual))
    return org


def set_organization_active(session: Session, org: Organization, active: bool, data: dict, *, user) -> Organization:
    """Deactivate (``org.deactivated``) or reactivate (``org.reactivated``) an organization, with a
    reason. A deactivated organization's users cannot sign in or use their API tokens; its records
    stay as they are.

    Raises Forbidden for anyone but an admin, InvalidInput without a reason, Conflict when it already
    is in that state."""
    _require_admin(user)
    f = Fields(data)
    reason = f.text("reason", max_length=500, multiline=True)
    f.check()
    if org.active == active:
        raise Conflict(_("这个组织已经是启用状态。") if active else _("这个组织已经停用。"))
    org.active = active
    session.flush()
    ledger_of(session).append(session, "org.reactivated" if active else "org.deactivated", user.actor(),
                              f"org:{org.id}", {"reason": reason})
    if not active:
        from traceapp.auth.services import end_organization_sessions

        end_organization_sessions(session, org.id)
    return org


def organization_state(row: Organization) -> dict:
    """Return what the ledger fixes of an organization row: its registered fields as changed since,
    and ``"active": false`` while it is deactivated (left out when active, as registrations have it)."""
    return {**org_record(row), **({"active": False} if not row.active else {})}


def fold_changes(expected: dict[int, tuple[int, dict]], moves: Iterable[tuple[int, dict]]) -> None:
    """Apply org.changed, org.deactivated and org.reactivated entries (in ledger order) to the
    registered records in ``expected`` (org id -> (registration seq, data))."""
    for _seq, entry in moves:
        org_id = int(entry["subject"].removeprefix("org:"))
        if org_id not in expected:
            continue
        data = expected[org_id][1]
        if entry["kind"] == "org.changed":
            data.update(entry["data"]["changes"])
        elif entry["kind"] == "org.deactivated":
            data["active"] = False
        else:
            data.pop("active", None)


@dataclass(frozen=True)
class OrganizationPage:
    rows: list[Organization]
    total: int
    page: int
    pages: int


def region_prefix(code: str) -> str:
    """Return the prefix all divisions under a GB/T 2260 code share: 430000 -> 43, 430200 -> 4302."""
    for end in (2, 4):
        if code[end:] == "0" * (6 - end):
            return code[:end]
    return code


def search_organizations(session: Session, *, q: str = "", kind: str = "", region: str = "", active: str = "",
                         page: int = 1, per_page: int = PAGE_SIZE) -> OrganizationPage:
    """Return one page of organizations, by id, whose name holds ``q`` or whose 统一社会信用代码
    starts with it, of ``kind``, in ``region`` (a province or city includes what lies in it), and
    active (``"1"``) or deactivated (``"0"``) if asked."""
    query = select(Organization)
    q = q.strip()
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Organization.name.like(pattern, escape="\\"),
                                Organization.uscc.like(q.upper().replace("%", "").replace("_", "") + "%")))
    if kind in ORG_KINDS:
        query = query.where(Organization.kind == kind)
    if len(region) == 6 and region.isascii() and region.isdigit():
        query = query.where(Organization.region.like(region_prefix(region) + "%"))
    if active in ("0", "1"):
        query = query.where(Organization.active.is_(active == "1"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = list(session.scalars(query.order_by(Organization.id).offset((page - 1) * per_page).limit(per_page)))
    return OrganizationPage(rows, total, page, pages)

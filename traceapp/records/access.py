"""Who may write what: role checks shared by the record services."""

from __future__ import annotations

from sqlalchemy.orm import Session

from traceapp.errors import Forbidden
from traceapp.i18n import gettext as _
from traceapp.records.labels import ORG_KIND, ROLE, label_of
from traceapp.records.models import Batch, Organization


def require_role(user, *roles: str) -> None:
    """Raise Forbidden unless the user has one of ``roles`` (admin always may)."""
    if user.role != "admin" and user.role not in roles:
        raise Forbidden(_("%(role)s的账号不能进行这项操作；需要%(roles)s的账号。", role=label_of(ROLE, user.role),
                          roles=_("或").join(label_of(ROLE, role) for role in roles)))


def acting_organization(session: Session, user, requested: int | None, kind: str) -> Organization | None:
    """Return the organization the user acts for: their own, or (admin only) the one named.

    Returns None when an admin names none, so the caller can report the missing field.
    """
    if user.role == "admin":
        return session.get(Organization, requested) if requested is not None else None
    if user.organization_id is None:
        raise Forbidden(_("你的账号不属于任何组织，不能进行这项操作。"))
    if requested is not None and requested != user.organization_id:
        raise Forbidden(_("你只能以自己所在的组织的名义进行这项操作。"))
    org = session.get(Organization, user.organization_id)
    if org is None or org.kind != kind:
        raise Forbidden(_("只有%(kind)s的账号能进行这项操作。", kind=label_of(ORG_KIND, kind)))
    return org


def require_batch_owner(user, batch: Batch) -> None:
    """Raise Forbidden unless the user is staff of the batch's producer (or an admin)."""
    if user.role == "admin":
        return
    if user.role != "producer" or user.organization_id != batch.organization_id:
        raise Forbidden(_("只有批次 %(code)s 的生产主体能进行这项操作。", code=batch.code))

"""What the administration pages read: an organization's people and records, and the ledger's
entries about organizations. Reads only."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from traceapp.auth.models import User
from traceapp.auth.throttle import local_time
from traceapp.brands.models import Brand, License
from traceapp.field_labels import LABELS
from traceapp.i18n import lazy_gettext as _l
from traceapp.ledger.store import LedgerEntry
from traceapp.personal.fields import ERASED
from traceapp.personal.models import PersonalDatum
from traceapp.records import regions
from traceapp.records.labels import ORG_KIND, label_of
from traceapp.records.models import Batch, Certification, Organization
from traceapp.records.organizations import ENTRY_KINDS

LISTED = 20  # rows of each kind an organization's page shows (with the count of all)


@dataclass(frozen=True)
class Overview:
    users: list[User]
    batch_count: int
    batches: list[Batch]
    certifications: list[Certification]
    licenses: list[tuple[License, Brand]]
    brands: list[Brand]
    history: list[tuple[int, dict]]


def organization_overview(session: Session, org: Organization) -> Overview:
    """Return an organization's users, latest batches (and how many it has), certificates held,
    licences held, brands owned and its ledger entries (newest first)."""
    return Overview(
        users=list(session.scalars(select(User).where(User.organization_id == org.id).order_by(User.id))),
        batch_count=session.scalar(select(func.count()).select_from(Batch).where(Batch.organization_id == org.id)) or 0,
        batches=list(session.scalars(select(Batch).where(Batch.organization_id == org.id)
                                     .order_by(Batch.id.desc()).limit(LISTED))),
        certifications=list(session.scalars(select(Certification).where(Certification.holder_id == org.id)
                                            .order_by(Certification.id.desc()).limit(LISTED))),
        licenses=[tuple(r) for r in session.execute(
            select(License, Brand).join(Brand, Brand.id == License.brand_id)
            .where(License.licensee_id == org.id).order_by(License.id.desc()).limit(LISTED))],
        brands=list(session.scalars(select(Brand).where(Brand.owner_id == org.id).order_by(Brand.id))),
        history=subject_entries(session, f"org:{org.id}"),
    )


def subject_entries(session: Session, subject: str, limit: int = 50) -> list[tuple[int, dict]]:
    """Return the ledger entries about ``subject``, newest first."""
    rows = session.execute(select(LedgerEntry.seq, LedgerEntry.body).where(LedgerEntry.subject == subject)
                           .order_by(LedgerEntry.seq.desc()).limit(limit))
    return [(seq, json.loads(bytes(body))) for seq, body in rows]


def organization_entries(session: Session, *, before: int | None = None, limit: int = 50) -> list[tuple[int, dict]]:
    """Return the entries that register, change, deactivate or reactivate organizations, newest first."""
    query = (select(LedgerEntry.seq, LedgerEntry.body).where(LedgerEntry.kind.in_(ENTRY_KINDS))
             .order_by(LedgerEntry.seq.desc()).limit(limit))
    if before is not None:
        query = query.where(LedgerEntry.seq < before)
    return [(seq, json.loads(bytes(body))) for seq, body in session.execute(query)]


def users_by_ids(session: Session, ids: set[int]) -> dict[int, User]:
    """Return the users of these ids, by id (to name the actors and subjects of a log)."""
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}


def organizations_by_ids(session: Session, ids: set[int]) -> dict[int, Organization]:
    if not ids:
        return {}
    return {o.id: o for o in session.scalars(select(Organization).where(Organization.id.in_(ids)))}


def attention(session: Session) -> dict:
    """Return what an admin's home lists to act on: deactivated organizations and users, users who have
    not yet replaced a temporary password, and the organizations registered last."""
    return {
        "inactive_orgs": list(session.scalars(select(Organization).where(Organization.active.is_(False))
                                              .order_by(Organization.id.desc()).limit(LISTED))),
        "recent_orgs": list(session.scalars(select(Organization).order_by(Organization.id.desc()).limit(10))),
        "pending_users": [tuple(r) for r in session.execute(
            select(User, Organization).outerjoin(Organization, Organization.id == User.organization_id)
            .where(User.must_change_password.is_(True), User.active.is_(True)).order_by(User.id.desc()).limit(LISTED))],
        "inactive_users": [tuple(r) for r in session.execute(
            select(User, Organization).outerjoin(Organization, Organization.id == User.organization_id)
            .where(User.active.is_(False)).order_by(User.id.desc()).limit(LISTED))],
        "counts": {"orgs": session.scalar(select(func.count()).select_from(Organization)) or 0,
                   "users": session.scalar(select(func.count()).select_from(User)) or 0},
    }


ACCOUNT_ACTIONS = {"user.created": _l("创建账号"), "user.deactivated": _l("停用账号"),
                   "user.reactivated": _l("重新启用账号"), "user.role_changed": _l("修改角色"),
                   "user.password_reset": _l("重置密码"),
                   "token.issued": _l("新建 API 令牌"), "token.revoked": _l("撤销 API 令牌")}
ENTRY_LABELS = {"org.registered": _l("登记"), "org.changed": _l("修改登记"), "org.deactivated": _l("停用"),
                "org.reactivated": _l("重新启用")}


def _shown(field: str, value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dict):  # a personal field kept off the ledger
        return "***"
    if field == "kind":
        return str(label_of(ORG_KIND, value))
    if field == "region":
        return f"{regions.full_name(value)} ({value})"
    return str(value)


def _reveals(session: Session, seqs: list[int]) -> dict[int, dict[str, object]]:
    """Return the clear values (ERASED once erased) of these entries' personal fields, by seq and path:
    admins may read them (``traceapp.personal``)."""
    found: dict[int, dict[str, object]] = {}
    if seqs:
        for row in session.scalars(select(PersonalDatum).where(PersonalDatum.seq.in_(seqs))):
            found.setdefault(row.seq, {})[row.path] = ERASED if row.erased_seq is not None else json.loads(row.value)
    return found


def described(session: Session, entries: list[tuple[int, dict]]) -> list[dict]:
    """Return what a page shows of organization entries: what happened, when (local time), the reason,
    and each changed field by its label with its previous and new value (codes by their labels,
    personal fields by their revealed values)."""
    out = []
    reveals = _reveals(session, [seq for seq, entry in entries if entry["kind"] == "org.changed"])
    for seq, entry in entries:
        data = copy.deepcopy(entry.get("data") or {})
        for path, value in reveals.get(seq, {}).items():
            part, _dot, key = path.partition(".")
            if isinstance(data.get(part), dict) and key in data[part]:
                data[part][key] = value
        changes = [(str(LABELS.get(k, k)), _shown(k, data.get("previous", {}).get(k)), _shown(k, v))
                   for k, v in (data.get("changes") or {}).items()] if entry["kind"] == "org.changed" else []
        at = datetime.strptime(entry["ts"][:19], "%Y-%m-%dT%H:%M:%S")
        out.append({"seq": seq, "what": str(ENTRY_LABELS.get(entry["kind"], entry["kind"])), "at": local_time(at),
                    "reason": data.get("reason") if entry["kind"] != "org.registered" else None,
                    "changes": changes, "subject": entry["subject"], "actor": _actor_id(entry)})
    return out


def _actor_id(entry: dict) -> int | str | None:
    # Entries name their user by "user:<id>"; older ones by the login name itself.
    user = (entry.get("actor") or {}).get("user")
    if isinstance(user, str) and user.startswith("user:") and user[5:].isdigit():
        return int(user[5:])
    return user

"""Administering accounts (admins): find users, create them with a temporary password, deactivate
and reactivate them, change their role, reset their password; and every user's own API tokens.
Each action is kept in ``account_events`` for the admins' log (accounts are not ledger facts:
they hold password hashes). Like every service, nothing here commits."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from traceapp.auth.models import ROLES, AccountEvent, ApiToken, User
from traceapp.auth.services import TOKEN_PREFIX, _token_hash, check_role_fits, create_user, end_sessions
from traceapp.errors import Conflict, Forbidden, NotFound, Rejected
from traceapp.i18n import gettext as _
from traceapp.records.labels import ROLE
from traceapp.records.models import Organization
from traceapp.validation import Fields

PAGE_SIZE = 25
MAX_TOKENS = 20  # live tokens per user: a list that long is one nobody reads any more


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _require_admin(actor) -> None:
    if getattr(actor, "role", None) != "admin":
        raise Forbidden(_("只有管理员可以管理组织和账号。"))


def _log(session: Session, actor, action: str, user: User | None, **detail) -> None:
    session.add(AccountEvent(at=_now(), actor_id=actor.id if actor is not None else None, action=action,
                             user_id=user.id if user is not None else None,
                             detail=json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else ""))


def temporary_password() -> str:
    """Return a password an admin hands over once; its owner must replace it at the next sign-in."""
    return secrets.token_urlsafe(9)


def get_user(session: Session, user_id: int) -> User:
    """Return the user or raise NotFound."""
    user = session.get(User, user_id) if isinstance(user_id, int) and 0 < user_id < 2**31 else None
    if user is None:
        raise NotFound(_("没有编号为 %(id)s 的用户。", id=user_id))
    return user


def create_account(session: Session, data: dict, *, actor) -> tuple[User, str]:
    """Create a user (``username``, ``role``, ``org`` an organization id or empty) with a temporary
    password, returned once, that must be changed at the first sign-in. The role must fit the
    organization's kind (as the CLI checks). Raises Forbidden for anyone but an admin,
    InvalidInput naming each bad field, Conflict when the name is taken."""
    _require_admin(actor)
    f = Fields(data)
    org_id = f.integer("org", required=False)
    f.check()
    password = temporary_password()
    user = create_user(session, str(data.get("username") or "").strip(), str(data.get("role") or ""), org_id,
                       password)
    user.must_change_password = True
    session.flush()
    _log(session, actor, "user.created", user, role=user.role, org=user.organization_id)
    return user, password


def set_user_active(session: Session, user: User, active: bool, *, actor) -> User:
    """Deactivate (they can no longer sign in or use their tokens; their sessions end) or reactivate
    a user. Raises Forbidden for anyone but an admin, Rejected for one's own account, Conflict when
    it already is in that state."""
    _require_admin(actor)
    if user.id == actor.id:
        raise Rejected(_("不能停用或启用自己的账号；请让另一位管理员操作。"))
    if user.active == active:
        raise Conflict(_("这个账号已经是启用状态。") if active else _("这个账号已经停用。"))
    user.active = active
    session.flush()
    if not active:
        end_sessions(session, user.id)
    _log(session, actor, "user.reactivated" if active else "user.deactivated", user)
    return user


def change_role(session: Session, user: User, data: dict, *, actor) -> User:
    """Give a user another role (``role``) that fits their organization's kind. Raises Forbidden for
    anyone but an admin, Rejected for one's own account, InvalidInput for a bad or unfitting role,
    Conflict when it is the same."""
    _require_admin(actor)
    if user.id == actor.id:
        raise Rejected(_("不能修改自己的角色；请让另一位管理员操作。"))
    f = Fields(data)
    role = f.choice("role", ROLES, ROLE)
    org = session.get(Organization, user.organization_id) if user.organization_id else None
    if role:
        check_role_fits(f, role, org, user.organization_id)
        if "org" in f.errors:  # the organization is fixed here: the role is what to change
            f.errors["role"] = f.errors.pop("org")
    f.check()
    if role == user.role:
        raise Conflict(_("这个账号已经是这个角色。"))
    previous, user.role = user.role, role
    session.flush()
    end_sessions(session, user.id)  # pages opened under the old role must not keep acting for it
    _log(session, actor, "user.role_changed", user, role=role, previous=previous)
    return user


def reset_password(session: Session, user: User, *, actor) -> str:
    """Give the user a temporary password, returned once, to be changed at the next sign-in; end
    their sessions. Raises Forbidden for anyone but an admin, Rejected for one's own account (change
    it on the password page)."""
    _require_admin(actor)
    if user.id == actor.id:
        raise Rejected(_("请在“修改密码”页修改自己的密码。"))
    password = temporary_password()
    user.password_hash = generate_password_hash(password)
    user.must_change_password = True
    session.flush()
    end_sessions(session, user.id)
    _log(session, actor, "user.password_reset", user)
    return password


@dataclass(frozen=True)
class UserPage:
    rows: list[tuple[User, Organization | None]]
    total: int
    page: int
    pages: int


def search_users(session: Session, *, q: str = "", role: str = "", org_id: int | None = None, active: str = "",
                 page: int = 1, per_page: int = PAGE_SIZE) -> UserPage:
    """Return one page of users (with their organization), by id: whose login name or organization's
    name holds ``q``, of ``role``, of the organization, active (``"1"``) or deactivated (``"0"``)."""
    query = select(User, Organization).outerjoin(Organization, Organization.id == User.organization_id)
    q = q.strip()
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(User.username.like(pattern, escape="\\"), Organization.name.like(pattern, escape="\\")))
    if role in ROLES:
        query = query.where(User.role == role)
    if org_id is not None:
        query = query.where(User.organization_id == org_id)
    if active in ("0", "1"):
        query = query.where(User.active.is_(active == "1"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = [tuple(r) for r in session.execute(query.order_by(User.id).offset((page - 1) * per_page).limit(per_page))]
    return UserPage(rows, total, page, pages)


def account_events(session: Session, *, before: int | None = None, user_id: int | None = None,
                   limit: int = 100) -> list[AccountEvent]:
    """Return account actions, newest first: about one user if given, older than id ``before`` if given."""
    query = select(AccountEvent).order_by(AccountEvent.id.desc()).limit(limit)
    if before is not None:
        query = query.where(AccountEvent.id < before)
    if user_id is not None:
        query = query.where(AccountEvent.user_id == user_id)
    return list(session.scalars(query))


def own_tokens(session: Session, user: User) -> list[ApiToken]:
    """Return the user's live (not revoked) API tokens, newest first."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                                .order_by(ApiToken.id.desc())))


def issue_own_token(session: Session, user: User) -> tuple[ApiToken, str]:
    """Create an API token for the signed-in user and return it with the token itself (shown once;
    only its hash and prefix are kept). Raises Rejected when the user has MAX_TOKENS live ones."""
    live = session.scalar(select(func.count()).select_from(ApiToken)
                          .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))) or 0
    if live >= MAX_TOKENS:
        raise Rejected(_("你已有 %(n)d 个有效的令牌；请先撤销不用的令牌。", n=live))
    token = "ta_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=_token_hash(token), created_at=_now(), prefix=token[:TOKEN_PREFIX])
    session.add(row)
    session.flush()
    _log(session, user, "token.issued", user, prefix=row.prefix)
    return row, token


def revoke_own_token(session: Session, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens: requests with it get 401 from then on. Raises NotFound
    for a token that is not theirs (or is revoked already), so one cannot learn of others' tokens."""
    row = session.get(ApiToken, token_id) if isinstance(token_id, int) and 0 < token_id < 2**31 else None
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        raise NotFound(_("没有这个令牌，或它已被撤销。"))
    session.execute(update(ApiToken).where(ApiToken.id == row.id).values(revoked_at=_now())
                    .execution_options(synchronize_session=False))
    session.refresh(row)
    _log(session, user, "token.revoked", user, prefix=row.prefix)
    return row

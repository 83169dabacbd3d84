"""Accounts: create users, check passwords, issue and resolve API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from traceapp.auth.models import ROLES, ApiToken, User
from traceapp.errors import Conflict, NotFound
from traceapp.i18n import gettext as _
from traceapp.records.models import Organization
from traceapp.validation import Fields

# Which organization kinds each role belongs to; admin and regulator may have none.
ROLE_ORG_KINDS = {
    "producer": ("cooperative", "enterprise", "family_farm", "individual"),
    "inspector": ("inspection_body",),
    "certifier": ("certification_body",),
    "brand_manager": ("brand_owner",),
    "regulator": ("regulator",),
}
MIN_PASSWORD = 8


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def create_user(session: Session, username: str, role: str, org_id: int | None, password: str | None) -> User:
    """Create a user; raises InvalidInput for a bad name, role, organization or password,
    Conflict when the name is taken."""
    f = Fields({"username": username, "role": role})
    username = f.pattern("username", r"[A-Za-z0-9_.\-]{2,64}",
                         _("username 只能包含字母、数字、下划线、点和连字符，长度 2–64。"))
    role = f.choice("role", ROLES)
    org = session.get(Organization, org_id) if org_id is not None else None
    if org_id is not None and org is None:
        f.fail("org", _("没有编号为 %(id)s 的组织。", id=org_id))
    kinds = ROLE_ORG_KINDS.get(role)
    if role and kinds and role != "regulator" and org is None and org_id is None:
        f.fail("org", _("角色 %(role)s 必须属于一个组织（--org）。", role=role))
    if org is not None and kinds and org.kind not in kinds:
        f.fail("org", _("角色 %(role)s 不能属于类型为 %(kind)s 的组织。", role=role, kind=org.kind))
    if password is not None and len(password) < MIN_PASSWORD:
        f.fail("password", _("密码至少需要 %(n)d 个字符。", n=MIN_PASSWORD))
    f.check()
    if session.execute(select(User.id).where(User.username == username)).first():
        raise Conflict(_("用户名 %(name)s 已被使用。", name=username), {"username": "duplicate"})
    user = User(username=username, role=role, organization_id=org_id, active=True, created_at=_now(),
                password_hash=generate_password_hash(password) if password else None)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """Return the active user with this name and password, or None."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active or not user.password_hash:
        return None
    return user if check_password_hash(user.password_hash, password) else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, username: str) -> str:
    """Create an API token for the user and return it; only its hash is stored."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(_("没有名为 %(name)s 的用户。", name=username))
    token = "ta_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), created_at=_now()))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """Return the active user an API token belongs to, or None."""
    row = session.execute(select(User).join(ApiToken, ApiToken.user_id == User.id)
                          .where(ApiToken.token_hash == _token_hash(token))).scalar_one_or_none()
    return row if row is not None and row.active else None

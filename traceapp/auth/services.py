"""Accounts: create users, sign them in (throttled, logged) and out, change passwords, issue and
resolve API tokens."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import unicodedata
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from traceapp.auth import throttle
from traceapp.auth.models import ROLES, ApiToken, LoginEvent, User
from traceapp.auth.throttle import LoginPolicy, LoginThrottled
from traceapp.errors import Conflict, InvalidField, NotFound
from traceapp.field_labels import LABELS
from traceapp.i18n import gettext as _
from traceapp.records.labels import ORG_KIND, ROLE, label_of
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
EVENTS_PAGE = 100


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def create_user(session: Session, username: str, role: str, org_id: int | None, password: str | None) -> User:
    """Create a user; raises InvalidInput for a bad name, role, organization or password,
    Conflict when the name is taken."""
    f = Fields({"username": username, "role": role})
    username = f.pattern("username", r"[A-Za-z0-9_.\-]{2,64}",
                         _("%(field)s只能包含字母、数字、下划线、点和连字符，长度 2–64。", field=LABELS["username"]))
    role = f.choice("role", ROLES, ROLE)
    org = session.get(Organization, org_id) if org_id is not None else None
    if org_id is not None and org is None:
        f.fail("org", _("没有编号为 %(id)s 的组织。", id=org_id))
    check_role_fits(f, role, org, org_id)
    if password is not None and len(password) < MIN_PASSWORD:
        f.fail("password", _short_password())
    f.check()
    if session.execute(select(User.id).where(User.username == username)).first():
        raise Conflict(_("用户名 %(name)s 已被使用。", name=username), {"username": "duplicate"})
    user = User(username=username, role=role, organization_id=org_id, active=True, created_at=_now(),
                password_hash=generate_password_hash(password) if password else None)
    session.add(user)
    session.flush()
    return user


def check_role_fits(f: Fields, role: str, org: Organization | None, org_id: int | None) -> None:
    """Record on ``f`` (field ``org``) a role that needs an organization but has none, or one of a
    kind it does not belong to (ROLE_ORG_KINDS)."""
    kinds = ROLE_ORG_KINDS.get(role)
    if role and kinds and role != "regulator" and org is None and org_id is None:
        f.fail("org", _("%(role)s必须属于一个组织：请给出组织编号（--org）。", role=label_of(ROLE, role)))
    if org is not None and kinds and org.kind not in kinds:
        f.fail("org", _("%(role)s不能属于%(kind)s；请选择另一个组织。", role=label_of(ROLE, role),
                                 kind=label_of(ORG_KIND, org.kind)))


def _short_password() -> str:
    return _("密码至少需要 %(n)d 个字符。", n=MIN_PASSWORD)


@functools.cache
def _dummy_hash() -> str:
    # Made the way real ones are (werkzeug's default method and cost), so checking it takes as long.
    return generate_password_hash(secrets.token_urlsafe(16))


def _user_named(session: Session, username: str) -> User | None:
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def _check(session: Session, username: str, password: str) -> tuple[User | None, bool]:
    """Return the user of this name (or None) and whether the password signs them in. Exactly one
    password hash is checked either way, a dummy one when there is no user, no password or no
    active account, so the answer takes as long whether or not the name exists."""
    user = _user_named(session, username)
    usable = user is not None and may_sign_in(session, user) and bool(user.password_hash)
    matches = check_password_hash(user.password_hash if usable else _dummy_hash(), password)
    return user, usable and matches


def may_sign_in(session: Session, user: User) -> bool:
    """Return whether the account is active and so is its organization (if it has one)."""
    if not user.active:
        return False
    if user.organization_id is None:
        return True
    org = session.get(Organization, user.organization_id)
    return org is not None and org.active


def authenticate(session: Session, username: str, password: str) -> User | None:
    """Return the active user with this name and password, or None (no throttle, no log: the
    login form goes through log_in)."""
    user, ok = _check(session, username, password)
    return user if ok else None


def log_in(session: Session, username: str, password: str, client: str, *, policy: LoginPolicy | None = None,
           now: datetime | None = None) -> User | None:
    """Sign in through the login form: record the try (name as typed, ``client`` a salted hash of
    the address), check it against the throttle and the password, record the outcome. Return the
    user it signs in, or None. Raises LoginThrottled (429, saying when to try again), without
    checking the password, when the account or the client has too many failed tries in the window.

    Commits, unlike the record services, in three short transactions, each beginning with its
    write or holding only reads: the try is committed before it is counted, so that tries racing
    in other workers count it (``traceapp.auth.throttle``); and on SQLite a transaction that has
    read cannot write once another connection has written meanwhile, which logins, scans and
    ledger writes from other workers do all the time.
    """
    now = _naive(now)
    session.rollback()  # whatever this request read so far (the session's user, say)
    event = LoginEvent(at=now, username=unicodedata.normalize("NFC", username or "")[:64],
                       client=client[:64], outcome="pending")
    session.add(event)
    session.commit()
    refusal, user, ok = None, None, False
    try:
        throttle.check(session, event, policy or LoginPolicy(), now)
    except LoginThrottled as exc:
        refusal = exc
    else:
        user, ok = _check(session, event.username, password)
    outcome = "throttled" if refusal else "success" if ok else "failure"
    event_id, user_id = event.id, user.id if user is not None else None
    session.rollback()  # (which expires what was loaded: read nothing before the update)
    session.execute(update(LoginEvent).where(LoginEvent.id == event_id)
                    .values(outcome=outcome, user_id=user_id).execution_options(synchronize_session=False))
    session.commit()
    if refusal is not None:
        raise refusal
    return session.get(User, user_id) if ok else None


def end_sessions(session: Session, user_id: int) -> None:
    """End every session the user has signed in (on any device) by moving their session version on.
    Begin the transaction with it (see log_in about SQLite)."""
    session.execute(update(User).where(User.id == user_id)
                    .values(session_version=User.session_version + 1)
                    .execution_options(synchronize_session=False))


def end_organization_sessions(session: Session, org_id: int) -> None:
    """End every session of every user of the organization (it was deactivated)."""
    session.execute(update(User).where(User.organization_id == org_id)
                    .values(session_version=User.session_version + 1)
                    .execution_options(synchronize_session=False))


def set_password(session: Session, username: str, password: str) -> User:
    """Set a user's password (which no longer has to be changed) and end their sessions; raises
    NotFound for an unknown name, InvalidField for a password that is too short."""
    user = _user_named(session, username)
    if user is None:
        raise NotFound(_("没有名为 %(name)s 的用户。", name=username))
    if len(password) < MIN_PASSWORD:
        raise InvalidField("password", _short_password())
    user.password_hash = generate_password_hash(password)
    user.must_change_password = False
    session.flush()
    end_sessions(session, user.id)
    session.refresh(user)
    return user


_SESSION_ID = re.compile(r"([0-9]{1,18}):([0-9]{1,18})")


def user_for_session(session: Session, session_id: str) -> User | None:
    """Return the active user a session cookie's id (``User.get_id``) names, or None when the
    user is gone or inactive or the session was ended (by logout or a password change)."""
    match = _SESSION_ID.fullmatch(session_id or "")
    if match is None:
        return None
    user = session.get(User, int(match[1]))
    if user is None or user.session_version != int(match[2]) or not may_sign_in(session, user):
        return None
    return user


def login_events(session: Session, *, username: str | None = None, client: str | None = None,
                 before: int | None = None, limit: int = EVENTS_PAGE) -> list[LoginEvent]:
    """Return login events, newest first: of one name tried or one client if given, older than
    id ``before`` if given."""
    query = select(LoginEvent).order_by(LoginEvent.id.desc()).limit(limit)
    if username:
        query = query.where(LoginEvent.username == username)
    if client:
        query = query.where(LoginEvent.client == client)
    if before is not None:
        query = query.where(LoginEvent.id < before)
    return list(session.scalars(query))


def _naive(moment: datetime | None) -> datetime:
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


TOKEN_PREFIX = 10  # "ta_" and 7 characters: enough to tell a user's tokens apart, too few to guess the rest


def issue_token(session: Session, username: str) -> str:
    """Create an API token for the user and return it; only its hash and first characters are stored."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(_("没有名为 %(name)s 的用户。", name=username))
    token = "ta_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), created_at=_now(),
                         prefix=token[:TOKEN_PREFIX]))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """Return the user an API token belongs to, or None when the token is unknown or revoked, or the
    user or their organization is deactivated."""
    row = session.execute(select(User).join(ApiToken, ApiToken.user_id == User.id)
                          .where(ApiToken.token_hash == _token_hash(token), ApiToken.revoked_at.is_(None))
                          ).scalar_one_or_none()
    return row if row is not None and may_sign_in(session, row) else None


TOKEN_USE_STEP = 60  # seconds: a token's last use is stored at most this often, not on every request


def note_token_use(session: Session, token: str, now: datetime | None = None) -> None:
    """Record that the token was just used (when its stored last use is older than TOKEN_USE_STEP).
    Begin a transaction of its own with it (see log_in about SQLite)."""
    now = _naive(now)
    session.execute(update(ApiToken).where(
        ApiToken.token_hash == _token_hash(token),
        (ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < now - timedelta(seconds=TOKEN_USE_STEP)))
        .values(last_used_at=now).execution_options(synchronize_session=False))

"""Users and API tokens. Accounts are not ledger facts: they hold password hashes."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from traceapp.db import Base

ROLES = ("admin", "producer", "inspector", "certifier", "brand_manager", "regulator")


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    # Part of the id a session cookie carries: logout and a password change move it on, so a
    # cookie signed before then (copied, or left on another device) no longer names anyone.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set by an admin's password reset: the temporary password only opens the page that replaces it.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:  # Flask-Login: what the session cookie stores
        return f"{self.id}:{self.session_version}"

    def actor(self) -> dict:
        """Return how this user is named in ledger entries: by an opaque id, since the public log can
        never forget a name (the login name is personal data of this record, not of the ledger)."""
        return {"user": f"user:{self.id}", "org": f"org:{self.organization_id}" if self.organization_id else None}


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 hex; the token is shown once
    created_at: Mapped[datetime]
    # The token's first characters, so its owner can tell which one a list row is (None: issued
    # before tokens kept one).
    prefix: Mapped[str | None] = mapped_column(String(16))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


LOGIN_OUTCOMES = ("pending", "success", "failure", "throttled")


class LoginEvent(Base):
    """One try at signing in through the login form, kept for the admin and counted by the
    throttle. ``pending`` until the password is checked (a try cut off there counts as failed)."""

    __tablename__ = "login_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime]  # UTC
    username: Mapped[str] = mapped_column(String(64))  # the name tried, as typed (cut to 64)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    client: Mapped[str] = mapped_column(String(64))  # salted hash of the address, as scans keep it
    outcome: Mapped[str] = mapped_column(String(16))

    __table_args__ = (Index("ix_login_events_username_at", "username", "at"),
                      Index("ix_login_events_client_at", "client", "at"))


ACCOUNT_ACTIONS = ("user.created", "user.deactivated", "user.reactivated", "user.role_changed",
                   "user.password_reset", "token.issued", "token.revoked")


class AccountEvent(Base):
    """One administrative action on an account (accounts are not ledger facts: they hold password
    hashes), kept for the admins' log. ``detail`` is JSON: what changed, never a secret."""

    __tablename__ = "account_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime]  # UTC
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    detail: Mapped[str] = mapped_column(Text, default="", server_default="")

"""Users and API tokens. Accounts are not ledger facts: they hold password hashes."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
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

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:  # Flask-Login: what the session cookie stores
        return f"{self.id}:{self.session_version}"

    def actor(self) -> dict:
        """Return how this user is named in ledger entries."""
        return {"user": self.username, "org": f"org:{self.organization_id}" if self.organization_id else None}


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 hex; the token is shown once
    created_at: Mapped[datetime]


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

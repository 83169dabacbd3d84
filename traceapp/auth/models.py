"""Users and API tokens. Accounts are not ledger facts: they hold password hashes."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
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

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def actor(self) -> dict:
        """Return how this user is named in ledger entries."""
        return {"user": self.username, "org": f"org:{self.organization_id}" if self.organization_id else None}


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 hex; the token is shown once
    created_at: Mapped[datetime]

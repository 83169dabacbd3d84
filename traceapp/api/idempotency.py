"""Idempotency-Key: a tablet on a bad connection may retry a POST; the retry gets the first
answer and writes nothing, and the same key with a different body is refused (409)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from traceapp.db import Base
from traceapp.errors import Conflict, InvalidField
from traceapp.i18n import gettext as _

MAX_KEY = 255


class IdempotencyKey(Base):
    """The first successful answer to a request made with this user's key."""

    __tablename__ = "idempotency_keys"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int]
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


def check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY or not key.isprintable() or not key.isascii():
        raise InvalidField("Idempotency-Key", _("请求头 Idempotency-Key 必须是 1 到 %(n)d 个可打印 ASCII 字符。",
                                                n=MAX_KEY))
    return key


def request_hash(method: str, path: str, body) -> str:
    """Hash what makes two requests the same: method, path and the JSON body (key order ignored)."""
    canonical = json.dumps([method, path, body], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def replay(session: Session, user_id: int, key: str, digest: str) -> tuple[dict, int] | None:
    """Return the stored answer for a retried request, None for a new key; Conflict if the body differs."""
    row = session.get(IdempotencyKey, (user_id, key))
    if row is None:
        return None
    if row.request_hash != digest:
        raise Conflict(_("Idempotency-Key %(key)s 已用于另一个不同的请求；请为新请求换一个新的键。", key=key[:60]),
                       {"Idempotency-Key": "reused"})
    return json.loads(row.response), row.status


def remember(session: Session, user_id: int, key: str, digest: str, body: dict, status: int) -> None:
    session.add(IdempotencyKey(user_id=user_id, key=key, request_hash=digest, status=status,
                               response=json.dumps(body, ensure_ascii=False),
                               created_at=datetime.now(UTC).replace(tzinfo=None)))

"""Helpers for ledger tests: build a log through the real append path, and damage it
straight in the database with the append-only triggers out of the way."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import text

from traceapp.ledger.store import LEDGER_TABLES, Ledger, begin_write
from traceapp.ledger.verify import VerificationError

ACTOR = {"user": "tester", "org": "org:1"}


def build(sessions, ledger: Ledger, transactions: list[int]) -> None:
    """Append entries in transactions of the given sizes, each sealed with a checkpoint."""
    seq = 0
    for count in transactions:
        with sessions() as s:
            begin_write(s)
            for _ in range(count):
                ledger.append(s, "batch.registered", ACTOR, f"batch:B{seq}",
                              {"product": "黄桃", "quantity": f"{100 + seq}.5", "unit": "kg"})
                seq += 1
            s.commit()


def without_triggers(engine, statements: list[tuple[str, dict]]) -> None:
    """Run SQL on the ledger tables with the append-only triggers removed or disabled."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            names = conn.execute(text("SELECT name FROM sqlite_master WHERE type='trigger'")).scalars().all()
            for name in names:
                conn.execute(text(f"DROP TRIGGER {name}"))
        else:
            for table in LEDGER_TABLES:
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        for sql, params in statements:
            conn.execute(text(sql), params)


def body_of(engine, seq: int) -> bytes:
    with engine.connect() as conn:
        return bytes(conn.execute(text("SELECT body FROM ledger_entries WHERE seq = :s"), {"s": seq}).scalar_one())


def rewrite(engine, seq: int, new_body: bytes, *, rehash: bool) -> None:
    """Replace entry ``seq``'s bytes (and, with ``rehash``, its stored chain hash too)."""
    statements = [("UPDATE ledger_entries SET body = :b WHERE seq = :s", {"b": new_body, "s": seq})]
    if rehash:
        statements.append(("UPDATE ledger_entries SET hash = :h WHERE seq = :s",
                           {"h": hashlib.sha256(new_body).hexdigest(), "s": seq}))
    without_triggers(engine, statements)


def verify(sessions, ledger: Ledger):
    """Run ``ledger.verify`` in a session of its own and return its report."""
    with sessions() as s:
        return ledger.verify(s)


def failure(sessions, ledger: Ledger) -> VerificationError:
    """Return the VerificationError that verifying the damaged log raises (the test fails if none)."""
    with pytest.raises(VerificationError) as info:
        verify(sessions, ledger)
    return info.value

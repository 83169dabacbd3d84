"""Ending a record with a reason (revoke, void, retire): never an edit, always a new ledger
entry ``{"<state>_on": today, "reason": …}`` about the record."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from traceapp import clock
from traceapp.ledger.store import ledger_of
from traceapp.validation import Fields


def read_reason(data: dict) -> str:
    """Return the request's ``reason``; raise InvalidInput when it is missing or too long."""
    f = Fields(data)
    reason = f.text("reason", max_length=500, multiline=True)
    f.check()
    return reason


def append_ending(session: Session, *, user, kind: str, subject: str, date_key: str, reason: str
                  ) -> tuple[date, int]:
    """Append the ending entry and return (today, its sequence number)."""
    today = clock.today()
    entry = ledger_of(session).append(session, kind, user.actor(), subject,
                                      {date_key: today.isoformat(), "reason": reason})
    return today, entry.seq

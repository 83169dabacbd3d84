"""A safety net for the write path: a transaction that changes projection rows must also
append to the ledger, or it does not commit."""

from __future__ import annotations

from itertools import chain

from sqlalchemy import event
from sqlalchemy.orm import Session

from traceapp.ledger.store import Ledger

_CHANGED = "traceapp.projection_changed"


class UnrecordedWrite(RuntimeError):
    """Raised at commit when projection rows changed but nothing was appended to the ledger."""


def _touches_projection(session: Session) -> bool:
    return any(getattr(obj, "projection", False) for obj in chain(session.new, session.dirty, session.deleted))


def install(session_factory) -> None:
    """Refuse, at commit, transactions that change projection rows without a ledger entry."""

    @event.listens_for(session_factory, "after_flush")
    def _track(session, _context):
        if _touches_projection(session):
            session.info[_CHANGED] = True

    @event.listens_for(session_factory, "before_commit", insert=True)  # before the ledger seals
    def _check(session):
        changed = session.info.pop(_CHANGED, False) or _touches_projection(session)
        if changed and not Ledger.pending(session):
            raise UnrecordedWrite("projection rows changed without a ledger entry; write through a service")

    @event.listens_for(session_factory, "after_commit")  # the commit's own flush may have set it
    @event.listens_for(session_factory, "after_rollback")
    def _forget(session):
        session.info.pop(_CHANGED, None)

"""Full verifications run from the audit desk. Not ledger facts and not projections: an operational
record of who checked the ledger when, and what they found."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from traceapp.db import Base

STATUSES = ("running", "ok", "failed", "error")


class VerificationRun(Base):
    """One full verification: the chain, roots and signatures, then the projection tables.

    ``heartbeat_at`` moves while the worker thread makes progress; a running row whose heartbeat
    is stale belongs to a worker that died. ``result`` is JSON: ``{"summary", "problems": […]}``.
    """

    __tablename__ = "verification_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8))
    entries_checked: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    result: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # At most one running verification, whichever worker started it.
        Index("uq_verification_runs_running", "status", unique=True,
              sqlite_where=text("status = 'running'"), postgresql_where=text("status = 'running'")),
        Index("ix_verification_runs_finished_at", "finished_at"),
    )


EXPORT_STATUSES = ("started", "complete", "aborted", "failed")


class ExportLog(Base):
    """One export from the regulator's desk: who took which events, in which format,
    under which filters, and how much. Not a ledger fact and not a projection: an access log, written
    before the first byte leaves and completed when the download ends.

    ``filters`` is JSON (the validated filters, ``{}`` for everything); ``via`` is ``session`` (logged in
    on the desk) or ``token`` (an API token); ``status`` moves from ``started`` to ``complete``,
    ``aborted`` (the client went away) or ``failed``.
    """

    __tablename__ = "export_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    organization_id: Mapped[int | None]
    via: Mapped[str] = mapped_column(String(8))
    format: Mapped[str] = mapped_column(String(8))
    filters: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8))
    rows: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_export_log_at", "at"),)

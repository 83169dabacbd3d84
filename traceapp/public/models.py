"""Scans of consumer pages. Not ledger facts: operational records kept to tell a consumer how
often a code was looked up. The client is a salted hash, never the IP address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from traceapp.db import Base


class Scan(Base):
    """A counted scan: one client's first view of a code in a period, once the batch's labels were
    printed, by no signed-in user (``traceapp.public.scan_rules``)."""

    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    batch_id: Mapped[int]
    scanned_at: Mapped[datetime]
    client: Mapped[str] = mapped_column(String(64))
    hints: Mapped[str] = mapped_column(String(120))
    # The start (Unix seconds) of the SCAN_ALERT_WINDOW-long period of the scan: a client's scans of
    # a code count once per period, so the key below keeps one row of them (NULL: stored before that).
    period: Mapped[int | None] = mapped_column(BigInteger)
    region: Mapped[str | None] = mapped_column(String(32))  # as a trusted proxy named it, if any

    __table_args__ = (Index("ix_scans_batch_id_scanned_at", "batch_id", "scanned_at"),
                      Index("uq_scans_batch_id_client_period", "batch_id", "client", "period", unique=True))


class FirstScan(Base):
    """A code's first scan (the primary key makes two concurrent first scans record one) and how
    many of its scans are stored, written with them."""

    __tablename__ = "first_scans"

    batch_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    scanned_at: Mapped[datetime]
    client: Mapped[str] = mapped_column(String(64))
    scan_count: Mapped[int] = mapped_column(BigInteger, server_default="0")

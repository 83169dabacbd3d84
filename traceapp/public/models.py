"""Scans of consumer pages. Not ledger facts: operational records kept to tell a consumer how
often a code was looked up. The client is a salted hash, never the IP address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from traceapp.db import Base


class Scan(Base):
    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    batch_id: Mapped[int]
    scanned_at: Mapped[datetime]
    client: Mapped[str] = mapped_column(String(64))
    hints: Mapped[str] = mapped_column(String(120))

    __table_args__ = (Index("ix_scans_batch_id_scanned_at", "batch_id", "scanned_at"),)


class FirstScan(Base):
    """A code's first scan (the primary key makes two concurrent first scans record one) and how
    many of its scans are stored, written with them."""

    __tablename__ = "first_scans"

    batch_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    scanned_at: Mapped[datetime]
    client: Mapped[str] = mapped_column(String(64))
    scan_count: Mapped[int] = mapped_column(BigInteger, server_default="0")


class ConsumerPageData(Base):
    """What a batch's consumer page shows that only writes change, as one JSON value: kept by
    ``traceapp.public.page_data`` (marked unbuilt by each write that changes it, built again after
    that write commits). Derived from projections, not a ledger fact; no foreign key, so that it
    never stands in the way of repairing the rows it comes from (a value whose batch is gone is
    never read)."""

    __tablename__ = "consumer_page_data"

    batch_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value: Mapped[str | None] = mapped_column(Text().with_variant(postgresql.JSON(), "postgresql"))  # None: unbuilt
    version: Mapped[int] = mapped_column(BigInteger)  # the ledger's size when it was built or marked

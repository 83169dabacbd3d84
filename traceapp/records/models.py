"""Organizations (and, with their issue, batches, inspections, certificates): the current
state derived from the ledger, written in the same transaction as their entries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from traceapp.db import Base

ORG_KINDS = ("cooperative", "enterprise", "family_farm", "individual", "inspection_body",
             "certification_body", "brand_owner", "regulator")
USCC_OPTIONAL_KINDS = ("family_farm", "individual")


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    region: Mapped[str] = mapped_column(String(6), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    demo: Mapped[bool] = mapped_column(default=False)
    ledger_seq: Mapped[int] = mapped_column(BigInteger)

UNITS = ("kg", "g", "t", "斤", "箱", "件", "盒", "袋", "个", "只", "头", "L")
CATEGORIES = ("fruit", "vegetable", "tea", "grain", "edible_fungi", "livestock", "poultry", "aquatic",
              "oil_crop", "medicinal_herb", "processed", "other")


class Batch(Base):
    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    product: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32))
    brand: Mapped[str | None] = mapped_column(String(64), index=True)
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    unit: Mapped[str] = mapped_column(String(8))
    harvest_date: Mapped[date]
    pack_date: Mapped[date | None]
    origin_region: Mapped[str] = mapped_column(String(6), index=True)
    base: Mapped[str] = mapped_column(String(200))
    gtin: Mapped[str | None] = mapped_column(String(14))
    lot: Mapped[str | None] = mapped_column(String(20))
    registered_by: Mapped[str] = mapped_column(String(64))
    ledger_seq: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("gtin", "lot", name="uq_batches_gtin_lot"),)


class BatchInput(Base):
    """Quantity taken from an earlier batch (pooling picks, or processing raw produce)."""

    __tablename__ = "batch_inputs"

    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    input_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), primary_key=True, index=True)
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))

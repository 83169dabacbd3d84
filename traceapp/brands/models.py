"""Regional public brands (区域公用品牌) and enterprise brands, and the licences to use them:
projections of ``brand.*`` ledger entries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Numeric, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from traceapp.db import Base

LEVELS = ("province", "city", "county", "enterprise")


class Brand(Base):
    __tablename__ = "brands"
    projection = True

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    aliases: Mapped[list] = mapped_column(JSON)
    category: Mapped[str] = mapped_column(String(32), index=True)
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    area: Mapped[list] = mapped_column(JSON)
    products: Mapped[list] = mapped_column(JSON)
    gi_number: Mapped[str | None] = mapped_column(String(100))
    standard: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    retired_on: Mapped[date | None]
    # The brand's QR codes encode the GS1 Digital Link URI (/01/<gtin>/10/<lot>) for batches with both.
    qr_digital_link: Mapped[bool] = mapped_column(default=False, server_default=false())
    ledger_seq: Mapped[int] = mapped_column(BigInteger)
    # Derived for search, not a ledger fact: names, aliases, their pinyin and initials, place names.
    search_text: Mapped[str] = mapped_column(Text)


class License(Base):
    """A 商标使用许可: a licensee may claim the brand for these products, up to a yearly quantity."""

    __tablename__ = "licenses"
    projection = True

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"), index=True)
    licensee_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    products: Mapped[list] = mapped_column(JSON)
    valid_from: Mapped[date]
    valid_to: Mapped[date]
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    unit: Mapped[str] = mapped_column(String(8))
    bases: Mapped[list] = mapped_column(JSON)
    granted_by: Mapped[str] = mapped_column(String(64))
    ledger_seq: Mapped[int] = mapped_column(BigInteger)
    revoked_on: Mapped[date | None]
    revoke_reason: Mapped[str | None] = mapped_column(String(500))
    revoke_seq: Mapped[int | None] = mapped_column(BigInteger)

    # a producer's licence for one brand: the claim check and the consumer page (migration 0011)
    __table_args__ = (Index("ix_licenses_licensee_id_brand_id", "licensee_id", "brand_id"),)


ATTACHMENT_STATES = ("pending", "accepted", "refused", "withdrawn")


class BrandAttachment(Base):
    """A request to place a brand under a parent brand of another owner: the sub-brand only takes the
    parent once the parent's brand manager accepts (``brand.attachment_*`` entries)."""

    __tablename__ = "brand_attachments"
    projection = True

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"), index=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("brands.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(64))
    ledger_seq: Mapped[int] = mapped_column(BigInteger)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_on: Mapped[date | None]
    reason: Mapped[str | None] = mapped_column(String(500))
    decision_seq: Mapped[int | None] = mapped_column(BigInteger)

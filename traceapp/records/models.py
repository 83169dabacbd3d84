"""Organizations, batches, inspections, certifications, 合格证 and corrections: the current
state derived from the ledger, written in the same transaction as their entries."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Numeric, String, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from traceapp.db import Base

ORG_KINDS = ("cooperative", "enterprise", "family_farm", "individual", "inspection_body",
             "certification_body", "brand_owner", "regulator")
USCC_OPTIONAL_KINDS = ("family_farm", "individual")
PRODUCER_KINDS = ("cooperative", "enterprise", "family_farm", "individual")  # who registers batches


class Organization(Base):
    __tablename__ = "organizations"
    projection = True

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    region: Mapped[str] = mapped_column(String(6), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    demo: Mapped[bool] = mapped_column(default=False)
    # False after org.deactivated: its users cannot sign in; its records stay.
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    ledger_seq: Mapped[int] = mapped_column(BigInteger)

UNITS = ("kg", "g", "t", "斤", "箱", "件", "盒", "袋", "个", "只", "头", "L")
CATEGORIES = ("fruit", "vegetable", "tea", "grain", "edible_fungi", "livestock", "poultry", "aquatic",
              "oil_crop", "medicinal_herb", "processed", "other")


class Batch(Base):
    __tablename__ = "batches"
    projection = True

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    product: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32))
    brand: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    unit: Mapped[str] = mapped_column(String(8))
    harvest_date: Mapped[date]
    pack_date: Mapped[date | None]
    origin_region: Mapped[str] = mapped_column(String(6))
    base: Mapped[str] = mapped_column(String(200))
    gtin: Mapped[str | None] = mapped_column(String(14))
    lot: Mapped[str | None] = mapped_column(String(20))
    registered_by: Mapped[str] = mapped_column(String(64))
    ledger_seq: Mapped[int] = mapped_column(BigInteger)
    inputs: Mapped[list[BatchInput]] = relationship(foreign_keys="BatchInput.batch_id",
                                                    order_by="BatchInput.input_id")

    __table_args__ = (UniqueConstraint("gtin", "lot", name="uq_batches_gtin_lot"),
                      # a brand's batches by harvest, covering the brand page's sums (migration 0006)
                      Index("ix_batches_brand_harvest", "brand", "harvest_date", "id", "organization_id", "unit",
                            "quantity"),
                      # the lists and searches, newest harvest first (migration 0022)
                      Index("ix_batches_org_harvest", "organization_id", "harvest_date", "id"),
                      Index("ix_batches_region_harvest", "origin_region", "harvest_date", "id"),
                      Index("ix_batches_brand_region_harvest", "brand", "origin_region", "harvest_date", "id"),
                      Index("ix_batches_harvest", "harvest_date", "id"))


class BatchInput(Base):
    """Quantity taken from an earlier batch (pooling picks, or processing raw produce)."""

    __tablename__ = "batch_inputs"
    projection = True

    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    input_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), primary_key=True, index=True)
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    source: Mapped[Batch] = relationship(foreign_keys=[input_id], lazy="joined")


VERDICTS = ("pass", "fail")


class Inspection(Base):
    """An inspection of one batch by an inspection body, with its measured items."""

    __tablename__ = "inspections"
    projection = True

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    inspected_on: Mapped[date]
    body_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    report_no: Mapped[str] = mapped_column(String(64))
    items: Mapped[list] = mapped_column(JSON)
    verdict: Mapped[str] = mapped_column(String(8))
    recorded_by: Mapped[str] = mapped_column(String(64))
    ledger_seq: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("body_id", "report_no", name="uq_inspections_body_id_report_no"),
                      # a body's inspections and every inspection, latest first (migration 0022)
                      Index("ix_inspections_body_date", "body_id", "inspected_on", "id"),
                      Index("ix_inspections_date", "inspected_on", "id"))


CERT_KINDS = ("pollution_free", "green_food", "organic", "geographical_indication")
# 无公害农产品 certification has ended: its certificates stay readable, no new one is recorded.
NEW_CERT_KINDS = tuple(kind for kind in CERT_KINDS if kind != "pollution_free")


class Certification(Base):
    """A "三品一标" certificate held by a producer; revoked by a later entry, never edited."""

    __tablename__ = "certifications"
    projection = True

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(64))
    holder_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    products: Mapped[list] = mapped_column(JSON)
    valid_from: Mapped[date]
    valid_to: Mapped[date]
    issuer: Mapped[str] = mapped_column(String(200))
    # The registered certification body that issued it: a certifier's own organization, or the one an
    # admin entered a historical certificate for; None for a body not registered here.
    issuer_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    entered_by_admin: Mapped[bool] = mapped_column(default=False, server_default=false())
    recorded_by: Mapped[str] = mapped_column(String(64))
    ledger_seq: Mapped[int] = mapped_column(BigInteger)
    revoked_on: Mapped[date | None]
    revoke_reason: Mapped[str | None] = mapped_column(String(500))
    revoke_seq: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("kind", "number", name="uq_certifications_kind_number"),)


BASES = ("quality_control", "self_test", "commissioned_test")
PROMISERS = ("producer", "purchaser")


class ComplianceCertificate(Base):
    """A 承诺达标合格证 for (part of) a batch; voided by a later entry, never edited."""

    __tablename__ = "compliance_certificates"
    projection = True

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    basis: Mapped[str] = mapped_column(String(32))
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    issued_on: Mapped[date]
    promiser: Mapped[str] = mapped_column(String(16))
    contact: Mapped[str] = mapped_column(String(200))
    issued_by: Mapped[str] = mapped_column(String(64))
    ledger_seq: Mapped[int] = mapped_column(BigInteger)
    voided_on: Mapped[date | None]
    void_reason: Mapped[str | None] = mapped_column(String(500))
    void_seq: Mapped[int | None] = mapped_column(BigInteger)


class BatchCorrection(Base):
    """One ``batch.corrected`` entry: the fields it changed, their earlier values and why."""

    __tablename__ = "batch_corrections"
    projection = True

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    fields: Mapped[dict] = mapped_column(JSON)
    previous: Mapped[dict] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(500))
    corrected_by: Mapped[str] = mapped_column(String(64))
    corrected_at: Mapped[datetime]
    ledger_seq: Mapped[int] = mapped_column(BigInteger)


class LabelPrint(Base):
    """One ``batch.labels_printed`` entry: a sheet of labels, one per package of ``package_quantity``."""

    __tablename__ = "label_prints"
    projection = True

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    labels: Mapped[int]
    package_quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    layout: Mapped[str] = mapped_column(String(16))
    printed_by: Mapped[str] = mapped_column(String(64))
    ledger_seq: Mapped[int] = mapped_column(BigInteger)


CODE_STATES = ("active", "frozen", "void")


class CodeState(Base):
    """A batch code's state when it is not plainly ``active``: ``frozen`` (reversible) or ``void``
    (final), from the latest ``code.*`` ledger entry. No row means active."""

    __tablename__ = "code_states"
    projection = True

    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(500))
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime]
    ledger_seq: Mapped[int] = mapped_column(BigInteger)


class BatchTransfer(Base):
    """One ``batch.transferred`` entry: part of a batch handed over by its producer to another
    organization, which may then take up to that quantity of it as an input of its own batches."""

    __tablename__ = "batch_transfers"
    projection = True

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    from_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    to_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    transferred_by: Mapped[str] = mapped_column(String(64))
    transferred_at: Mapped[datetime]
    ledger_seq: Mapped[int] = mapped_column(BigInteger, unique=True)

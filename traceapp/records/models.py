"""Organizations (and, with their issue, batches, inspections, certificates): the current
state derived from the ledger, written in the same transaction as their entries."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
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

"""The reveals of the personal fields the ledger holds as commitments (``traceapp.ledger.commitments``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from traceapp.db import Base

_Seq = BigInteger().with_variant(Integer, "sqlite")


class PersonalDatum(Base):
    """One personal field of one entry: its salt and clear value (JSON), until erased.

    Not a projection: the ledger holds only the commitment, so these rows are the one place the
    value lives. Erasure empties ``salt`` and ``value`` and records the erasure entry's seq.
    """

    __tablename__ = "personal_data"

    seq: Mapped[int] = mapped_column(_Seq, primary_key=True, autoincrement=False)
    path: Mapped[str] = mapped_column(String(100), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    salt: Mapped[bytes | None] = mapped_column(LargeBinary)
    value: Mapped[str | None] = mapped_column(Text)
    erased_seq: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_personal_data_subject", "subject"),)

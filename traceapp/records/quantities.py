"""The one quantity rule of a batch: what it has given to inputs (its own organization's later
batches), to transfers (quantities handed over to other organizations) and to its standing 合格证
can never exceed its quantity. Registration, transfers, 合格证 and corrections all ask here.

A receiver's inputs come out of what was transferred to it; where a receiver used more than it was
handed (inputs taken before transfers existed), the larger of the two counts, so old data can only
make a batch look more committed, never less."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from traceapp.records.models import Batch, BatchInput, BatchTransfer, ComplianceCertificate


@dataclass(frozen=True)
class Commitments:
    """What a batch has given: to its own organization's inputs, per receiving organization
    (transferred, used as input), and to its standing 合格证."""

    quantity: Decimal
    own_inputs: Decimal
    handed: dict[int, tuple[Decimal, Decimal]]
    certified: Decimal

    @property
    def total(self) -> Decimal:
        """Everything the batch has given; never more than its quantity."""
        return self.own_inputs + sum((max(given, used) for given, used in self.handed.values()), Decimal(0)) \
            + self.certified

    @property
    def free(self) -> Decimal:
        """What the batch can still give (to its own inputs, a transfer or a 合格证)."""
        return self.quantity - self.total

    def left_for(self, organization_id: int) -> Decimal:
        """What ``organization_id`` (a receiver) can still take as input of what was handed to it."""
        given, used = self.handed.get(organization_id, (Decimal(0), Decimal(0)))
        return max(Decimal(0), given - used)


def commitments(session: Session, batch: Batch) -> Commitments:
    """Return what ``batch`` has given (three grouped reads)."""
    own = Decimal(0)
    handed: dict[int, list[Decimal]] = {}
    for org_id, used in session.execute(
            select(Batch.organization_id, func.coalesce(func.sum(BatchInput.quantity), 0))
            .join(Batch, Batch.id == BatchInput.batch_id).where(BatchInput.input_id == batch.id)
            .group_by(Batch.organization_id)):
        if org_id == batch.organization_id:
            own += Decimal(used)
        else:
            handed.setdefault(org_id, [Decimal(0), Decimal(0)])[1] += Decimal(used)
    for org_id, given in session.execute(
            select(BatchTransfer.to_id, func.coalesce(func.sum(BatchTransfer.quantity), 0))
            .where(BatchTransfer.batch_id == batch.id).group_by(BatchTransfer.to_id)):
        handed.setdefault(org_id, [Decimal(0), Decimal(0)])[0] += Decimal(given)
    certified = Decimal(session.scalar(
        select(func.coalesce(func.sum(ComplianceCertificate.quantity), 0))
        .where(ComplianceCertificate.batch_id == batch.id, ComplianceCertificate.voided_on.is_(None))))
    return Commitments(batch.quantity, own, {k: (v[0], v[1]) for k, v in handed.items()}, certified)

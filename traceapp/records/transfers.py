"""Handing part of a batch over to another organization (a cooperative buying farmers' picks, a tea
factory buying fresh leaf): a ``batch.transferred`` entry from the batch's producer to the receiver,
with a quantity. The receiver may then take up to that quantity of the batch as input of its own
batches; the trace follows the transfer. Made by the sender's staff (or an admin), never undone:
what was handed over stays part of what the batch has given (``quantities``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from traceapp.i18n import gettext as _
from traceapp.ledger.encoding import format_ts
from traceapp.ledger.store import LedgerEntry, ledger_of
from traceapp.records.access import require_batch_owner
from traceapp.records.holds import refuse_held
from traceapp.records.models import PRODUCER_KINDS, Batch, BatchTransfer, Organization
from traceapp.records.quantities import commitments
from traceapp.records.values import is_row_id, quantity_text
from traceapp.validation import Fields

KIND = "batch.transferred"
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def transfer_batch(session: Session, batch: Batch, data: dict, *, user) -> BatchTransfer:
    """Hand ``quantity`` of the batch over to the organization ``to`` and append ``batch.transferred``.

    Raises Forbidden unless the user is staff of the batch's producer (or an admin), Rejected (422) for
    a recalled, frozen or void batch, InvalidInput naming each bad field (an unknown receiver, the
    batch's own producer, one that does not produce, more than the batch can still give).
    """
    require_batch_owner(user, batch)
    refuse_held(session, batch, "transfer")
    f = Fields(data)
    receiver_id = f.integer("to")
    receiver = session.get(Organization, receiver_id) if is_row_id(receiver_id) else None
    if receiver_id is not None and receiver is None:
        f.fail("to", _("接收方必须是已登记组织的编号；没有编号为 %(id)s 的组织。", id=receiver_id))
    elif receiver is not None and receiver.id == batch.organization_id:
        f.fail("to", _("接收方不能是本批次的生产主体自己；请选择另一个组织。"))
    elif receiver is not None and receiver.kind not in PRODUCER_KINDS:
        f.fail("to", _("接收方 %(name)s 不是生产主体（合作社、企业、家庭农场或个人），不能接收批次。",
                       name=receiver.name))
    quantity = f.quantity("quantity")
    if quantity is not None:
        left = commitments(session, batch).free
        if quantity > left:
            f.fail("quantity", _("批次 %(code)s 只剩 %(left)s %(unit)s 可以转交，不能转交 %(want)s。",
                                 code=batch.code, left=quantity_text(left), unit=batch.unit,
                                 want=quantity_text(quantity)))
    f.check()
    entry = ledger_of(session).append(session, KIND, user.actor(), f"batch:{batch.code}",
                                      transfer_record(batch.code, batch.organization_id, receiver.id, quantity,
                                                      batch.unit))
    row = BatchTransfer(batch_id=batch.id, from_id=batch.organization_id, to_id=receiver.id, quantity=quantity,
                        transferred_by=user.username, ledger_seq=entry.seq,
                        transferred_at=datetime.strptime(entry.entry["ts"], TS_FORMAT))
    session.add(row)
    session.flush()
    return row


def transfer_record(code: str, from_id: int, to_id: int, quantity, unit: str) -> dict:
    """Return the data of a ``batch.transferred`` entry."""
    return {"batch": code, "from": f"org:{from_id}", "to": f"org:{to_id}", "quantity": quantity_text(quantity),
            "unit": unit}


def transfers_of(session: Session, batch_ids: list[int]) -> dict[int, list[dict]]:
    """Return, by batch id, the transfers out of these batches, oldest first: {seq, to, to_name,
    quantity, unit, transferred_at} (``quantity`` a decimal string, ``transferred_at`` UTC RFC 3339)."""
    found: dict[int, list[dict]] = {}
    if not batch_ids:
        return found
    for start in range(0, len(batch_ids), 5000):
        for row, name, unit in session.execute(
                select(BatchTransfer, Organization.name, Batch.unit)
                .join(Organization, Organization.id == BatchTransfer.to_id)
                .join(Batch, Batch.id == BatchTransfer.batch_id)
                .where(BatchTransfer.batch_id.in_(batch_ids[start:start + 5000])).order_by(BatchTransfer.ledger_seq)):
            found.setdefault(row.batch_id, []).append(transfer_view(row, name, unit))
    return found


def transfer_view(row: BatchTransfer, receiver_name: str, unit: str) -> dict:
    """Return what pages and the API show of one transfer."""
    return {"seq": row.ledger_seq, "to": row.to_id, "to_name": receiver_name,
            "quantity": quantity_text(row.quantity), "unit": unit,
            "transferred_at": format_ts(row.transferred_at.replace(tzinfo=UTC))}


def transfer_differences(session: Session) -> Iterator[str]:
    """Yield a sentence for each ``batch_transfers`` row that differs from its ``batch.transferred`` entry,
    each entry without its row and each row without its entry (for ``ledger verify``)."""
    from traceapp.personal.actors import actor_names

    name_of = actor_names(session)
    source = aliased(Batch)
    rows = {row.ledger_seq: (row, code, unit) for row, code, unit in session.execute(
        select(BatchTransfer, source.code, source.unit).outerjoin(source, source.id == BatchTransfer.batch_id))}
    for seq, body in session.execute(select(LedgerEntry.seq, LedgerEntry.body).where(LedgerEntry.kind == KIND)
                                     .order_by(LedgerEntry.seq)):
        entry = json.loads(bytes(body))
        found = rows.pop(seq, None)
        if found is None:
            yield f"batch_transfers: the transfer in entry {seq} is missing"
            continue
        row, code, unit = found
        actual = {"subject": f"batch:{code}", "user": row.transferred_by,
                  "ts": format_ts(row.transferred_at.replace(tzinfo=UTC)),
                  **transfer_record(code, row.from_id, row.to_id, row.quantity, unit)}
        expected = {"subject": entry["subject"], "user": name_of(entry["actor"]["user"]), "ts": entry["ts"],
                    **entry["data"]}
        if actual != expected:
            fields = sorted(k for k in set(actual) | set(expected) if actual.get(k) != expected.get(k))
            yield f"batch_transfers: row {row.id} differs from entry {seq} in {', '.join(fields)}"
    for seq in sorted(rows):
        yield f"batch_transfers: row {rows[seq][0].id} has no ledger entry"


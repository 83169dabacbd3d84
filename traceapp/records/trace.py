"""Forward and backward trace trees for people: the lineage (``traceapp.records.lineage``) as a tree
whose nodes say whether their batch stands recalled and list the transfers out of it (where it was
handed over, used yet or not); a link between batches of two organizations names the transfer it came
through. A batch reached along two paths is shown under each of its parents."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.records import regions
from traceapp.records.lineage import DIRECTIONS, MAX_DEPTH, walk
from traceapp.records.models import Batch, Organization
from traceapp.records.recalls import standing_recalls
from traceapp.records.transfers import transfers_of
from traceapp.records.values import quantity_text

__all__ = ["DIRECTIONS", "MAX_DEPTH", "MAX_TREE_NODES", "trace"]

MAX_TREE_NODES = 5000  # nodes in one answer (a diamond's subtree counts once per parent)


def trace(session: Session, batch: Batch, direction: str, max_depth: int = MAX_DEPTH) -> dict:
    """Return the trace tree of ``batch``: {code, product, producer, origin, origin_region, quantity, unit,
    harvest_date, recalled, input_quantity, transfers, transferred, children: […]}, where ``input_quantity``
    is what the link to the parent carried (None at the root), ``transfers`` the transfers out of the batch
    (``transfers.transfers_of``) and ``transferred`` what the batch of the two linked had handed over to the
    other's organization (None when both are of one organization, and at the root). The root also says
    whether the tree was ``truncated`` (more than MAX_TREE_NODES nodes). Raises ValueError for a direction
    other than "forward" or "backward"."""
    lineage = walk(session, batch, direction, max_depth)
    lineage.producers[batch.id] = session.scalar(select(Organization.name)
                                                 .where(Organization.id == batch.organization_id))
    recalled = standing_recalls(session, [b.code for b in lineage.batches.values()])
    handed = transfers_of(session, list(lineage.batches))

    def transferred(source: Batch, receiver: Batch) -> str | None:
        """What ``source`` handed over to the organization of ``receiver`` (made from it)."""
        if source.organization_id == receiver.organization_id:
            return None
        total = sum((Decimal(t["quantity"]) for t in handed.get(source.id, ()) if t["to"] == receiver.organization_id),
                    Decimal(0))
        return quantity_text(total)
    for children in lineage.links.values():
        children.sort(key=lambda link: lineage.batches[link[0]].code)
    budget = [MAX_TREE_NODES - 1]

    def node(batch_id: int, quantity: Decimal | None, depth: int, path: frozenset[int],
             parent: Batch | None = None) -> dict:
        found = lineage.batches[batch_id]
        children = []
        for child_id, taken in lineage.links.get(batch_id, ()) if depth < max_depth else ():
            if child_id in path:  # a cycle: impossible by construction, never followed
                continue
            if budget[0] <= 0:
                truncated[0] = True
                break
            budget[0] -= 1
            children.append(node(child_id, taken, depth + 1, path | {child_id}, found))
        return {"code": found.code, "product": found.product, "producer": lineage.producers[batch_id],
                "origin": regions.full_name(found.origin_region), "origin_region": found.origin_region,
                "quantity": quantity_text(found.quantity), "unit": found.unit,
                "harvest_date": found.harvest_date.isoformat(), "recalled": found.code in recalled,
                "input_quantity": quantity_text(quantity) if quantity is not None else None,
                "transfers": handed.get(batch_id, []),
                "transferred": None if parent is None else (
                    transferred(found, parent) if direction == "backward" else transferred(parent, found)),
                "children": children}

    truncated = [False]
    tree = node(batch.id, None, 0, frozenset({batch.id}))
    tree["truncated"] = truncated[0]
    return tree

"""Forward and backward trace through ``batch_inputs``: every batch made from this one (forward), or
everything this one was made from, down to the farms (backward, to batches with no inputs). Each node
also lists the transfers out of its batch (where it was handed over, used yet or not), and a link
between batches of two organizations names the transfer it came through.

The graph is read level by level, one SELECT over batch_inputs per level with ``IN (frontier)``, never
one query per node; a batch reached along two paths (a farm feeding two packing lots that are merged
again: a diamond) is fetched and expanded once and shown under each of its parents. Registration only
takes earlier batches as inputs, so the graph has no cycles; the walk guards against them anyway."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.records import regions
from traceapp.records.models import Batch, BatchInput, Organization
from traceapp.records.services import quantity_text

DIRECTIONS = ("forward", "backward")
MAX_DEPTH = 12  # lineage graphs are at most ~6 deep (farm → packing → pooling → processing → …)
MAX_TREE_NODES = 5000  # nodes in one answer (a diamond's subtree counts once per parent)
_CHUNK = 5000  # ids per IN (...): below SQLite's and PostgreSQL's bound-parameter limits


@dataclass
class Lineage:
    """The batches reached from a root, each fetched once, and the links between them by parent id."""

    root: Batch
    levels: list[list[Batch]] = field(default_factory=list)
    producers: dict[int, str] = field(default_factory=dict)
    links: dict[int, list[tuple[int, Decimal]]] = field(default_factory=dict)
    batches: dict[int, Batch] = field(default_factory=dict)

    def reached(self) -> Iterator[Batch]:
        """Yield the batches reached (not the root), nearest level first, by code within a level."""
        for level in self.levels:
            yield from level


def walk(session: Session, batch: Batch, direction: str, max_depth: int | None = MAX_DEPTH) -> Lineage:
    """Return the lineage of ``batch`` in ``direction`` ("forward" or "backward") up to ``max_depth`` levels
    (None: all of it). Raises ValueError for another direction."""
    if direction not in DIRECTIONS:
        raise ValueError(direction)
    # forward: the batches that took this one as an input; backward: this one's inputs.
    near, far = ((BatchInput.input_id, BatchInput.batch_id) if direction == "forward"
                 else (BatchInput.batch_id, BatchInput.input_id))
    lineage = Lineage(root=batch, batches={batch.id: batch})
    frontier = [batch.id]
    depth = 0
    while frontier and (max_depth is None or depth < max_depth):
        depth += 1
        level: dict[int, Batch] = {}
        for start in range(0, len(frontier), _CHUNK):
            rows = session.execute(
                select(near, BatchInput.quantity, Batch, Organization.name)
                .join(Batch, Batch.id == far).join(Organization, Organization.id == Batch.organization_id)
                .where(near.in_(frontier[start:start + _CHUNK])))
            for parent_id, quantity, found, producer in rows:
                lineage.links.setdefault(parent_id, []).append((found.id, quantity))
                if found.id not in lineage.batches:  # the diamond's second path, or a cycle
                    lineage.batches[found.id] = level[found.id] = found
                    lineage.producers[found.id] = producer
        ordered = sorted(level.values(), key=lambda b: b.code)
        if ordered:
            lineage.levels.append(ordered)
        frontier = [b.id for b in ordered]
    return lineage


def trace(session: Session, batch: Batch, direction: str, max_depth: int = MAX_DEPTH) -> dict:
    """Return the trace tree of ``batch``: {code, product, producer, origin, origin_region, quantity, unit,
    harvest_date, recalled, input_quantity, transfers, transferred, children: […]}, where ``input_quantity``
    is what the link to the parent carried (None at the root), ``transfers`` the transfers out of the batch
    (``transfers.transfers_of``) and ``transferred`` what the batch of the two linked had handed over to the
    other's organization (None when both are of one organization, and at the root). The root also says
    whether the tree was ``truncated`` (more than MAX_TREE_NODES nodes). Raises ValueError for a direction
    other than "forward" or "backward"."""
    from traceapp.records.recalls import standing_recalls  # recalls build on the trace, not the reverse
    from traceapp.records.transfers import transfers_of  # transfers build on recalls (held batches)

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


def downstream(session: Session, batch: Batch) -> list[Batch]:
    """Return every batch made from ``batch``, directly or through others, nearest first (without it)."""
    return list(walk(session, batch, "forward", max_depth=None).reached())

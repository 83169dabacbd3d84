"""The lineage graph through ``batch_inputs``: every batch made from one (forward), or everything it
was made from, down to the farms (backward, to batches with no inputs).

The graph is read level by level, one SELECT over batch_inputs per level with ``IN (frontier)``, never
one query per node; a batch reached along two paths (a farm feeding two packing lots that are merged
again: a diamond) is fetched once. Registration only takes earlier batches as inputs, so the graph has
no cycles; the walk guards against them anyway."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.records.models import Batch, BatchInput, Organization

DIRECTIONS = ("forward", "backward")
MAX_DEPTH = 12  # lineage graphs are at most ~6 deep (farm → packing → pooling → processing → …)
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


def downstream(session: Session, batch: Batch) -> list[Batch]:
    """Return every batch made from ``batch``, directly or through others, nearest first (without it)."""
    return list(walk(session, batch, "forward", max_depth=None).reached())

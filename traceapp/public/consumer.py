"""What the consumer page of a batch shows, and the proof that its registration is in the ledger.

Read with the same ORM queries as the staff pages and the API (``records.queries.batch_detail``,
``claim_status``, ``code_state``, ``recall_status``), so the page cannot drift from them, plus the
sources' tree, the recalled sources and the batch's story (``story``). Adding a field to the page is a
change to one query function here or there and to the template. Nothing here writes: the page is kept
by HTTP caches (``caching``), and its scans arrive by their own POST (``scans``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from sqlalchemy import Connection, Row, String, bindparam, exists, literal, select
from sqlalchemy.orm import Session, aliased

from traceapp import db
from traceapp.brands.models import Brand
from traceapp.brands.queries import claim_under
from traceapp.ledger.store import LedgerEntry
from traceapp.personal.fields import public_name
from traceapp.public import story
from traceapp.records import queries, regions
from traceapp.records.code_states import code_state
from traceapp.records.codes import normalize_code
from traceapp.records.models import Batch, BatchInput, LabelPrint, Organization
from traceapp.records.recalls import LIFTED, RECALLED, recall_of, recall_status
from traceapp.records.values import quantity_text

MAX_SOURCES = 60  # farms and packing lots listed under a pooled batch; deeper trees are cut
SOURCE_DEPTH = 6
MAX_TREE_ROWS = 5000  # rows of a source tree read at most (a tree that wide is cut before MAX_SOURCES applies)


@dataclass(frozen=True)
class ConsumerPage:
    """One batch's consumer page: its id and ``view``, what the page and ``/t/<code>.json`` show;
    ``labels_printed``: whether its scans can count yet (``scan_rules``)."""

    batch_id: int
    view: dict
    labels_printed: bool = False


def read_consumer_page(session: Session, code: str) -> ConsumerPage | None:
    """Return the consumer page of the batch with this code (any case), or None when there is none."""
    canonical = normalize_code(code) if isinstance(code, str) else None
    if canonical is None:
        return None
    batch = session.scalar(select(Batch).where(Batch.code == canonical))
    if batch is None:
        return None
    conn = session.connection()
    state = code_state(session, batch)
    brand = session.scalar(select(Brand).where(Brand.slug == batch.brand)) if batch.brand else None
    recalled = recalled_sources(conn, batch.id) if batch.inputs else []
    view = {**queries.batch_detail(session, batch),
            "claim": claim_under(session, batch, brand) if batch.brand else None,
            "sources": sources(conn, batch.id, {r["code"] for r in recalled}) if batch.inputs else [],
            "recall": recall_status(session, batch),
            "recalled_sources": recalled,
            "code_state": {**state, "changed_at": state["changed_at"].isoformat() if state["changed_at"] else None},
            "brand_card": brand_card(brand) if brand else None}
    view = public_view(view)
    view["story"] = story.timeline(session, batch, view)
    printed = bool(session.scalar(select(exists().where(LabelPrint.batch_id == batch.id))))
    return ConsumerPage(batch.id, view, printed)


def public_view(view: dict) -> dict:
    """Return what a consumer may see of a batch's view: no staff login names, no 合格证 contact (the
    printed 合格证 carries it), an ``individual`` producer by surname and 某; the organization registered it."""
    producer = view["producer"]
    producer["name"] = public_name(producer["name"], producer["kind"])
    view["registered_by"] = producer["name"]
    for cert in view["compliance_certificates"]:
        cert.pop("contact", None)
    for correction in view["corrections"]:
        correction.pop("corrected_by", None)
    return view


def brand_card(brand: Brand) -> dict:
    """Return the brand card of a batch's brand: its name, GI registration number and standard, and its
    area by region names (the brand page has the rest)."""
    return {"slug": brand.slug, "name": brand.name, "gi_number": brand.gi_number, "standard": brand.standard,
            "area": [regions.full_name(code) for code in brand.area or ()]}


def sources(conn: Connection, batch_id: int, recalled: set[str] = frozenset()) -> list[dict]:
    """Return the batches this one was pooled or processed from, each with its own sources, down to
    SOURCE_DEPTH levels and MAX_SOURCES batches in all (in the order of their codes, depth first);
    ``recalled`` says which of them stand recalled. One statement reads the whole tree."""
    children: dict[int, dict[int, Row]] = {}
    for row in conn.execute(_sources_query(), {"root": batch_id}):
        children.setdefault(row.parent, {}).setdefault(row.id, row)
    budget = [MAX_SOURCES]

    def walk(parent_id: int, level: int, seen: frozenset[int]) -> list[dict]:
        found = []
        for source in children.get(parent_id, {}).values():
            if budget[0] <= 0 or source.id in seen:
                break
            budget[0] -= 1
            found.append({"code": source.code, "product": source.product, "quantity": quantity_text(source.quantity),
                          "unit": source.unit, "harvest_date": source.harvest_date.isoformat(),
                          "producer": public_name(source.name, source.kind), "demo": source.demo, "base": source.base,
                          "origin_name": regions.full_name(source.origin_region),
                          "recalled": source.code in recalled,
                          "sources": walk(source.id, level + 1, seen | {source.id}) if level < SOURCE_DEPTH else []})
        return found

    return walk(batch_id, 1, frozenset({batch_id}))


def recalled_sources(conn: Connection, batch_id: int) -> list[dict]:
    """Return the batches among this one's sources, at any depth, that stand recalled, by code:
    {code, product, producer, reason, recalled_at}. One statement: the sources' tree (each batch once)
    and each one's latest recall or lift entry."""
    found = []
    for row in conn.execute(_recalled_sources_query(), {"root": batch_id}):
        recall = recall_of(row.seq, row.body)
        found.append({"code": row.code, "product": row.product, "producer": public_name(row.name, row.kind),
                      "reason": recall["reason"], "recalled_at": recall["recalled_at"]})
    return found


@functools.cache
def _recalled_sources_query():
    """The sources of the batch ``:root`` at every depth (UNION: each once, so a diamond ends) that stand
    recalled, with their recall entry. Registration takes only earlier batches, so the tree is finite."""
    tree = (select(BatchInput.input_id.label("id")).where(BatchInput.batch_id == bindparam("root"))
            .cte("recall_tree", recursive=True))
    deeper = aliased(BatchInput)
    tree = tree.union(select(deeper.input_id).join(tree, deeper.batch_id == tree.c.id))
    latest = (select(LedgerEntry.seq)
              .where(LedgerEntry.subject == literal("batch:", String) + Batch.code,
                     LedgerEntry.kind.in_((RECALLED, LIFTED)))
              .order_by(LedgerEntry.seq.desc()).limit(1).correlate(Batch).scalar_subquery())
    return (select(Batch.code, Batch.product, Organization.name, Organization.kind, LedgerEntry.seq, LedgerEntry.body)
            .select_from(tree)
            .join(Batch, Batch.id == tree.c.id)
            .join(Organization, Organization.id == Batch.organization_id)
            .join(LedgerEntry, LedgerEntry.seq == latest)
            .where(LedgerEntry.kind == RECALLED)
            .order_by(Batch.code))


@functools.cache
def _sources_query():
    """The tree under the batch ``:root`` (inputs of inputs …, SOURCE_DEPTH levels), ordered by code."""
    tree = (select(BatchInput.batch_id.label("parent"), BatchInput.input_id, BatchInput.quantity,
                   literal(1).label("level"))
            .where(BatchInput.batch_id == bindparam("root"))
            .cte("tree", recursive=True))
    deeper = aliased(BatchInput)
    tree = tree.union_all(select(deeper.batch_id, deeper.input_id, deeper.quantity, tree.c.level + 1)
                          .join(tree, deeper.batch_id == tree.c.input_id)
                          .where(tree.c.level < SOURCE_DEPTH))
    return (select(tree.c.parent, Batch.id, Batch.code, Batch.product, Batch.unit, Batch.harvest_date, Batch.base,
                   Batch.origin_region, tree.c.quantity, Organization.name, Organization.kind, Organization.demo)
            .join(Batch, Batch.id == tree.c.input_id)
            .join(Organization, Organization.id == Batch.organization_id)
            .order_by(Batch.code)
            .limit(MAX_TREE_ROWS))


def registration_proof(session: Session, seq: int) -> dict | None:
    """Return the proof a phone checks: the batch's registration entry (``seq``), its RFC 6962
    audit path to the latest checkpoint's tree, and that signed checkpoint; None before the
    first checkpoint that includes it."""
    ledger = db.ledger()
    latest = ledger.latest_checkpoint(session)
    if latest is None or latest[0] <= seq:
        return None
    size, note = latest
    [(seq, body, _hash)] = ledger.entries(session, seq, 1)
    _leaf, path = ledger.inclusion_proof(session, seq, size)
    return {"seq": seq, "entry": json.loads(body), "proof": [node.hex() for node in path], "checkpoint": note}

"""What the consumer page of a batch shows, read in one statement, and the proof that its
registration is in the ledger.

A consumer page is the busiest page of the system and nearly every view is a different code, so
no cache of pages helps. What only writes change (the batch, its producer, brand and licences,
inspections, certificates, 合格证, corrections and inputs) is kept ready per batch as one JSON
value (``page_data``); the statement reads it with the code's state, its first scan and count, and
the latest recall entry, as one JSON value built by the database, on PostgreSQL outside a
transaction. The dicts are then made by the same functions as the staff pages' and the API's
(``records.queries``, ``claim_of``, ``certificate_status``), so the page cannot drift from them."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import Connection, Row, bindparam, literal, select
from sqlalchemy.orm import Session, aliased

from traceapp import db
from traceapp.brands.queries import claim_of
from traceapp.ledger.store import LedgerEntry
from traceapp.public import page_data
from traceapp.records import regions
from traceapp.records.certifications import certificate_status
from traceapp.records.codes import normalize_code
from traceapp.records.models import Batch, BatchInput, Organization
from traceapp.records.queries import (
    certification_view,
    compliance_view,
    correction_view,
    inspection_view,
    producer_summary,
    summary_of,
)
from traceapp.records.recalls import LIFTED, RECALLED, recall_of
from traceapp.records.services import quantity_text

MAX_SOURCES = 60  # farms and packing lots listed under a pooled batch; deeper trees are cut
SOURCE_DEPTH = 6
MAX_TREE_ROWS = 5000  # rows of a source tree read at most (a tree that wide is cut before MAX_SOURCES applies)

# The page's one statement: the batch's stored value (page_data), and what changes without
# refreshing it, as one JSON object built by the database. {obj}, {agg}, {json}: as in
# page_data; {code}: the driver's parameter. The tables that grow while the site serves
# (first_scans, code_states) are read in correlated subqueries, not joined: on PostgreSQL the
# statement's cached generic plan, made while such a table was small, joined it by scanning all of
# it, and kept doing so as it grew (the scans' engine also turns sequential scans off).
_CONSUMER_SQL = f"""
SELECT {{obj}}(
  'id', b.id, 'value', {{json}}(v.value),
  'code_state', {{json}}((SELECT {{obj}}('state', cs.state, 'reason', cs.reason, 'changed_at', cs.changed_at)
     FROM code_states cs WHERE cs.batch_id = b.id)),
  'scans', {{json}}((SELECT {{obj}}('first', fs.scanned_at, 'count', fs.scan_count)
     FROM first_scans fs WHERE fs.batch_id = b.id)),
  'recall_seq', (SELECT e.seq FROM ledger_entries e
                  WHERE e.subject = 'batch:' || b.code AND e.kind IN ('{RECALLED}', '{LIFTED}')
                  ORDER BY e.seq DESC LIMIT 1))
  FROM batches b
  LEFT JOIN consumer_page_data v ON v.batch_id = b.id
 WHERE b.code = {{code}}
"""
_DIALECTS = {"sqlite": {"obj": "json_object", "agg": "json_group_array", "json": "json", "code": ":code"},
             "postgresql": {"obj": "json_build_object", "agg": "json_agg", "json": "", "code": "%(code)s"}}
_DATE = date.fromisoformat


@dataclass(frozen=True)
class ConsumerPage:
    """One batch's consumer page: its id, its code's first scan on record (naive UTC; None before
    the first is stored) and how many of its scans are stored, and ``view``, what the page and
    ``/t/<code>.json`` show; ``value_built``: whether its stored value (``page_data``) was read."""

    batch_id: int
    first_scan: datetime | None
    scan_count: int
    view: dict
    value_built: bool = True  # False: built here, its stored value missing or marked unbuilt


def read_consumer_page(conn: Connection, code: str, today: date | None = None) -> ConsumerPage | None:
    """Return the consumer page of the batch with this code (any case), or None when there is none."""
    canonical = normalize_code(code) if isinstance(code, str) else None
    if canonical is None:
        return None
    value = _one_value(conn, _statement(conn.dialect.name), {"code": canonical})
    if value is None:
        return None
    found = _loaded(value)
    stored = found["value"]
    if stored is None:  # not stored (yet): built here, the same way
        stored = _loaded(_one_value(conn, page_data.read_statement(conn.dialect.name), {"id": found["id"]}))
    page = {**stored, "code_state": found["code_state"], "scans": found["scans"], "recall_seq": found["recall_seq"]}
    batch = _record(page, quantity=Decimal, harvest_date=_DATE, pack_date=_DATE)
    scans = page["scans"] or {}
    first_scan = _moment(scans.get("first"))
    today = today or date.today()
    inputs = sorted(_records(page["inputs"], quantity=Decimal), key=lambda i: i.input_id)
    licences = sorted(_records(page["licences"], valid_from=_DATE, valid_to=_DATE, revoked_on=_DATE),
                      key=lambda lic: lic.id)
    inspections = sorted(_records(page["inspections"], inspected_on=_DATE), key=lambda i: (i.inspected_on, i.id))
    certificates = sorted(_records(page["certifications"], valid_from=_DATE, valid_to=_DATE, revoked_on=_DATE),
                          key=lambda c: c.id)
    compliance = sorted(_records(page["compliance"], quantity=Decimal, issued_on=_DATE, voided_on=_DATE),
                        key=lambda c: c.id)
    corrections = sorted(_records(page["corrections"], corrected_at=datetime.fromisoformat),
                         key=lambda c: c.ledger_seq)
    shown = [(cert, status) for cert in certificates
             if (status := certificate_status(cert, batch, today)) is not None]
    state = page["code_state"] or {}
    changed_at = _moment(state.get("changed_at"))
    view = {**summary_of(batch, [(i.code, i.quantity) for i in inputs]),
            "producer": producer_summary(SimpleNamespace(**page["producer"])),
            "inspections": [inspection_view(i, batch) for i in inspections],
            "certifications": [certification_view(cert, status) for cert, status in shown],
            "compliance_certificates": [compliance_view(c, batch) for c in compliance],
            "corrections": [correction_view(c) for c in corrections],
            "claim": claim_of(batch, page["brand_slug"], page["brand_name"], licences, today) if batch.brand else None,
            "sources": sources(conn, batch.id) if inputs else [],
            "recall": _recall(conn, page["recall_seq"]) if page["recall_seq"] is not None else None,
            "code_state": {"state": state.get("state") or "active", "reason": state.get("reason"),
                           "changed_at": changed_at.isoformat() + "+00:00" if changed_at else None}}
    return ConsumerPage(batch.id, first_scan, scans.get("count") or 0, view, found["value"] is not None)


def sources(conn: Connection, batch_id: int) -> list[dict]:
    """Return the batches this one was pooled or processed from, each with its own sources, down to
    SOURCE_DEPTH levels and MAX_SOURCES batches in all (in the order of their codes, depth first).
    One statement reads the whole tree."""
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
                          "producer": source.name, "demo": source.demo, "base": source.base,
                          "origin_name": regions.full_name(source.origin_region),
                          "sources": walk(source.id, level + 1, seen | {source.id}) if level < SOURCE_DEPTH else []})
        return found

    return walk(batch_id, 1, frozenset({batch_id}))


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
                   Batch.origin_region, tree.c.quantity, Organization.name, Organization.demo)
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


@functools.cache
def _statement(dialect: str) -> str:
    statement = _CONSUMER_SQL
    for name, value in _DIALECTS[dialect].items():
        statement = statement.replace("{" + name + "}", value)
    return statement


def _one_value(conn: Connection, statement: str, params: dict):
    """Return the first column of the statement's first row (None without one), on the connection's
    DBAPI cursor: for one value, SQLAlchemy's result machinery costs more than the statement."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    finally:
        cursor.close()
    return row[0] if row is not None else None


def _loaded(value: str | dict | None):
    return json.loads(value) if isinstance(value, str) else value


def _record(item: dict, **convert) -> SimpleNamespace:
    """Return a JSON object as an object with attributes, the named fields converted from their
    JSON form (dates, datetimes and quantities are strings)."""
    for name, to in convert.items():
        if item[name] is not None:
            item[name] = to(item[name])
    return SimpleNamespace(**item)


def _records(items: list | None, **convert) -> list[SimpleNamespace]:
    return [_record(item, **convert) for item in items or ()]


def _moment(value: str | None) -> datetime | None:
    """Return a stored naive UTC time from its JSON text (SQLite's "2026-08-05 06:03:00.123", PostgreSQL's "…T…")."""
    return datetime.fromisoformat(value) if value is not None else None


def _recall(conn: Connection, seq: int) -> dict | None:
    entry = conn.execute(select(LedgerEntry.kind, LedgerEntry.body).where(LedgerEntry.seq == seq)).one()
    return recall_of(seq, entry.body) if entry.kind == RECALLED else None



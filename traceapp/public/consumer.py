"""What the consumer page of a batch shows, read in one statement, and the proof that its
registration is in the ledger.

A consumer page is the busiest page of the system and nearly every view is a different code, so
no cache helps: the batch, its producer, brand and licences, code state, first scan,
inspections, certificates, 合格证, corrections, inputs and latest recall entry come back as one
JSON value built by the database, on PostgreSQL outside a transaction.
The dicts are then made by the same functions as the staff pages' and the API's
(``records.queries``, ``claim_of``, ``certificate_status``), so the page cannot drift from them.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import Connection, Row, String, bindparam, literal, select
from sqlalchemy.orm import Session, aliased

from traceapp import clock, db
from traceapp.brands.queries import claim_of
from traceapp.ledger.store import LedgerEntry
from traceapp.personal.fields import public_name
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
from traceapp.records.values import quantity_text

MAX_SOURCES = 60  # farms and packing lots listed under a pooled batch; deeper trees are cut
SOURCE_DEPTH = 6
MAX_TREE_ROWS = 5000  # rows of a source tree read at most (a tree that wide is cut before MAX_SOURCES applies)

# The page as one JSON object built by the database, so the driver hands over one value. {obj}: a
# JSON object of key/value pairs; {agg}: the JSON array of a subquery's objects (NULL or [] when
# none); {json}: a JSON column or subquery result embedded as JSON, not as a string; {code}: the
# driver's parameter. Quantities go as text, since a JSON number is a float. Lists are sorted in
# Python, since SQLite's aggregates take no ORDER BY. The tables that grow while the site serves
# (first_scans, code_states) are read in correlated subqueries, not joined: on PostgreSQL the
# statement's cached generic plan, made while such a table was small, joined it by scanning all of
# it, and kept doing so as it grew (the scans' engine also turns sequential scans off).
_CONSUMER_SQL = f"""
SELECT {{obj}}(
  'id', b.id, 'code', b.code, 'organization_id', b.organization_id, 'product', b.product,
  'category', b.category, 'brand', b.brand, 'quantity', CAST(b.quantity AS TEXT), 'unit', b.unit,
  'harvest_date', b.harvest_date, 'pack_date', b.pack_date, 'origin_region', b.origin_region, 'base', b.base,
  'gtin', b.gtin, 'lot', b.lot, 'registered_by', b.registered_by, 'ledger_seq', b.ledger_seq,
  'producer', {{obj}}('id', o.id, 'name', o.name, 'kind', o.kind, 'uscc', o.uscc, 'region', o.region,
                    'demo', o.demo),
  'code_state', {{json}}((SELECT {{obj}}('state', cs.state, 'reason', cs.reason, 'changed_at', cs.changed_at)
     FROM code_states cs WHERE cs.batch_id = b.id)),
  'scans', {{json}}((SELECT {{obj}}('first', fs.scanned_at, 'count', fs.scan_count)
     FROM first_scans fs WHERE fs.batch_id = b.id)),
  'labels_printed', EXISTS (SELECT 1 FROM label_prints lp WHERE lp.batch_id = b.id),
  'brand_slug', br.slug, 'brand_name', br.name,
  'licences', {{json}}((SELECT {{agg}}({{obj}}('id', l.id, 'products', {{json}}(l.products),
                                           'valid_from', l.valid_from, 'valid_to', l.valid_to,
                                           'revoked_on', l.revoked_on))
     FROM licenses l
    WHERE l.brand_id = br.id AND l.licensee_id = b.organization_id
      AND l.valid_from <= b.harvest_date AND l.valid_to >= b.harvest_date)),
  'inspections', {{json}}((SELECT {{agg}}({{obj}}('id', i.id, 'inspected_on', i.inspected_on, 'body_id', i.body_id,
                                              'report_no', i.report_no, 'items', {{json}}(i.items),
                                              'verdict', i.verdict, 'ledger_seq', i.ledger_seq))
     FROM inspections i WHERE i.batch_id = b.id)),
  'certifications', {{json}}((SELECT {{agg}}({{obj}}('id', c.id, 'kind', c.kind, 'number', c.number,
                                                 'holder_id', c.holder_id, 'products', {{json}}(c.products),
                                                 'valid_from', c.valid_from, 'valid_to', c.valid_to,
                                                 'issuer', c.issuer, 'issuer_id', c.issuer_id,
                                                 'entered_by_admin', c.entered_by_admin, 'revoked_on', c.revoked_on,
                                                 'revoke_reason', c.revoke_reason, 'ledger_seq', c.ledger_seq))
     FROM certifications c
    WHERE c.holder_id = b.organization_id
      AND c.valid_from <= b.harvest_date AND c.valid_to >= b.harvest_date)),
  'compliance', {{json}}((SELECT {{agg}}({{obj}}('id', cc.id, 'code', cc.code, 'basis', cc.basis,
                                             'inspection_id', cc.inspection_id,
                                             'quantity', CAST(cc.quantity AS TEXT), 'issued_on', cc.issued_on,
                                             'promiser', cc.promiser, 'contact', cc.contact,
                                             'voided_on', cc.voided_on, 'void_reason', cc.void_reason,
                                             'ledger_seq', cc.ledger_seq))
     FROM compliance_certificates cc WHERE cc.batch_id = b.id)),
  'corrections', {{json}}((SELECT {{agg}}({{obj}}('fields', {{json}}(bc.fields), 'previous', {{json}}(bc.previous),
                                              'reason', bc.reason, 'corrected_by', bc.corrected_by,
                                              'corrected_at', bc.corrected_at, 'ledger_seq', bc.ledger_seq))
     FROM batch_corrections bc WHERE bc.batch_id = b.id)),
  'inputs', {{json}}((SELECT {{agg}}({{obj}}('input_id', bi.input_id, 'code', s.code,
                                         'quantity', CAST(bi.quantity AS TEXT)))
     FROM batch_inputs bi JOIN batches s ON s.id = bi.input_id WHERE bi.batch_id = b.id)),
  'recall_seq', (SELECT e.seq FROM ledger_entries e
                  WHERE e.subject = 'batch:' || b.code AND e.kind IN ('{RECALLED}', '{LIFTED}')
                  ORDER BY e.seq DESC LIMIT 1),
  'page_version', (SELECT epoch FROM consumer_page_epoch WHERE id = 1))
  FROM batches b
  JOIN organizations o ON o.id = b.organization_id
  LEFT JOIN brands br ON br.slug = b.brand
 WHERE b.code = {{code}}
"""
_DIALECTS = {"sqlite": {"obj": "json_object", "agg": "json_group_array", "json": "json", "code": ":code"},
             "postgresql": {"obj": "json_build_object", "agg": "json_agg", "json": "", "code": "%(code)s"}}
_DATE = date.fromisoformat


@dataclass(frozen=True)
class ConsumerPage:
    """One batch's consumer page: its id, its code's first scan on record (naive UTC; None before
    the first is stored) and how many of its scans are stored, and ``view``, what the page and
    ``/t/<code>.json`` show; ``page_version``: the stored pages' epoch its rows were read at
    (``stored_pages``); ``labels_printed``: whether its scans can count yet (``scan_rules``)."""

    batch_id: int
    first_scan: datetime | None
    scan_count: int
    view: dict
    page_version: int = 0
    labels_printed: bool = False


def read_consumer_page(conn: Connection, code: str, today: date | None = None) -> ConsumerPage | None:
    """Return the consumer page of the batch with this code (any case), or None when there is none."""
    canonical = normalize_code(code) if isinstance(code, str) else None
    if canonical is None:
        return None
    row = one_row(conn, _statement(conn.dialect.name), {"code": canonical})
    if row is None:
        return None
    value = row[0]
    page = json.loads(value) if isinstance(value, str) else value
    batch = _record(page, quantity=Decimal, harvest_date=_DATE, pack_date=_DATE)
    scans = page["scans"] or {}
    first_scan = _moment(scans.get("first"))
    today = today or clock.today()
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
    recalled = recalled_sources(conn, batch.id) if inputs else []
    view = {**summary_of(batch, [(i.code, i.quantity) for i in inputs]),
            "producer": producer_summary(SimpleNamespace(**page["producer"])),
            "inspections": [inspection_view(i, batch) for i in inspections],
            "certifications": [certification_view(cert, status) for cert, status in shown],
            "compliance_certificates": [compliance_view(c, batch) for c in compliance],
            "corrections": [correction_view(c) for c in corrections],
            "claim": claim_of(batch, page["brand_slug"], page["brand_name"], licences, today) if batch.brand else None,
            "recalled_sources": recalled,
            "sources": sources(conn, batch.id, {r["code"] for r in recalled}) if inputs else [],
            "recall": _recall(conn, page["recall_seq"]) if page["recall_seq"] is not None else None,
            "code_state": {"state": state.get("state") or "active", "reason": state.get("reason"),
                           "changed_at": changed_at.isoformat() + "+00:00" if changed_at else None}}
    return ConsumerPage(batch.id, first_scan, scans.get("count") or 0, public_view(view), page["page_version"],
                        bool(page["labels_printed"]))


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
                      "reason": recall["reason"],
                      "recalled_at": recall["recalled_at"]})
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


@functools.cache
def _statement(dialect: str) -> str:
    statement = _CONSUMER_SQL
    for name, value in _DIALECTS[dialect].items():
        statement = statement.replace("{" + name + "}", value)
    return statement


def one_row(conn: Connection, statement: str, params: dict) -> tuple | None:
    """Return the statement's first row (None without one), on the connection's DBAPI cursor: for
    one row of plain values, SQLAlchemy's result machinery costs more than the statement."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(statement, params)
        return cursor.fetchone()
    finally:
        cursor.close()


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



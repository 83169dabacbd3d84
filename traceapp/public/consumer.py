"""What the consumer page of a batch shows, read in one statement, and the proof that its
registration is in the ledger.

A consumer page is the busiest page of the system and nearly every view is a different code, so
no cache helps: the batch, its producer, brand and licences, code state, first scan,
inspections, certificates, 合格证, corrections, inputs and latest recall entry come back as one
row (the lists as JSON arrays built by the database), on a connection without a transaction.
The dicts are then made by the same functions as the staff pages' and the API's
(``records.queries``, ``claim_of``, ``certificate_status``), so the page cannot drift from them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import Boolean, Connection, Date, DateTime, Numeric, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from traceapp import db
from traceapp.brands.queries import claim_of
from traceapp.ledger.store import LedgerEntry
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

# {obj}: a JSON object of key/value pairs; {agg}: the JSON array of a subquery's objects (NULL or
# [] when none); {json}: a JSON column embedded as JSON, not as a string. Quantities go as text,
# since a JSON number is a float. Lists are sorted in Python, since SQLite's aggregates take no ORDER BY.
_CONSUMER_SQL = f"""
SELECT b.id, b.code, b.organization_id, b.product, b.category, b.brand, b.quantity, b.unit, b.harvest_date,
       b.pack_date, b.origin_region, b.base, b.gtin, b.lot, b.registered_by, b.ledger_seq,
       o.name AS producer_name, o.kind AS producer_kind, o.uscc AS producer_uscc, o.region AS producer_region,
       o.demo AS producer_demo,
       cs.state AS state, cs.reason AS state_reason, cs.changed_at AS state_changed_at,
       fs.scanned_at AS first_scan,
       br.slug AS brand_slug, br.name AS brand_name,
       (SELECT {{agg}}({{obj}}('id', l.id, 'products', {{json}}(l.products), 'valid_from', l.valid_from,
                           'valid_to', l.valid_to, 'revoked_on', l.revoked_on))
          FROM licenses l
         WHERE l.brand_id = br.id AND l.licensee_id = b.organization_id
           AND l.valid_from <= b.harvest_date AND l.valid_to >= b.harvest_date) AS licences,
       (SELECT {{agg}}({{obj}}('id', i.id, 'inspected_on', i.inspected_on, 'body_id', i.body_id,
                           'report_no', i.report_no, 'items', {{json}}(i.items), 'verdict', i.verdict,
                           'ledger_seq', i.ledger_seq))
          FROM inspections i WHERE i.batch_id = b.id) AS inspections,
       (SELECT {{agg}}({{obj}}('id', c.id, 'kind', c.kind, 'number', c.number, 'holder_id', c.holder_id,
                           'products', {{json}}(c.products), 'valid_from', c.valid_from, 'valid_to', c.valid_to,
                           'issuer', c.issuer, 'revoked_on', c.revoked_on, 'revoke_reason', c.revoke_reason,
                           'ledger_seq', c.ledger_seq))
          FROM certifications c
         WHERE c.holder_id = b.organization_id
           AND c.valid_from <= b.harvest_date AND c.valid_to >= b.harvest_date) AS certifications,
       (SELECT {{agg}}({{obj}}('id', cc.id, 'code', cc.code, 'basis', cc.basis, 'inspection_id', cc.inspection_id,
                           'quantity', CAST(cc.quantity AS TEXT), 'issued_on', cc.issued_on,
                           'promiser', cc.promiser, 'contact', cc.contact, 'voided_on', cc.voided_on,
                           'void_reason', cc.void_reason, 'ledger_seq', cc.ledger_seq))
          FROM compliance_certificates cc WHERE cc.batch_id = b.id) AS compliance,
       (SELECT {{agg}}({{obj}}('fields', {{json}}(bc.fields), 'previous', {{json}}(bc.previous), 'reason', bc.reason,
                           'corrected_by', bc.corrected_by, 'corrected_at', bc.corrected_at,
                           'ledger_seq', bc.ledger_seq))
          FROM batch_corrections bc WHERE bc.batch_id = b.id) AS corrections,
       (SELECT {{agg}}({{obj}}('input_id', bi.input_id, 'code', s.code, 'quantity', CAST(bi.quantity AS TEXT)))
          FROM batch_inputs bi JOIN batches s ON s.id = bi.input_id WHERE bi.batch_id = b.id) AS inputs,
       (SELECT e.seq FROM ledger_entries e
         WHERE e.subject = 'batch:' || b.code AND e.kind IN ('{RECALLED}', '{LIFTED}')
         ORDER BY e.seq DESC LIMIT 1) AS recall_seq
  FROM batches b
  JOIN organizations o ON o.id = b.organization_id
  LEFT JOIN code_states cs ON cs.batch_id = b.id
  LEFT JOIN first_scans fs ON fs.batch_id = b.id
  LEFT JOIN brands br ON br.slug = b.brand
 WHERE b.code = :code
"""
_JSON_FUNCTIONS = {"sqlite": {"obj": "json_object", "agg": "json_group_array", "json": "json"},
                   "postgresql": {"obj": "json_build_object", "agg": "json_agg", "json": ""}}
_STATEMENTS: dict[str, TextClause] = {}


@dataclass(frozen=True)
class ConsumerPage:
    """One batch's consumer page: its id, its code's first scan on record (naive UTC, None before
    the first) and ``view``, what the page and ``/t/<code>.json`` show."""

    batch_id: int
    code: str
    first_scan: datetime | None
    view: dict


def read_consumer_page(conn: Connection, code: str, today: date | None = None) -> ConsumerPage | None:
    """Return the consumer page of the batch with this code (any case), or None when there is none."""
    canonical = normalize_code(code) if isinstance(code, str) else None
    if canonical is None:
        return None
    row = conn.execute(_statement(conn.dialect.name), {"code": canonical}).first()
    if row is None:
        return None
    today = today or date.today()
    inputs = sorted(_records(row.inputs, quantity=Decimal), key=lambda i: i.input_id)
    licences = sorted(_records(row.licences, valid_from=date.fromisoformat, valid_to=date.fromisoformat,
                               revoked_on=date.fromisoformat), key=lambda lic: lic.id)
    inspections = sorted(_records(row.inspections, inspected_on=date.fromisoformat),
                         key=lambda i: (i.inspected_on, i.id))
    certificates = sorted(_records(row.certifications, valid_from=date.fromisoformat, valid_to=date.fromisoformat,
                                   revoked_on=date.fromisoformat), key=lambda c: c.id)
    compliance = sorted(_records(row.compliance, quantity=Decimal, issued_on=date.fromisoformat,
                                 voided_on=date.fromisoformat), key=lambda c: c.id)
    corrections = sorted(_records(row.corrections, corrected_at=datetime.fromisoformat), key=lambda c: c.ledger_seq)
    shown = [(cert, status) for cert in certificates if (status := certificate_status(cert, row, today)) is not None]
    producer = SimpleNamespace(id=row.organization_id, name=row.producer_name, kind=row.producer_kind,
                               uscc=row.producer_uscc, region=row.producer_region, demo=row.producer_demo)
    view = {**summary_of(row, [(i.code, i.quantity) for i in inputs]),
            "producer": producer_summary(producer),
            "inspections": [inspection_view(i, row) for i in inspections],
            "certifications": [certification_view(cert, status) for cert, status in shown],
            "compliance_certificates": [compliance_view(c, row) for c in compliance],
            "corrections": [correction_view(c) for c in corrections],
            "claim": claim_of(row, row.brand_slug, row.brand_name, licences, today) if row.brand else None,
            "sources": sources(conn, row.id) if inputs else [],
            "recall": _recall(conn, row.recall_seq) if row.recall_seq is not None else None,
            "code_state": {"state": row.state or "active", "reason": row.state_reason,
                           "changed_at": _utc_iso(row.state_changed_at)}}
    return ConsumerPage(row.id, row.code, row.first_scan, view)


def sources(conn: Connection, batch_id: int, depth: int = 6) -> list[dict]:
    """Return the batches this one was pooled or processed from, each with its own sources."""
    budget = [MAX_SOURCES]
    query = (select(Batch.id, Batch.code, Batch.product, Batch.unit, Batch.harvest_date, Batch.base,
                    Batch.origin_region, BatchInput.quantity, Organization.name, Organization.demo)
             .join(BatchInput, BatchInput.input_id == Batch.id)
             .join(Organization, Organization.id == Batch.organization_id)
             .order_by(Batch.code))

    def walk(parent_id: int, level: int, seen: frozenset[int]) -> list[dict]:
        found = []
        for source in conn.execute(query.where(BatchInput.batch_id == parent_id)):
            if budget[0] <= 0 or source.id in seen:
                break
            budget[0] -= 1
            found.append({"code": source.code, "product": source.product, "quantity": quantity_text(source.quantity),
                          "unit": source.unit, "harvest_date": source.harvest_date.isoformat(),
                          "producer": source.name, "demo": source.demo, "base": source.base,
                          "origin_name": regions.full_name(source.origin_region),
                          "sources": walk(source.id, level + 1, seen | {source.id}) if level < depth else []})
        return found

    return walk(batch_id, 1, frozenset({batch_id}))


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


def _statement(dialect: str) -> TextClause:
    statement = _STATEMENTS.get(dialect)
    if statement is None:
        functions = _JSON_FUNCTIONS[dialect]
        sql = _CONSUMER_SQL.replace("{agg}", functions["agg"]).replace("{obj}", functions["obj"]) \
            .replace("{json}", functions["json"])
        statement = text(sql).columns(
            quantity=Numeric(18, 3), harvest_date=Date(), pack_date=Date(), producer_demo=Boolean(),
            state_changed_at=DateTime(), first_scan=DateTime())
        _STATEMENTS[dialect] = statement
    return statement


def _records(value, **convert) -> list[SimpleNamespace]:
    """Return the objects of a JSON array column (text on SQLite, parsed by psycopg), with the
    named fields converted from their JSON form (dates, datetimes and quantities are strings)."""
    if value is None:
        return []
    items = json.loads(value) if isinstance(value, str) else value
    for item in items:
        for name, to in convert.items():
            if item[name] is not None:
                item[name] = to(item[name])
    return [SimpleNamespace(**item) for item in items]


def _recall(conn: Connection, seq: int) -> dict | None:
    entry = conn.execute(select(LedgerEntry.kind, LedgerEntry.body).where(LedgerEntry.seq == seq)).one()
    return recall_of(seq, entry.body) if entry.kind == RECALLED else None


def _utc_iso(moment: datetime | None) -> str | None:
    return moment.isoformat() + "+00:00" if moment is not None else None

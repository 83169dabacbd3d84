"""What a batch's consumer page shows that only writes change, kept ready as one JSON value per
batch (``consumer_page_data``), marked unbuilt by every write that changes it and built again by
the first view of the page after it.

The consumer page is read for random codes out of millions, so no cache of pages helps; but
what it shows of a batch changes only when something is written, and building it (the batch,
its producer, brand and licences, certificates, inspections, 合格证, corrections and inputs)
is most of the page's statement. A transaction that changes one of those rows marks the values
of the batches it touches unbuilt before it commits, in the same transaction, so a stored value
is never older than what the tables say: the page builds a marked value itself, as it reads, and
the scans' writer stores it with the view's scan, off the page's path.
What changes without a ledger write (the code's scans) or is read from the ledger (the latest
recall), and the code's state, are read beside the value on every view.

Which batches a changed row touches: a batch, its inputs, inspections, 合格证 and corrections
touch that batch; an organization or its certificates touch the batches it produced; a brand
touches the batches that claim it; a licence the batches of its licensee that claim its brand."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, event, text
from sqlalchemy.orm import Session

from traceapp.brands.models import Brand, License
from traceapp.records.models import (
    Batch,
    BatchCorrection,
    BatchInput,
    Certification,
    ComplianceCertificate,
    Inspection,
    Organization,
)

REBUILD_CHUNK = 20_000  # batches refreshed per statement when every value is rebuilt
_TOUCHED = "traceapp.page_data.touched"

# One batch's value as a JSON object built by the database ({obj}, {agg}, {json}: see _DIALECTS).
# Quantities go as text, since a JSON number is a float. Lists are sorted in Python, since
# SQLite's aggregates take no ORDER BY.
VALUE_SQL = """{obj}(
  'id', b.id, 'code', b.code, 'organization_id', b.organization_id, 'product', b.product,
  'category', b.category, 'brand', b.brand, 'quantity', CAST(b.quantity AS TEXT), 'unit', b.unit,
  'harvest_date', b.harvest_date, 'pack_date', b.pack_date, 'origin_region', b.origin_region, 'base', b.base,
  'gtin', b.gtin, 'lot', b.lot, 'registered_by', b.registered_by, 'ledger_seq', b.ledger_seq,
  'producer', {obj}('id', o.id, 'name', o.name, 'kind', o.kind, 'uscc', o.uscc, 'region', o.region,
                    'demo', o.demo),
  'brand_slug', br.slug, 'brand_name', br.name,
  'licences', {json}((SELECT {agg}({obj}('id', l.id, 'products', {json}(l.products),
                                         'valid_from', l.valid_from, 'valid_to', l.valid_to,
                                         'revoked_on', l.revoked_on))
     FROM licenses l
    WHERE l.brand_id = br.id AND l.licensee_id = b.organization_id
      AND l.valid_from <= b.harvest_date AND l.valid_to >= b.harvest_date)),
  'inspections', {json}((SELECT {agg}({obj}('id', i.id, 'inspected_on', i.inspected_on, 'body_id', i.body_id,
                                            'report_no', i.report_no, 'items', {json}(i.items),
                                            'verdict', i.verdict, 'ledger_seq', i.ledger_seq))
     FROM inspections i WHERE i.batch_id = b.id)),
  'certifications', {json}((SELECT {agg}({obj}('id', c.id, 'kind', c.kind, 'number', c.number,
                                               'holder_id', c.holder_id, 'products', {json}(c.products),
                                               'valid_from', c.valid_from, 'valid_to', c.valid_to,
                                               'issuer', c.issuer, 'revoked_on', c.revoked_on,
                                               'revoke_reason', c.revoke_reason, 'ledger_seq', c.ledger_seq))
     FROM certifications c
    WHERE c.holder_id = b.organization_id
      AND c.valid_from <= b.harvest_date AND c.valid_to >= b.harvest_date)),
  'compliance', {json}((SELECT {agg}({obj}('id', cc.id, 'code', cc.code, 'basis', cc.basis,
                                           'inspection_id', cc.inspection_id,
                                           'quantity', CAST(cc.quantity AS TEXT), 'issued_on', cc.issued_on,
                                           'promiser', cc.promiser, 'contact', cc.contact,
                                           'voided_on', cc.voided_on, 'void_reason', cc.void_reason,
                                           'ledger_seq', cc.ledger_seq))
     FROM compliance_certificates cc WHERE cc.batch_id = b.id)),
  'corrections', {json}((SELECT {agg}({obj}('fields', {json}(bc.fields), 'previous', {json}(bc.previous),
                                            'reason', bc.reason, 'corrected_by', bc.corrected_by,
                                            'corrected_at', bc.corrected_at, 'ledger_seq', bc.ledger_seq))
     FROM batch_corrections bc WHERE bc.batch_id = b.id)),
  'inputs', {json}((SELECT {agg}({obj}('input_id', bi.input_id, 'code', s.code,
                                       'quantity', CAST(bi.quantity AS TEXT)))
     FROM batch_inputs bi JOIN batches s ON s.id = bi.input_id WHERE bi.batch_id = b.id)))"""
FROM_SQL = """  FROM batches b
  JOIN organizations o ON o.id = b.organization_id
  LEFT JOIN brands br ON br.slug = b.brand"""
_DIALECTS = {"sqlite": {"obj": "json_object", "agg": "json_group_array", "json": "json"},
             "postgresql": {"obj": "json_build_object", "agg": "json_agg", "json": ""}}
# Which batches a refresh covers, by what the transaction changed.
_WHERE = {"batches": "b.id IN :keys",
          "organizations": "b.organization_id IN :keys",
          "brands": "b.brand IN :keys",
          "licences": "b.brand IN (SELECT slug FROM brands WHERE id IN :brands) AND b.organization_id IN :keys",
          "range": "b.id BETWEEN :low AND :high"}


@functools.cache
def value_sql(dialect: str) -> str:
    """The JSON object of the batch ``b`` (joined to ``o`` and ``br`` as in FROM_SQL) in ``dialect``."""
    statement = VALUE_SQL
    for name, value in _DIALECTS[dialect].items():
        statement = statement.replace("{" + name + "}", value)
    return statement


_VERSION = "(SELECT coalesce(max(seq) + 1, 0) FROM ledger_entries)"  # the ledger's size, as the statement sees it


@functools.cache
def _refresh_statement(dialect: str, scope: str, value: bool = True):
    """Store the values of the batches in ``scope`` (a key of _WHERE), or with ``value`` False, mark
    them unbuilt. Each row carries the ledger's size as its statement saw it, and a row is only
    replaced by one built from a ledger at least as large: a refresh that read the tables before a
    later write committed can never overwrite that write's mark or its own refresh."""
    built, joined = (value_sql(dialect), FROM_SQL) if value else ("NULL", "  FROM batches b")
    statement = text(f"INSERT INTO consumer_page_data (batch_id, value, version)\n"
                     f"SELECT b.id, {built}, {_VERSION}\n{joined}\n WHERE {_WHERE[scope]}\n"
                     "ON CONFLICT (batch_id) DO UPDATE SET value = excluded.value, version = excluded.version\n"
                     " WHERE consumer_page_data.version <= excluded.version")
    if scope == "range":
        return statement
    expanding = [bindparam("keys", expanding=True)] + ([bindparam("brands", expanding=True)]
                                                       if scope == "licences" else [])
    return statement.bindparams(*expanding)


def refresh(conn: Connection | Session, batches: Iterable[int] = (), organizations: Iterable[int] = (),
            brands: Iterable[str] = (), licences: Iterable[tuple[int, int]] = (), value: bool = True) -> None:
    """Rebuild the stored values of these batches, of the batches these organizations produced,
    of those claiming these brands (slugs) and of those a (licensee id, brand id) licence covers;
    with ``value`` False, only mark them unbuilt (the page then builds them on each read)."""
    dialect = conn.get_bind().dialect.name if isinstance(conn, Session) else conn.dialect.name
    by_scope = {"batches": sorted(set(batches)), "organizations": sorted(set(organizations)),
                "brands": sorted(set(brands))}
    for scope, keys in by_scope.items():
        if keys:
            conn.execute(_refresh_statement(dialect, scope, value), {"keys": keys})
    for licensee, brand_id in sorted(set(licences)):
        conn.execute(_refresh_statement(dialect, "licences", value), {"keys": [licensee], "brands": [brand_id]})


def rebuild(conn: Connection, chunk: int = REBUILD_CHUNK) -> int:
    """Rebuild every batch's stored value, ``chunk`` batches a statement; return how many."""
    low, high = conn.execute(text("SELECT min(id), max(id) FROM batches")).one()
    if low is None:
        return 0
    statement = _refresh_statement(conn.dialect.name, "range")
    for start in range(low, high + 1, chunk):
        conn.execute(statement, {"low": start, "high": start + chunk - 1})
    return conn.execute(text("SELECT count(*) FROM consumer_page_data")).scalar()


def stale(conn: Connection, chunk: int = REBUILD_CHUNK) -> list[int]:
    """Return the ids of the batches whose stored value differs from what their rows say now
    (compared as JSON, ``chunk`` batches a statement). Unbuilt or missing values are not stale:
    the page builds them as it reads (``unbuilt`` counts them)."""
    low, high = conn.execute(text("SELECT min(id), max(id) FROM batches")).one()
    found: list[int] = []
    statement = text(f"SELECT b.id, v.value, {value_sql(conn.dialect.name)}\n{FROM_SQL}\n"
                     "  JOIN consumer_page_data v ON v.batch_id = b.id\n"
                     " WHERE b.id BETWEEN :low AND :high AND v.value IS NOT NULL ORDER BY b.id")
    for start in range(low or 0, (high or -1) + 1, chunk):
        for batch_id, stored, built in conn.execute(statement, {"low": start, "high": start + chunk - 1}):
            if _canonical(stored) != _canonical(built):
                found.append(batch_id)
    return found


def unbuilt(conn: Connection) -> int:
    """Return how many batches have no stored value or one marked unbuilt."""
    return conn.execute(text("SELECT count(*) FROM batches b LEFT JOIN consumer_page_data v ON v.batch_id = b.id "
                             "WHERE v.value IS NULL")).scalar()


def _canonical(value: str | dict) -> dict:
    """The value with each list in a fixed order: the aggregates' order is the plan's."""
    value = json.loads(value) if isinstance(value, str) else value
    return {key: sorted(item, key=lambda x: json.dumps(x, sort_keys=True)) if isinstance(item, list) else item
            for key, item in value.items()}


@functools.cache
def read_statement(dialect: str) -> str:
    """The statement that builds one batch's value without storing it (for a batch whose value is
    missing), in the DBAPI's own parameter style: its one parameter is ``id``."""
    param = {"sqlite": ":id", "postgresql": "%(id)s"}[dialect]
    return f"SELECT {value_sql(dialect)}\n{FROM_SQL}\n WHERE b.id = {param}"


def _touched_by(obj) -> tuple[str, object] | None:
    """(scope, key) of the batches whose values a changed row ``obj`` touches, or None."""
    if isinstance(obj, Batch):
        return "batches", obj.id
    if isinstance(obj, BatchInput | Inspection | ComplianceCertificate | BatchCorrection):
        return "batches", obj.batch_id
    if isinstance(obj, Organization):
        return "organizations", obj.id
    if isinstance(obj, Certification):
        return "organizations", obj.holder_id
    if isinstance(obj, Brand):
        return "brands", obj.slug
    if isinstance(obj, License):
        return "licences", (obj.licensee_id, obj.brand_id)
    return None


def install(session_factory) -> None:
    """Make every session from ``session_factory`` mark unbuilt, in its transaction, the values of
    the batches its flushed changes touch.

    Building them there would cost every write the statement that builds them, while the ledger's
    write lock is held (on PostgreSQL a fifth of the registrations per second, in the same run;
    built after the commit instead, as much again in CPU); marking costs a key lookup each. The
    first view of a marked page builds the value as it reads, and the scans' writer stores it
    with that view's scan (``scans.record_scan(build_page=True)``)."""

    @event.listens_for(session_factory, "after_flush")
    def _collect(session, _context):
        touched = session.info.setdefault(_TOUCHED, {})
        for obj in (*session.new, *session.dirty, *session.deleted):
            found = _touched_by(obj)
            if found is not None:
                touched.setdefault(found[0], set()).add(found[1])
        created = touched.setdefault("created", set())
        created.update(obj.id for obj in session.new if isinstance(obj, Batch))

    @event.listens_for(session_factory, "before_commit")  # after the ledger seals: its entries count
    def _mark(session):
        session.flush()  # commit flushes after this hook: collect what it would flush now
        touched = session.info.pop(_TOUCHED, None)
        if not touched:
            return
        # A batch this transaction registers has no value to mark, and no read that began before
        # the commit can build one: a registration costs no statement here.
        created = touched.pop("created")
        touched["batches"] = touched.get("batches", set()) - created
        refresh(session, **touched, value=False)

    @event.listens_for(session_factory, "after_commit")
    @event.listens_for(session_factory, "after_rollback")
    def _forget(session):
        session.info.pop(_TOUCHED, None)

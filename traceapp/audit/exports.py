"""Exports for investigators: every event of a brand, a producer, a region or a
recall over a date range, one row per event, in the spirit of the FSMA 204 "electronic sortable
spreadsheet" (key data elements of ../shared/domain/field-reference.md d.1).

For the benchmark and other callers without HTTP::

    from traceapp import clock
from traceapp.audit.export_filters import ExportFilters
    from traceapp.audit.export_formats import csv_chunks  # also xlsx_export_chunks, epcis_chunks
    from traceapp.audit.exports import iter_events

    filters = ExportFilters(brand="yanling-huangtao", date_from=date(2026, 1, 1))  # or ExportFilters()
    with sessions() as session:
        begin_snapshot(session)                       # one consistent snapshot (PostgreSQL)
        rows = iter_events(session, filters)          # Iterator[Event]; Event is a NamedTuple
        for chunk in csv_chunks(rows):                # bytes, as the download streams them
            out.write(chunk)

or in one call, in an app context, ``export_formats.bench_export(session, "csv" | "xlsx" | "epcis" |
"bundle", out, filters)`` (what bench/audit.py uses).

``traceapp.audit.export_filters.parse_filters(session, args)`` checks query parameters and raises
``InvalidField`` naming the field and the rule.

``iter_events`` streams: the events' keys come from one ``UNION ALL`` over the projection tables,
sorted by the database (a server-side cursor on PostgreSQL), and each chunk of ``CHUNK`` rows is
completed with a handful of bulk reads (batches, inputs, inspections, certificates, 合格证, licences,
ledger entries) — no query per row and no ORM objects.

Which events, and their date (the date ``from``/``to`` filter on and the rows sort by, then seq):
registration (harvest date), inspection (inspection date), certificate issued (valid from) and
revoked (revocation date), 合格证 issued and voided, licence granted (valid from) and revoked; and
the ledger-only batch events — correction, recall, recall lifted, labels printed, code frozen /
unfrozen / voided — dated by their ledger timestamp in the deployment's zone (``TRACEAPP_TIMEZONE``).
Batch columns show the batch as it stands now (after corrections); a correction row names the fields
it changed with their earlier values, and every row's ledger seq leads to the entry exactly as recorded.

Filters: ``brand`` (batches claiming it, its licences, and certificates held by its licensees),
``producer`` (an organization id: its batches, certificates and licences), ``region`` (a GB/T 2260
code; a province or city contains its counties: batches by origin, certificates and licences by the
holder's region), ``recall`` (a batch code: the batches recalled together with it — ``batch.recalled``
entries whose ``origin`` is ``batch:<code>`` — and all their events). Filters combine with AND.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime, tzinfo
from typing import NamedTuple

from sqlalchemy import ARRAY, BigInteger, Integer, String, Text, any_, cast, false, literal, null, select, union_all
from sqlalchemy.orm import Session

from traceapp import clock
from traceapp.audit.export_filters import ExportFilters
from traceapp.audit.filters import region_codes
from traceapp.brands.models import Brand, License
from traceapp.ledger.store import LedgerEntry
from traceapp.numbers import format_quantity
from traceapp.records import regions
from traceapp.records.models import (
    Batch,
    BatchInput,
    Certification,
    ComplianceCertificate,
    Inspection,
    Organization,
)
from traceapp.records.values import quantity_text

CHUNK = 2000
# Batch events with no dated projection row: read from the ledger, dated by their timestamp.
LEDGER_KINDS = ("batch.corrected", "batch.recalled", "batch.recall_lifted", "batch.labels_printed",
                "code.frozen", "code.unfrozen", "code.voided")

#: (field, Chinese header, English header), in row order: the spreadsheet's columns. A person reads the
#: named columns (labels in the reader's language, quantities with separators, local times); the code
#: columns beside them keep what machines match on (event kinds, document and status codes, plain
#: decimal quantities, the ledger's UTC timestamp).
COLUMNS = (
    ("event_date", "事件日期", "Event date"),
    ("recorded", "记录时间", "Recorded at"),
    ("recorded_at", "记录时间（UTC，ISO 8601）", "Recorded at (UTC, ISO 8601)"),
    ("seq", "账本序号", "Ledger seq"),
    ("event_name", "事件", "Event"),
    ("event", "事件类型代码", "Event type code"),
    ("batch", "追溯码（批次码）", "Traceability lot code (batch)"),
    ("gtin", "GTIN", "GTIN"),
    ("lot", "批号", "Lot"),
    ("product", "产品", "Product description"),
    ("category_name", "品类", "Category"),
    ("category", "品类代码", "Category code"),
    ("quantity_text", "数量", "Quantity"),
    ("quantity", "数量（数值）", "Quantity (number)"),
    ("unit", "单位", "Unit of measure"),
    ("brand_name", "品牌", "Brand"),
    ("brand", "品牌标识", "Brand slug"),
    ("producer_id", "主体编号", "Producer id"),
    ("producer", "生产主体", "Producer"),
    ("uscc", "统一社会信用代码", "Unified social credit code"),
    ("region_name", "产地（行政区划）", "Region"),
    ("region", "行政区划代码", "Region code (GB/T 2260)"),
    ("base", "生产基地", "Production base (location description)"),
    ("harvest_date", "采收日期", "Harvest date"),
    ("pack_date", "包装日期", "Pack date"),
    ("inputs", "投入批次（追溯码来源）", "Input lots (TLC source)"),
    ("doc_type_name", "单据类型", "Reference document type"),
    ("doc_type", "单据类型代码", "Reference document type code"),
    ("doc_number", "单据编号", "Reference document number"),
    ("status_name", "结论/状态", "Verdict / status"),
    ("status", "结论/状态代码", "Verdict / status code"),
    ("reason", "原因/说明", "Reason / details"),
    ("changes", "更正内容（JSON）", "Corrected fields (JSON)"),
    ("actor", "操作人", "Actor"),
    ("actor_org", "操作人所属组织", "Actor organization"),
)

#: kind -> (Chinese name, English name)
EVENT_NAMES = {
    "batch.registered": ("批次登记", "Batch registered"),
    "inspection.recorded": ("检测", "Inspection"),
    "certification.issued": ("证书颁发", "Certificate issued"),
    "certification.revoked": ("证书撤销", "Certificate revoked"),
    "compliance_certificate.issued": ("合格证开具", "Compliance certificate issued"),
    "compliance_certificate.voided": ("合格证作废", "Compliance certificate voided"),
    "brand.licensed": ("品牌使用许可", "Brand licence granted"),
    "brand.license_revoked": ("品牌许可撤销", "Brand licence revoked"),
    "batch.corrected": ("更正", "Correction"),
    "batch.recalled": ("召回", "Recall"),
    "batch.recall_lifted": ("解除召回", "Recall lifted"),
    "batch.labels_printed": ("打印标签", "Labels printed"),
    "code.frozen": ("追溯码冻结", "Code frozen"),
    "code.unfrozen": ("追溯码解冻", "Code unfrozen"),
    "code.voided": ("追溯码作废", "Code voided"),
}


class Input(NamedTuple):
    """One input lot of a pooled or processed batch: its code, the quantity taken and its unit, GTIN, lot."""

    code: str
    quantity: str
    unit: str
    gtin: str | None
    lot: str | None


class Event(NamedTuple):
    """One event of an export, as machines read it (codes, decimal strings, the ledger's UTC ``ts``);
    ``inputs`` is a tuple of Input and ``changes`` a correction's JSON. The spreadsheet writers add the
    words people read (``COLUMNS``)."""

    event_date: str
    recorded_at: str
    seq: int
    event: str
    event_name: str
    batch: str | None
    gtin: str | None
    lot: str | None
    product: str | None
    category: str | None
    quantity: str | None
    unit: str | None
    brand: str | None
    brand_name: str | None
    producer_id: int | None
    producer: str | None
    uscc: str | None
    region: str | None
    region_name: str | None
    base: str | None
    harvest_date: str | None
    pack_date: str | None
    inputs: tuple[Input, ...]
    doc_type: str | None
    doc_number: str | None
    status: str | None
    reason: str | None
    changes: str | None
    actor: str | None
    actor_org: str | None


# -- the events ------------------------------------------------------------------------------------

_b, _i = Batch.__table__, Inspection.__table__
_c, _cc = Certification.__table__, ComplianceCertificate.__table__
_l, _o = License.__table__, Organization.__table__
_NO_ID = cast(null(), Integer)


def _key(day, seq, kind: str, batch_id, org_id, ref_id):
    return select(day.label("day"), seq.label("seq"), literal(kind, String).label("kind"),
                  batch_id.label("batch_id"), org_id.label("org_id"), ref_id.label("ref_id"))


def _batch_conditions(f: ExportFilters) -> list:
    conditions = f.batch_clauses(_b.c)
    if f.recall_batches is not None:
        conditions.append(_b.c.id.in_(f.recall_batches) if f.recall_batches else false())
    return conditions


def _in_region(org_id, f: ExportFilters) -> list:
    """An organization-level record (a certificate's holder, a licence's licensee) registered inside ``region``."""
    return [org_id.in_(select(_o.c.id).where(_o.c.region.in_(region_codes(f.region))))] if f.region else []


def _holder_conditions(f: ExportFilters, holder) -> list:
    """Filters on a certificate's holder: a licensee of ``brand``, the ``producer``, inside ``region``."""
    if f.recall_batches is not None:
        return [false()]  # a recall names batches only
    conditions = _in_region(holder, f)
    if f.brand:
        conditions.append(holder.in_(select(_l.c.licensee_id).join(Brand.__table__, Brand.id == _l.c.brand_id)
                                     .where(Brand.slug == f.brand)))
    if f.producer:
        conditions.append(holder == f.producer)
    return conditions


def _keys_statement(f: ExportFilters):
    """Return the UNION ALL of the projection-backed events' keys, sorted by date then seq."""
    batch_where = _batch_conditions(f)
    parts = [
        _key(_b.c.harvest_date, _b.c.ledger_seq, "batch.registered", _b.c.id, _b.c.organization_id, _b.c.id)
        .where(*batch_where, *f.date_clauses(_b.c.harvest_date)),
        _key(_i.c.inspected_on, _i.c.ledger_seq, "inspection.recorded", _i.c.batch_id, _b.c.organization_id, _i.c.id)
        .join_from(_i, _b, _b.c.id == _i.c.batch_id).where(*batch_where, *f.date_clauses(_i.c.inspected_on)),
        _key(_cc.c.issued_on, _cc.c.ledger_seq, "compliance_certificate.issued", _cc.c.batch_id,
             _b.c.organization_id, _cc.c.id)
        .join_from(_cc, _b, _b.c.id == _cc.c.batch_id).where(*batch_where, *f.date_clauses(_cc.c.issued_on)),
        _key(_cc.c.voided_on, _cc.c.void_seq, "compliance_certificate.voided", _cc.c.batch_id,
             _b.c.organization_id, _cc.c.id)
        .join_from(_cc, _b, _b.c.id == _cc.c.batch_id)
        .where(_cc.c.void_seq.is_not(None), *batch_where, *f.date_clauses(_cc.c.voided_on)),
        _key(_c.c.valid_from, _c.c.ledger_seq, "certification.issued", _NO_ID, _c.c.holder_id, _c.c.id)
        .where(*_holder_conditions(f, _c.c.holder_id), *f.date_clauses(_c.c.valid_from)),
        _key(_c.c.revoked_on, _c.c.revoke_seq, "certification.revoked", _NO_ID, _c.c.holder_id, _c.c.id)
        .where(_c.c.revoke_seq.is_not(None), *_holder_conditions(f, _c.c.holder_id),
               *f.date_clauses(_c.c.revoked_on)),
        _key(_l.c.valid_from, _l.c.ledger_seq, "brand.licensed", _NO_ID, _l.c.licensee_id, _l.c.id)
        .where(*_licence_conditions(f), *f.date_clauses(_l.c.valid_from)),
        _key(_l.c.revoked_on, _l.c.revoke_seq, "brand.license_revoked", _NO_ID, _l.c.licensee_id, _l.c.id)
        .where(_l.c.revoke_seq.is_not(None), *_licence_conditions(f), *f.date_clauses(_l.c.revoked_on)),
    ]
    union = union_all(*parts).subquery()
    return select(union).order_by(union.c.day, union.c.seq)


def _licence_conditions(f: ExportFilters) -> list:
    if f.recall_batches is not None:
        return [false()]
    conditions = _in_region(_l.c.licensee_id, f)
    if f.brand:
        conditions.append(_l.c.brand_id == select(Brand.id).where(Brand.slug == f.brand).scalar_subquery())
    if f.producer:
        conditions.append(_l.c.licensee_id == f.producer)
    return conditions


def iter_events(session: Session, filters: ExportFilters | None = None, *, chunk: int = CHUNK,
                zone: tzinfo | None = None) -> Iterator[Event]:
    """Yield the events the filters select, one Event per ledger entry, sorted by date then seq; a
    ledger-only event is dated in ``zone`` (the deployment's zone by default: pass it when the rows
    stream outside the app context).

    Streams in chunks of ``chunk`` rows with a few bulk reads per chunk; memory stays flat. Begin the
    session with :func:`traceapp.ledger.store.begin_snapshot` for one consistent snapshot.
    """
    f = filters or ExportFilters()
    lookup = _Lookup(session, zone or clock.deployment_zone())
    keyed = _stream(session, _keys_statement(f), chunk)
    ledger_only = _stream(session, _ledger_only_statement(f), chunk)
    projected = (event for rows in keyed for event in lookup.projected(rows))
    logged = (event for rows in ledger_only for event in lookup.logged(rows, f))
    return heapq.merge(projected, logged, key=lambda e: (e.event_date, e.seq))


def _ledger_only_statement(f: ExportFilters):
    le = LedgerEntry.__table__
    statement = (select(le.c.seq, le.c.kind, le.c.body, _b.c.id)
                 .join_from(le, _b, le.c.subject == literal("batch:", String) + _b.c.code)
                 .where(le.c.kind.in_(LEDGER_KINDS), *_batch_conditions(f)))
    return statement.order_by(le.c.seq)


def _stream(session: Session, statement, chunk: int) -> Iterator[list]:
    result = session.connection().execution_options(stream_results=True, yield_per=chunk).execute(statement)
    try:
        yield from result.partitions(chunk)
    finally:
        result.close()


_NO_STAMP = (None, None, None)


def entry_stamp(body: bytes) -> tuple[str | None, str | None, str | None]:
    """Return (ts, actor's user, actor's organization) of an entry from its RFC 8785 bytes without parsing
    the whole entry: the keys are sorted, so the bytes open with ``{"actor":{…}`` (an object of plain
    strings: no brace inside) and end with ``,"ts":"…"}``."""
    actor = json.loads(body[9:body.index(b"}", 9) + 1]) if body.startswith(b'{"actor":{') else {}
    at = body.rfind(b',"ts":"')
    ts = body[at + 7:body.index(b'"', at + 7)].decode() if at >= 0 else None
    return ts, actor.get("user"), actor.get("org")


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _quantity(value) -> str | None:
    return quantity_text(value) if value is not None else None


class _Lookup:
    """Bulk reads that complete a chunk of event keys; organizations and brands are kept for the export."""

    def __init__(self, session: Session, zone: tzinfo):
        self.session = session
        self.zone = zone
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.orgs: dict[int, tuple] = {}
        self.brands_by_slug: dict[str, tuple] = {}
        self.brands_by_id: dict[int, tuple] = {}
        for brand_id, slug, name in session.execute(select(Brand.id, Brand.slug, Brand.name)):
            self.brands_by_slug[slug] = (slug, name)
            self.brands_by_id[brand_id] = (slug, name)
        self.region_names: dict[str, str] = {}

    # -- bulk reads ---------------------------------------------------------------------------

    def _among(self, column, ids: list[int]):
        """``column IN (ids)``; on PostgreSQL ``= ANY(array)``, one parameter: a query with thousands of
        placeholders costs more to render and parse (SQLAlchemy and psycopg) than to run."""
        if self.postgres:
            return column == any_(literal(ids, ARRAY(BigInteger)))
        return column.in_(ids)

    def _by_id(self, table, ids: Iterable[int], *columns) -> dict[int, tuple]:
        wanted = sorted({i for i in ids if i is not None})
        found: dict[int, tuple] = {}
        for start in range(0, len(wanted), CHUNK):
            part = wanted[start:start + CHUNK]
            found.update((row[0], tuple(row)) for row in self.session.execute(
                select(table.c.id, *columns).where(self._among(table.c.id, part))))
        return found

    def _batches(self, ids: Iterable[int]) -> dict[int, tuple]:
        return self._by_id(_b, ids, _b.c.code, _b.c.gtin, _b.c.lot, _b.c.product, _b.c.category, _b.c.quantity,
                           _b.c.unit, _b.c.brand, _b.c.organization_id, _b.c.origin_region, _b.c.base,
                           _b.c.harvest_date, _b.c.pack_date)

    def _inputs(self, ids: Iterable[int]) -> dict[int, list[Input]]:
        wanted = sorted(set(ids))
        found: dict[int, list[Input]] = {}
        source = _b.alias("source")
        for start in range(0, len(wanted), CHUNK):
            part = wanted[start:start + CHUNK]
            rows = self.session.execute(
                select(BatchInput.batch_id, source.c.code, BatchInput.quantity, source.c.unit, source.c.gtin,
                       source.c.lot)
                .join(source, source.c.id == BatchInput.input_id)
                .where(self._among(BatchInput.batch_id, part)).order_by(BatchInput.batch_id, source.c.code))
            for batch_id, code, quantity, unit, gtin, lot in rows:
                found.setdefault(batch_id, []).append(Input(code, _quantity(quantity), unit, gtin, lot))
        return found

    def _stamps(self, seqs: Iterable[int]) -> dict[int, tuple]:
        wanted = sorted(set(seqs))
        found: dict[int, tuple] = {}
        le = LedgerEntry.__table__
        for start in range(0, len(wanted), CHUNK):
            part = wanted[start:start + CHUNK]
            found.update((seq, entry_stamp(bytes(body)))
                         for seq, body in self.session.execute(select(le.c.seq, le.c.body)
                                                               .where(self._among(le.c.seq, part))))
        return found

    def _org(self, org_id: int | None) -> tuple:
        if org_id is None:
            return (None, None, None, None)
        return self.orgs.get(org_id, (org_id, None, None, None))

    def _load_orgs(self, ids: Iterable[int]) -> None:
        missing = {i for i in ids if i is not None and i not in self.orgs}
        if missing:
            self.orgs.update((row[0], row) for row in self._by_id(_o, missing, _o.c.name, _o.c.uscc, _o.c.region)
                             .values())

    def _region_name(self, code: str | None) -> str | None:
        if code is None:
            return None
        name = self.region_names.get(code)
        if name is None:
            name = self.region_names[code] = regions.full_name(code)
        return name

    # -- rows -----------------------------------------------------------------------------------

    def projected(self, rows: list) -> list[Event]:
        """Complete a chunk of keys (day, seq, kind, batch_id, org_id, ref_id) from the projection tables."""
        by_kind: dict[str, set[int]] = {}
        for row in rows:
            by_kind.setdefault(row.kind, set()).add(row.ref_id)
        batches = self._batches(row.batch_id for row in rows)
        inputs = self._inputs(by_kind.get("batch.registered", ()))
        stamps = self._stamps(row.seq for row in rows)
        inspections = self._by_id(_i, by_kind.get("inspection.recorded", ()), _i.c.report_no, _i.c.verdict,
                                  cast(_i.c["items"], Text), _i.c.body_id)
        compliance = self._by_id(_cc, by_kind.get("compliance_certificate.issued", set())
                                 | by_kind.get("compliance_certificate.voided", set()),
                                 _cc.c.code, _cc.c.basis, _cc.c.quantity, _cc.c.void_reason)
        certs = self._by_id(_c, by_kind.get("certification.issued", set())
                            | by_kind.get("certification.revoked", set()),
                            _c.c.kind, _c.c.number, _c.c.products, _c.c.valid_from, _c.c.valid_to, _c.c.issuer,
                            _c.c.revoke_reason)
        licences = self._by_id(_l, by_kind.get("brand.licensed", set()) | by_kind.get("brand.license_revoked", set()),
                               _l.c.brand_id, _l.c.products, _l.c.quantity, _l.c.unit, _l.c.valid_from,
                               _l.c.valid_to, _l.c.bases, _l.c.revoke_reason)
        self._load_orgs(row.org_id for row in rows)
        events = []
        for row in rows:
            ts, user, org = stamps.get(row.seq, _NO_STAMP)
            if row.batch_id is not None:
                fields = list(self._batch_fields(batches.get(row.batch_id), inputs.get(row.ref_id, ())
                                                 if row.kind == "batch.registered" else ()))
            else:
                fields = list(self._org_fields(row.org_id))
            detail = self._detail(row, inspections, compliance, certs, licences, fields)
            events.append(Event(row.day.isoformat(), ts, row.seq, row.kind, EVENT_NAMES[row.kind][0], *fields,
                                *detail, user, org))
        return events

    def logged(self, rows: list, f: ExportFilters) -> list[Event]:
        """Complete a chunk of ledger-only batch events (seq, kind, body, batch id), dropping those outside
        the date range."""
        parsed = []
        for seq, kind, body, batch_id in rows:
            entry = json.loads(bytes(body))
            day = clock.local_date(entry["ts"], zone=self.zone)
            if (f.date_from and day < f.date_from.isoformat()) or (f.date_to and day > f.date_to.isoformat()):
                continue
            parsed.append((seq, kind, entry, batch_id, day))
        batches = self._batches(p[3] for p in parsed)
        events = []
        for seq, kind, entry, batch_id, day in parsed:
            fields = self._batch_fields(batches.get(batch_id), ())
            detail = _ledger_detail(kind, entry.get("data", {}))
            actor = entry.get("actor") or {}
            events.append(Event(day, entry["ts"], seq, kind, EVENT_NAMES[kind][0], *fields, *detail,
                                actor.get("user"), actor.get("org")))
        return events

    def _batch_fields(self, batch: tuple | None, inputs) -> tuple:
        """(batch … inputs) columns of a batch row: code, gtin, lot, product, category, quantity, unit, brand,
        brand name, producer id, producer, uscc, region, region name, base, harvest, pack, inputs."""
        if batch is None:
            return (None,) * 17 + ((),)
        (_id, code, gtin, lot, product, category, quantity, unit, brand, org_id, origin, base, harvest,
         pack) = batch
        self._load_orgs((org_id,))
        _oid, name, uscc, _region = self._org(org_id)
        brand_name = self.brands_by_slug.get(brand, (None, None))[1] if brand else None
        return (code, gtin, lot, product, category, _quantity(quantity), unit, brand, brand_name, org_id, name, uscc,
                origin, self._region_name(origin), base, _text(harvest), _text(pack), tuple(inputs))

    def _org_fields(self, org_id: int | None) -> tuple:
        """The same columns for an organization-level record (certificate, licence): the holder."""
        _oid, name, uscc, region = self._org(org_id)
        return (None,) * 9 + (org_id, name, uscc, region, self._region_name(region), None, None, None, ())

    def _detail(self, row, inspections, compliance, certs, licences, fields: list) -> tuple:
        """Return (doc_type, doc_number, status, reason, changes); for certificates and licences also set product,
        quantity, unit, brand and bases in ``fields`` (the holder's columns)."""
        kind = row.kind
        if kind == "batch.registered":
            return None, None, "registered", None, None
        if kind == "inspection.recorded":
            _id, report_no, verdict, items, _body = inspections.get(row.ref_id, (None,) * 5)
            failed = "; ".join(f"{i.get('name')} {i.get('value')}{i.get('unit') or ''} (≤ {i.get('limit') or '—'})"
                               for i in (json.loads(items) if verdict == "fail" and items else ())
                               if i.get("verdict") == "fail")
            return "inspection_report", report_no, verdict, failed or None, None
        if kind.startswith("compliance_certificate."):
            _id, code, basis, quantity, void_reason = compliance.get(row.ref_id, (None,) * 5)
            if kind.endswith("voided"):
                return "compliance_certificate", code, "voided", void_reason, None
            return "compliance_certificate", code, basis, _quantity(quantity), None
        if kind.startswith("certification."):
            _id, cert_kind, number, products, valid_from, valid_to, issuer, reason = certs.get(row.ref_id, (None,) * 8)
            _set(fields, product="、".join(products or ()))
            if kind.endswith("revoked"):
                return f"certificate:{cert_kind}", number, "revoked", reason, None
            return (f"certificate:{cert_kind}", number, "issued",
                    f"{_text(valid_from)}/{_text(valid_to)} {issuer or ''}".rstrip(), None)
        (_id, brand_id, products, quantity, unit, valid_from, valid_to, bases,
         reason) = licences.get(row.ref_id, (None,) * 9)
        slug, name = self.brands_by_id.get(brand_id, (None, None))
        _set(fields, product="、".join(products or ()), quantity=_quantity(quantity), unit=unit, brand=slug,
                      brand_name=name, base="、".join(bases or ()) or None)
        if kind == "brand.license_revoked":
            return "license", str(row.ref_id), "revoked", reason, None
        return "license", str(row.ref_id), "granted", f"{_text(valid_from)}/{_text(valid_to)}", None


_FIELDS = Event._fields[Event._fields.index("batch"):Event._fields.index("inputs") + 1]
_FIELD_INDEX = {name: i for i, name in enumerate(_FIELDS)}


def _set(fields: list, **values) -> None:
    for name, value in values.items():
        fields[_FIELD_INDEX[name]] = value


def _ledger_detail(kind: str, data: dict) -> tuple:
    """Return (doc_type, doc_number, status, reason, changes) of a ledger-only batch event from its entry's
    data."""
    if kind == "batch.corrected":
        changes = json.dumps({"fields": data.get("fields"), "previous": data.get("previous")}, ensure_ascii=False,
                             sort_keys=True)
        return "correction", None, "corrected", data.get("reason"), changes
    if kind == "batch.recalled":
        origin = str(data.get("origin") or "").removeprefix("batch:") or None
        return "recall", origin, f"recalled ({data.get('scope', 'batch')})", data.get("reason"), None
    if kind == "batch.recall_lifted":
        return "recall", None, "lifted", data.get("reason"), None
    if kind == "batch.labels_printed":
        package = data.get("package_quantity")
        return ("label_print", data.get("layout"), f"{data.get('labels')} labels",
                f"{data.get('labels')} × {format_quantity(package) if package else ''} {data.get('unit', '')}".strip(),
                None)
    return "code_state", None, kind.removeprefix("code."), data.get("reason"), None

"""The export formats, each written as it streams (memory stays flat whatever the number of rows):

- ``csv_chunks(rows, lang)``: UTF-8 with a BOM (so Excel reads the
  Chinese), the column names in the reader's language on the first row and the columns' machine keys
  on the second, one row per event: codes in their own columns beside their names in the reader's
  language, quantities as people write them ("1,250.5") beside the plain decimal, the time in the
  deployment's zone beside the ledger's UTC timestamp; a text cell that a spreadsheet would read as a
  formula is prefixed with ``'`` (``csv_safe``);
- ``xlsx_export_chunks(rows, lang)``: the same two header rows and cells in an XLSX
  workbook streamed as it is zipped (:mod:`traceapp.audit.xlsx`; a sheet holds at most 1,048,576 rows,
  so more go on to a next sheet);
- ``epcis_chunks(rows, base_url, origin)``: a GS1 EPCIS 2.0 JSON-LD
  document (field-reference.md d.2): ObjectEvent ADD ``commissioning`` for a registration,
  TransformationEvent for a pooled or processed batch (its inputs to the new lot), ObjectEvent OBSERVE
  ``inspecting`` with disposition ``conformant`` / ``non_conformant`` for an inspection, OBSERVE with
  disposition ``conformant`` and a ``cert`` business transaction for a 合格证, disposition ``recalled``
  for a recall and ``active`` when it is lifted. Certificates, licences, corrections, labels and code
  states concern no lot movement and are left to the spreadsheet;
- ``bundle_zip_chunks(session, ledger)``: a zip with the whole ledger's audit bundle and the offline
  verifier's instructions (Chinese and English).

``rows`` is what :func:`traceapp.audit.exports.iter_events` yields; ``counter[0]``, when given, counts
the rows written. ``export_chunks`` picks the writer for a format.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal
from urllib.parse import quote

from sqlalchemy.orm import Session

from traceapp import clock
from traceapp.audit.export_filters import ExportFilters
from traceapp.audit.export_labels import SheetLabels, sheet_labels
from traceapp.audit.exports import COLUMNS, Event, iter_events
from traceapp.audit.xlsx import ZipSink, xlsx_chunks
from traceapp.ledger.bundle import bundle_lines
from traceapp.ledger.store import Ledger, stream_checkpoints, stream_entries
from traceapp.numbers import format_quantity

FLUSH_ROWS = 1000
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
# UN/ECE Recommendation 20 codes for our units; 斤 is half a kilogram; counted units carry no uom.
UOM = {"kg": ("KGM", Decimal(1)), "g": ("GRM", Decimal(1)), "t": ("TNE", Decimal(1)), "L": ("LTR", Decimal(1)),
       "斤": ("KGM", Decimal("0.5"))}


# -- spreadsheet rows ------------------------------------------------------------------------------

def header_rows(lang: str = "zh") -> tuple[list[str], list[str]]:
    """Return the column names in ``lang`` ("zh" or "en") and the columns' machine keys."""
    return [c[2] if lang == "en" else c[1] for c in COLUMNS], [c[0] for c in COLUMNS]


class _Sheet:
    """Writes an Event as the spreadsheet's cells (``COLUMNS`` in order) in one language and zone."""

    def __init__(self, labels: SheetLabels, zone: tzinfo):
        self.labels = labels
        self.zone = zone

    def cells(self, row: Event) -> tuple:
        words = self.labels
        return (row.event_date, clock.local_time(row.recorded_at, seconds=True, zone=self.zone) if row.recorded_at
                else None, row.recorded_at, row.seq, words.events.get(row.event, row.event_name), row.event,
                row.batch, row.gtin, row.lot, row.product,
                words.categories.get(row.category, row.category) if row.category else None, row.category,
                format_quantity(row.quantity) if row.quantity is not None else None, row.quantity, row.unit,
                row.brand_name, row.brand, row.producer_id, row.producer, row.uscc, row.region_name, row.region,
                row.base, row.harvest_date, row.pack_date, self._inputs(row.inputs) if row.inputs else None,
                words.doc_type(row.doc_type), row.doc_type, row.doc_number, words.status(row.status), row.status,
                self._reason(row), row.changes, row.actor, row.actor_org)

    @staticmethod
    def _inputs(inputs) -> str:
        return "; ".join(f"{i.code} {format_quantity(i.quantity)} {i.unit}" for i in inputs)

    def _reason(self, row: Event) -> str | None:
        """The reason or details as a sentence in the reader's language."""
        reason, kind, patterns = row.reason, row.event, self.labels.patterns
        if reason is None:
            return None
        if kind == "compliance_certificate.issued":
            return patterns["quantity"].format(quantity=f"{format_quantity(reason)} {row.unit or ''}".strip())
        if kind in ("certification.issued", "brand.licensed"):
            span, _space, issuer = reason.partition(" ")
            start, _slash, end = span.partition("/")
            if issuer:
                return patterns["valid_issuer"].format(start=start, end=end, issuer=issuer)
            return patterns["valid"].format(start=start, end=end)
        if kind == "batch.corrected" and row.changes:
            return "; ".join(part for part in (reason, self._changes(row.changes)) if part)
        return reason

    def _changes(self, changes: str) -> str:
        """A correction's fields as "数量: 500 → 520"."""
        found = json.loads(changes)
        fields, previous = found.get("fields") or {}, found.get("previous") or {}
        return "; ".join(f"{self.labels.fields.get(name, name)}: {self._value(name, previous.get(name))} → "
                         f"{self._value(name, value)}" for name, value in fields.items())

    def _value(self, name: str, value) -> str:
        if value is None or value == "":
            return "—"
        if name == "quantity":
            return format_quantity(value)
        if name == "category":
            return self.labels.categories.get(value, value)
        return str(value)


def _sheet(lang: str, labels: SheetLabels | None, zone: tzinfo | None) -> _Sheet:
    return _Sheet(labels or sheet_labels(lang), zone or clock.deployment_zone())


# OWASP "CSV Injection": a spreadsheet reads a cell that opens with one of these as a formula (tab and
# carriage return because some programs skip them and read the next character as the cell's first).
# Any producer can put such text into a product or a base name, and the regulator opens the export.
_FORMULA_START = frozenset("=+-@\t\r")


def csv_safe(value):
    """Return ``value`` with a ``'`` before it when it is text that opens with a formula character, so a
    spreadsheet shows it as text instead of running it; other values as they are."""
    if type(value) is str and value[:1] in _FORMULA_START:
        return "'" + value
    return value


def csv_chunks(rows: Iterable[Event], lang: str = "zh", counter: list | None = None, *,
               labels: SheetLabels | None = None, zone: tzinfo | None = None) -> Iterator[bytes]:
    """Yield the CSV document in pieces of about FLUSH_ROWS rows; ``counter[0]`` counts the rows. Words are
    ``labels`` (made for ``lang`` when not given) and times are in ``zone`` (the deployment's by default):
    pass both when the rows stream outside the request."""
    sheet = _sheet(lang, labels, zone)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(header_rows(sheet.labels.language))
    yield b"\xef\xbb\xbf" + _drain(buffer)
    count = 0
    for count, row in enumerate(rows, 1):
        writer.writerow([csv_safe(cell) for cell in sheet.cells(row)])
        if count % FLUSH_ROWS == 0:
            if counter is not None:
                counter[0] = count
            yield _drain(buffer)
    if counter is not None:
        counter[0] = count
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


def xlsx_export_chunks(rows: Iterable[Event], lang: str = "zh", counter: list | None = None, *,
                       labels: SheetLabels | None = None, zone: tzinfo | None = None) -> Iterator[bytes]:
    """Yield the XLSX workbook in pieces as the rows come (:mod:`traceapp.audit.xlsx`), with the cells of
    :func:`csv_chunks`; ``counter[0]`` counts the rows. Text goes in as it is: an inline string is never
    read as a formula."""
    sheet = _sheet(lang, labels, zone)
    return xlsx_chunks(list(header_rows(sheet.labels.language)), (sheet.cells(row) for row in rows),
                       counter=counter)


# -- EPCIS 2.0 ----------------------------------------------------------------------------------------

def lot_uri(base_url: str, code: str, gtin: str | None, lot: str | None) -> str:
    """Return the lot's identifier: its GS1 Digital Link URI when it has a GTIN and lot, else its consumer page."""
    if gtin and lot:
        return f"https://id.gs1.org/01/{gtin}/10/{quote(lot, safe='')}"
    return f"{base_url}/t/{code}"


def _quantity_element(epc_class: str, quantity: str | None, unit: str | None) -> dict:
    element: dict = {"epcClass": epc_class}
    amount = Decimal(quantity or "0")
    uom = UOM.get(unit or "")
    if uom is not None:
        amount *= uom[1]
        element["uom"] = uom[0]
    element["quantity"] = int(amount) if amount == amount.to_integral_value() else float(amount)
    return element


@functools.lru_cache(maxsize=4096)  # an export has a few hundred distinct days and one zone
def _zone_offset(day: str, zone: tzinfo) -> str:
    """Return the zone's UTC offset ("+08:00") at the start of ``day`` (YYYY-MM-DD)."""
    return datetime.combine(date.fromisoformat(day), time(), zone).isoformat()[-6:]


def _event_time(row: Event, offset: str) -> str:
    # Date-only business events happen on a calendar day where the deployment is; ledger-only ones at
    # their timestamp.
    if row.event in _TIMESTAMPED:
        return row.recorded_at
    return f"{row.event_date}T00:00:00{offset}"


_TIMESTAMPED = {"batch.recalled", "batch.recall_lifted"}


def epcis_event(row: Event, base_url: str, origin: str, zone: tzinfo | None = None) -> dict | None:
    """Return the EPCIS 2.0 event for an export row, or None for rows with no lot event; the event's
    zone is ``zone`` (the deployment's by default)."""
    if row.batch is None or row.event not in _EPCIS_KINDS:
        return None
    offset = _zone_offset(row.event_date, zone or clock.deployment_zone())
    lot = lot_uri(base_url, row.batch, row.gtin, row.lot)
    entry_url = f"{base_url}/ledger/entries?start={row.seq}&limit=1"
    event: dict = {
        "type": "ObjectEvent",
        "eventTime": _event_time(row, offset),
        "eventTimeZoneOffset": offset,
        "recordTime": row.recorded_at,
        "eventID": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'https://{origin}#{row.seq}')}",
    }
    quantities = [_quantity_element(lot, row.quantity, row.unit)]
    producer = f"{base_url}/api/v1/organizations/{row.producer_id}"
    if row.event == "batch.registered":
        if row.inputs:
            event["type"] = "TransformationEvent"
            event["inputQuantityList"] = [_quantity_element(lot_uri(base_url, i.code, i.gtin, i.lot), i.quantity,
                                                            i.unit) for i in row.inputs]
            event["outputQuantityList"] = quantities
        else:
            event["action"] = "ADD"
            event["quantityList"] = quantities
        event["bizStep"] = "commissioning"
        event["disposition"] = "active"
        event["bizLocation"] = {"id": producer}
        event["ilmd"] = {key: value for key, value in (
            ("traceapp:product", row.product), ("traceapp:category", row.category),
            ("traceapp:harvestDate", row.harvest_date), ("traceapp:packDate", row.pack_date),
            ("traceapp:originRegion", row.region), ("traceapp:originRegionName", row.region_name),
            ("traceapp:productionBase", row.base), ("traceapp:brand", row.brand),
            ("traceapp:producer", row.producer), ("traceapp:uscc", row.uscc)) if value}
    else:
        event["action"] = "OBSERVE"
        event["quantityList"] = quantities
        if row.event == "inspection.recorded":
            event["bizStep"] = "inspecting"
            event["disposition"] = "conformant" if row.status == "pass" else "non_conformant"
            event["bizTransactionList"] = [{"type": "testres", "bizTransaction": entry_url}]
            if row.actor_org:
                event["readPoint"] = {"id": f"{base_url}/api/v1/organizations/{row.actor_org.removeprefix('org:')}"}
        elif row.event == "compliance_certificate.issued":
            event["disposition"] = "conformant"
            event["bizTransactionList"] = [{"type": "cert", "bizTransaction": entry_url}]
        elif row.event == "batch.recalled":
            event["bizStep"] = "holding"
            event["disposition"] = "recalled"
            event["persistentDisposition"] = {"set": ["recalled"]}
        else:  # batch.recall_lifted
            event["disposition"] = "active"
            event["persistentDisposition"] = {"unset": ["recalled"]}
    event["traceapp:ledgerSeq"] = row.seq
    event["traceapp:ledgerEntry"] = entry_url
    event["traceapp:eventType"] = row.event
    if row.doc_number:
        event["traceapp:documentNumber"] = row.doc_number
    return event


_EPCIS_KINDS = {"batch.registered", "inspection.recorded", "compliance_certificate.issued", "batch.recalled",
                "batch.recall_lifted"}


def epcis_chunks(rows: Iterable[Event], base_url: str, origin: str,
                 counter: list | None = None, *, zone: tzinfo | None = None) -> Iterator[bytes]:
    """Yield an EPCIS 2.0 JSON-LD document (EPCISDocument) with one event per lot event in ``rows``;
    ``counter[0]`` counts the events written."""
    zone = zone or clock.deployment_zone()
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    head = {"@context": [EPCIS_CONTEXT, {"traceapp": f"{base_url}/ns/epcis#"}], "type": "EPCISDocument",
            "schemaVersion": "2.0", "creationDate": created, "traceapp:ledgerOrigin": origin}
    opening = json.dumps(head, ensure_ascii=False)[:-1] + ', "epcisBody": {"eventList": [\n'
    yield opening.encode("utf-8")
    pieces, count = [], 0
    for row in rows:
        event = epcis_event(row, base_url, origin, zone)
        if event is None:
            continue
        pieces.append((",\n" if count else "") + json.dumps(event, ensure_ascii=False))
        count += 1
        if len(pieces) >= FLUSH_ROWS:
            if counter is not None:
                counter[0] = count
            yield "".join(pieces).encode("utf-8")
            pieces = []
    if counter is not None:
        counter[0] = count
    yield ("".join(pieces) + "\n]}}\n").encode("utf-8")


# -- the audit bundle ---------------------------------------------------------------------------------

BUNDLE_NAME = "traceapp-ledger-bundle.jsonl"
README_NAME = "README-使用说明.txt"


def bundle_instructions(key: str, origin: str, size: int, base_url: str) -> str:
    """Return the verifier's instructions (Chinese, then English) that go beside the bundle."""
    return f"""traceapp 账本审计包 使用说明
==============================

本压缩包里的 {BUNDLE_NAME} 是整个账本的审计包：验证公钥、全部签名检查点，以及第 0 至 {size - 1} 条记录
（共 {size} 条）。导出页面上的筛选条件（品牌、生产主体、地区、日期、召回）不会缩小审计包：账本只有作为整体
才能验证，所以审计包总是完整的。

离线验证（不需要数据库、不需要联网，只需要 Python 3.11+ 和 traceapp 软件包）：

    python -m traceapp.ledger.verify {BUNDLE_NAME} --key KEY --checkpoint FILE

  KEY   保存验证公钥的文本文件。请从另一个渠道获得公钥（例如 {base_url}/ledger/key，或平台公布的公钥），
        并与下面这一行逐字核对：
        {key}
  FILE  你上次在审计台下载保存的签名检查点（可选）。验证程序会证明它与审计包中最新的检查点一致，
        也就是说账本在这期间只增加、没有被改写。

退出码 0 表示：每条记录的哈希链、默克尔树根和每个检查点的签名都正确，并且（如果给了 FILE）与你保存的检查点一致；
退出码 1 会指出第一处损坏的序号和原因。账本来源（origin）：{origin}


traceapp ledger audit bundle: instructions
==========================================

{BUNDLE_NAME} in this zip is the audit bundle of the whole ledger: the verifier key, every signed
checkpoint and entries 0 to {size - 1} ({size} entries). The filters of the export page (brand, producer,
region, dates, recall) do not narrow the bundle: a ledger can only be verified whole, so the bundle is
always complete.

Verify it offline (no database, no network; Python 3.11+ with the traceapp package installed):

    python -m traceapp.ledger.verify {BUNDLE_NAME} --key KEY --checkpoint FILE

  KEY   a text file holding the verifier key. Get the key through another channel (for example
        {base_url}/ledger/key, or the key the platform publishes) and compare it with this line:
        {key}
  FILE  a signed checkpoint you saved on an earlier visit to the audit desk (optional). The verifier
        proves it consistent with the bundle's latest checkpoint: the ledger only grew since.

Exit status 0 means every entry's hash chain, the Merkle roots and every checkpoint signature are
correct and (given FILE) consistent with your saved checkpoint; exit status 1 names the first damaged
sequence number and why. Ledger origin: {origin}
"""


def bundle_zip_chunks(session: Session, ledger: Ledger, base_url: str, counter: list | None = None,
                      flush_bytes: int = 1 << 16) -> Iterator[bytes]:
    """Yield a zip holding the whole ledger's audit bundle and its instructions; ``counter[0]`` counts the
    entries. Begin the session with :func:`traceapp.ledger.store.begin_snapshot`."""
    conn = session.connection()
    latest = ledger.latest_checkpoint(conn)
    size = latest[0] if latest else 0
    checkpoints = list(stream_checkpoints(conn))
    verifier = ledger.verifier
    sink = ZipSink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(README_NAME, bundle_instructions(verifier.encode(), verifier.name, size, base_url))
        with archive.open(BUNDLE_NAME, "w", force_zip64=True) as member:
            entries = (row for row in stream_entries(conn) if row[0] < size)
            count = 0
            for line in bundle_lines(verifier, checkpoints, entries, size):
                member.write(line)
                count += 1
                if sink.size >= flush_bytes:
                    if counter is not None:
                        counter[0] = max(count - 1 - len(checkpoints), 0)
                    yield sink.drain()
            if counter is not None:
                counter[0] = max(count - 1 - len(checkpoints), 0)
    yield sink.drain()


def export_chunks(session: Session, ledger: Ledger, fmt: str, filters, base_url: str, lang: str = "zh",
                  counter: list | None = None, *, labels: SheetLabels | None = None,
                  zone: tzinfo | None = None) -> Iterator[bytes]:
    """Yield the export in ``fmt`` (``csv``, ``xlsx``, ``epcis`` or ``bundle``) of the events ``filters``
    select; ``counter[0]`` counts the rows (the bundle: its entries). Begin the session with
    :func:`traceapp.ledger.store.begin_snapshot`. ``labels`` and ``zone`` (see :func:`csv_chunks`) are
    made here when not given, which needs the app (and, for English, the request)."""
    if fmt == "bundle":
        return bundle_zip_chunks(session, ledger, base_url, counter)
    zone = zone or clock.deployment_zone()
    rows = iter_events(session, filters, zone=zone)
    if fmt == "csv":
        return csv_chunks(rows, lang, counter, labels=labels, zone=zone)
    if fmt == "epcis":
        return epcis_chunks(rows, base_url, ledger.verifier.name, counter, zone=zone)
    return xlsx_export_chunks(rows, lang, counter, labels=labels, zone=zone)


def bench_export(session: Session, fmt: str, out, filters: ExportFilters | None = None, *, lang: str = "zh") -> int:
    """Write the events the filters select (all by default) as ``fmt`` to the binary file ``out``, exactly as
    the download streams them, and return the rows written: the entry point of ``bench/audit.py``. Call it
    in an app context with a fresh session (it begins the snapshot)."""
    from flask import current_app

    from traceapp import db
    from traceapp.ledger.store import begin_snapshot

    begin_snapshot(session)
    counter = [0]
    base_url = current_app.config["TRACEAPP_PUBLIC_URL"].rstrip("/")
    for chunk in export_chunks(session, db.ledger(), fmt, filters, base_url, lang, counter):
        out.write(chunk)
    return counter[0]

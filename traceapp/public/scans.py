"""Scans of consumer pages: who looked (a salted hash of the address, never the address), coarse
client hints, each code's first scan (atomic across workers), how many scans so far, whether
that looks unusual, and a per-client rate limit.

How the consumer page uses it (wording for the page: ``scan_sentences`` — honest, never "fake")::

    client = scans.client_id(request)
    scans.check_rate(client)                      # TooManyRequests (429, Retry-After) past the limit
    summary = scans.record_scan(batch.id, client, scans.client_hints(request),
                                signed_in=..., labels_printed=..., region=scans.client_region(request))
    sentences = scans.scan_sentences(summary)
    # ["本系统记录的首次查询时间 2026-08-05 14:03 (UTC+8)，共查询 3 次。"]
    alert = scans.scan_alert(summary)  # "存在异常查询记录，建议核对购买渠道。" when summary.anomalous

Which scans count and what is unusual: ``scan_rules``. An uncounted scan (signed in, before the
labels were printed, a script) is told the record and writes nothing.

Cost on the page: none in the database. The consumer page reads the code's first scan and its
count of stored scans with the rest of the page (``first_on_record``, ``count_on_record``); when
there is no first scan, this scan is the first this process knows of. The scan's row joins a
per-process buffer that a background thread writes in batches, on a connection of the scans' own
that does not wait for the disk, in one transaction with one ``first_scans`` row per code
(``INSERT … ON CONFLICT DO UPDATE``: the code's first scan unless one is stored, and its count).
However many workers claim a code at once, one claim is stored; a page told its own claim that
lost says a time within the same moment, and every later view says the stored one. A count is
the stored one plus this worker's buffered scans: other workers' show once they are written
(within SCAN_FLUSH_INTERVAL), and a view read while its worker writes may miss or count twice
the scans being written; a client's repeat that another worker saw first counts here until this
worker writes it, when it is dropped (one row per client, code and period). Scans are
operational records, not ledger facts: a crash may lose the last second's scans, never a ledger
entry.
"""

from __future__ import annotations

import atexit
import functools
import hmac
import ipaddress
import logging
import math
import os
import re
import secrets
import socket
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from flask import Flask, current_app
from sqlalchemy import Connection, Engine, bindparam, create_engine, event, exists, select
from sqlalchemy.exc import DBAPIError
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from traceapp import clock
from traceapp.errors import TooManyRequests
from traceapp.i18n import gettext as _
from traceapp.instance_files import read_or_create
from traceapp.ledger.store import configure_engine
from traceapp.public import scan_rules, stored_pages
from traceapp.public.models import FirstScan, Scan
from traceapp.records.models import LabelPrint

log = logging.getLogger(__name__)

SALT_FILE = "scan_salt"
HINTS_MAX = 120
HINTS_HEADER_MAX = 1024  # of User-Agent and Accept-Language read for the hints (a WeChat agent is ~300)
MAX_PENDING = 50_000  # rows kept for a database that does not answer; the oldest go first
SQLITE_MMAP_BYTES = 2**31  # of the database file read through a memory mapping by the scans' connections
MAX_CACHED = 100_000  # codes (first scans claimed) and clients (rate buckets) remembered per worker
_EXT = "traceapp.scans"
UNREAD = object()  # record_scan's first_on_record when the caller did not read it
_RECORDERS: weakref.WeakSet[_Recorder] = weakref.WeakSet()
T = TypeVar("T")


@dataclass(frozen=True)
class ScanSummary:
    """What the page says about a code's scans.

    ``first_at``: the first counted scan this system recorded (UTC; None before there is one);
    ``count``: counted scans so far (a client's views once per period), this one included when it
    counts; ``anomalous`` with ``why`` = ``"clients"`` (at least SCAN_ALERT_CLIENTS distinct clients
    within SCAN_ALERT_WINDOW seconds) or ``"regions"`` (SCAN_ALERT_REGIONS distinct regions);
    ``uncounted``: why this scan does not count (``scan_rules.SIGNED_IN``, ``NOT_PRINTED``,
    ``AUTOMATED``), None when it does.
    """

    first_at: datetime | None
    count: int
    anomalous: bool
    why: str | None = None
    uncounted: str | None = None


# -- who is scanning ------------------------------------------------------------------------

def client_address(request) -> str:
    """Return the client's address: ``remote_addr``, or the last X-Forwarded-For hop (the one our
    proxy saw) when ``TRACEAPP_BEHIND_PROXY`` is set. The header is anyone's to forge otherwise."""
    if _flag(current_app.config.get("TRACEAPP_BEHIND_PROXY")):
        hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.remote_addr or ""


_REGION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")


def client_region(request) -> str | None:
    """Return the client's region as the proxy in front names it in SCAN_ALERT_REGION_HEADER (a CDN's
    country or province header), or None: without a proxy (``TRACEAPP_BEHIND_PROXY``) the header is
    anyone's to forge, and there is no other source of a region here."""
    config = current_app.config
    header = config.get("SCAN_ALERT_REGION_HEADER")
    if not header or not _flag(config.get("TRACEAPP_BEHIND_PROXY")):
        return None
    value = request.headers.get(header, "").strip()
    return value if _REGION.fullmatch(value) else None


def client_id(request) -> str:
    """Return the client as 64 hex digits: HMAC-SHA-256 of its address under this installation's
    secret salt (``instance/scan_salt``). IPv6 addresses count by their /64 network, since phones
    rotate the rest."""
    return hmac.digest(_salt(current_app), _network(client_address(request)).encode(), "sha256").hex()


_DEVICES = (("tablet", ("iPad", "Tablet")), ("mobile", ("Mobi", "iPhone", "Android", "HarmonyOS")))
_SYSTEMS = (("HarmonyOS", ("HarmonyOS", "OpenHarmony")), ("Android", ("Android",)),
            ("iOS", ("iPhone", "iPad", "iPod")), ("Windows", ("Windows",)), ("macOS", ("Macintosh", "Mac OS X")),
            ("ChromeOS", ("CrOS",)), ("Linux", ("Linux",)))
_BROWSERS = (("bot", ("bot", "Bot", "spider", "Spider", "crawl", "curl/", "Wget", "python-", "Go-http")),
             ("WeChat", ("MicroMessenger",)), ("Alipay", ("AlipayClient",)), ("DingTalk", ("DingTalk",)),
             ("QQ", ("QQ/",)), ("UC", ("UCBrowser",)), ("Edge", ("Edg/", "EdgA/", "EdgiOS/")),
             ("Opera", ("OPR/",)), ("Firefox", ("Firefox/", "FxiOS/")), ("Chrome", ("Chrome/", "CriOS/")),
             ("Safari", ("Safari/",)))
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})?")


def client_hints(request) -> str:
    """Return coarse hints about the client, e.g. ``"mobile; Android; WeChat; zh-CN"``: device
    kind, OS family, browser family and the preferred language; nothing that identifies anyone."""
    return _hints(request.headers.get("User-Agent", "")[:HINTS_HEADER_MAX],
                  request.headers.get("Accept-Language", "")[:HINTS_HEADER_MAX])


@functools.lru_cache(maxsize=1024)  # phones send a few hundred distinct pairs of headers
def _hints(agent: str, accept_language: str) -> str:
    device = _family(agent, _DEVICES, "desktop") if agent else "unknown"
    if device == "mobile" and "Android" in agent and "Mobile" not in agent:
        device = "tablet"  # Android tablets leave out "Mobile"
    first = next(parse_accept_header(accept_language, LanguageAccept).values(), "") or ""
    language = first if _LANGUAGE.fullmatch(first) else "-"
    hints = f"{device}; {_family(agent, _SYSTEMS, 'other')}; {_family(agent, _BROWSERS, 'other')}; {language}"
    return hints[:HINTS_MAX]


# -- recording ------------------------------------------------------------------------------

def record_scan(batch_id: int, client: str, hints: str, now: datetime | None = None,
                first_on_record: datetime | None | object = UNREAD, count_on_record: int = 0,
                page: dict | None = None, *, signed_in: bool = False, labels_printed: bool | object = UNREAD,
                region: str | None = None) -> ScanSummary:
    """Record one scan of the batch's code, if it counts, and return what the page should say about
    the code's scans. How the scan arrived does not matter here.

    ``first_on_record`` and ``count_on_record``: the code's first scan (naive UTC; None when none
    is stored) and its stored scans, as the caller read them (the consumer page, with the rest of
    the page); ``labels_printed``: whether the batch's labels were printed. Left out, they are read
    here. A scan counts unless ``signed_in``, before the labels were printed, or from a client that
    looked up more than SCAN_ALERT_CLIENT_CODES codes within the window (``scan_rules``); a client's
    scans of a code count once per window. Without a first scan on record, a counted scan claims it,
    unless another scan in this process did. A counted scan's row is buffered (see :func:`flush`);
    one ``first_scans`` row is stored however many scans race for it, and one scan row per client
    and period however many workers see it. ``page``: the rendered page this view made, to store
    after the buffer is written (``stored_pages.page_row``). Call inside an app context.
    """
    moment = _naive_utc(now)
    recorder = _recorder(current_app)
    if first_on_record is UNREAD or labels_printed is UNREAD:
        stored = recorder.on_writer(lambda conn: conn.execute(_ON_RECORD, {"batch_id": batch_id}).one())
        if first_on_record is UNREAD:
            first_on_record, count_on_record = stored.scanned_at, stored.scan_count or 0
        if labels_printed is UNREAD:
            labels_printed = bool(stored.printed)
    period = scan_rules.period_of(moment, recorder.thresholds.window)
    automated = not signed_in and recorder.looks_automated(client, batch_id, period)
    uncounted = scan_rules.why_uncounted(signed_in=signed_in, labels_printed=bool(labels_printed),
                                         automated=automated)
    if uncounted is None:
        first_at = recorder.first_scan(batch_id, moment, first_on_record)
        row = {"batch_id": batch_id, "scanned_at": moment, "client": client, "hints": hints[:HINTS_MAX],
               "period": period, "region": region}
        count = recorder.add(row, count_on_record)
    else:
        first_at, count = recorder.known(batch_id, first_on_record, count_on_record)
    if page is not None:
        recorder.add_page(page)
    why = recorder.judge(batch_id, count, moment)
    return ScanSummary(first_at.replace(tzinfo=UTC) if first_at is not None else None, count, why is not None,
                       why, uncounted)


# The code's first scan and count (NULL without one) and whether its labels were printed.
_ON_RECORD = select(
    select(FirstScan.scanned_at).where(FirstScan.batch_id == bindparam("batch_id")).scalar_subquery()
    .label("scanned_at"),
    select(FirstScan.scan_count).where(FirstScan.batch_id == bindparam("batch_id")).scalar_subquery()
    .label("scan_count"),
    exists().where(LabelPrint.batch_id == bindparam("batch_id")).label("printed"))


# A flush writes its scans, then their codes' first_scans rows, in two statements however many there
# are: on PostgreSQL as arrays (row by row, executemany cost the worker ~60 µs of CPU a scan and the
# server a statement each); on SQLite, whose work is the worker's anyway, straight to the driver. A
# scan row is one client's view of a code in a period: another worker's row for the same client and
# period is kept and this one dropped (ON CONFLICT DO NOTHING), so it adds nothing to the count. A
# code's first_scans row records its first scan unless one is stored, and adds the scans stored now.
# Both statements take their rows in key order (ORDER BY), so two workers' flushes lock what they
# share in one order; SQLite has one writer at a time.
_FIRST_SCANS_SQL = {
    "postgresql": "INSERT INTO first_scans (batch_id, scanned_at, client, scan_count) "
                  "SELECT * FROM unnest(%b::integer[], %b::timestamp[], %b::text[], %b::bigint[]) "
                  "AS c(batch_id, scanned_at, client, scan_count) ORDER BY batch_id "
                  "ON CONFLICT (batch_id) DO UPDATE SET scan_count = first_scans.scan_count + excluded.scan_count",
    "sqlite": "INSERT INTO first_scans (batch_id, scanned_at, client, scan_count) VALUES (?, ?, ?, ?) "
              "ON CONFLICT (batch_id) DO UPDATE SET scan_count = scan_count + excluded.scan_count"}
_SCANS_SQL = {
    "postgresql": "INSERT INTO scans (batch_id, scanned_at, client, hints, period, region) "
                  "SELECT * FROM unnest(%b::integer[], %b::timestamp[], %b::text[], %b::text[], %b::bigint[], "
                  "%b::text[]) AS s(batch_id, scanned_at, client, hints, period, region) "
                  "ORDER BY batch_id, client, period "
                  "ON CONFLICT (batch_id, client, period) DO NOTHING RETURNING batch_id, client, period",
    "sqlite": "INSERT INTO scans (batch_id, scanned_at, client, hints, period, region) VALUES (?, ?, ?, ?, ?, ?) "
              "ON CONFLICT (batch_id, client, period) DO NOTHING"}


def _write(conn: Connection, rows: list[dict]) -> None:
    """Write the scans ``rows`` that no other worker stored (see _SCANS_SQL) and their codes'
    first_scans rows (see _FIRST_SCANS_SQL)."""
    scans = [(r["batch_id"], r["scanned_at"], r["client"], r["hints"], r["period"], r["region"]) for r in rows]
    dialect = conn.dialect
    if dialect.name == "postgresql":
        stored = set(conn.exec_driver_sql(_SCANS_SQL["postgresql"], tuple(map(list, zip(*scans, strict=True)))))
        firsts = _per_code([r for r in rows if _visit(r) in stored])
        if firsts:
            conn.exec_driver_sql(_FIRST_SCANS_SQL["postgresql"], tuple(map(list, zip(*firsts, strict=True))))
        return
    as_text = _time_text(dialect)  # the text SQLAlchemy stores a DateTime as, so times compare as before
    cursor = conn.connection.cursor()
    try:
        kept = []
        for row, (b, t, c, h, p, r) in zip(rows, scans, strict=True):
            cursor.execute(_SCANS_SQL["sqlite"], (b, as_text(t), c, h, p, r))
            if cursor.rowcount == 1:
                kept.append(row)
        firsts = _per_code(kept)
        cursor.executemany(_FIRST_SCANS_SQL["sqlite"], [(b, as_text(t), c, n) for b, t, c, n in firsts])
    finally:
        cursor.close()


def _visit(row: dict) -> tuple[int, str, int]:
    return row["batch_id"], row["client"], row["period"]


@functools.lru_cache(maxsize=8)
def _time_text(dialect) -> Callable[[datetime], str]:
    column = Scan.__table__.c.scanned_at
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def _per_code(rows: list[dict]) -> list[tuple[int, datetime, str, int]]:
    """Return one first_scans row per code of ``rows`` (batch id, scanned_at, client, scan count):
    its first scan here (the one that claimed it, when this process did) and how many there are,
    in the order of the codes."""
    codes: dict[int, list] = {}
    for row in rows:
        code = codes.get(row["batch_id"])
        if code is None:
            codes[row["batch_id"]] = [row["batch_id"], row["scanned_at"], row["client"], 1]
        else:
            code[3] += 1
    return [tuple(codes[batch_id]) for batch_id in sorted(codes)]


def on_scan_connection(work: Callable[[Connection], T]) -> T:
    """Return ``work(connection)`` run on a connection of the scans' own engine (see
    :func:`scan_engine`); on PostgreSQL outside a transaction, so a statement is one round trip."""
    return _recorder(current_app).on_writer(work)


def engine_of(app: Flask) -> Engine:
    """Return the scans' own engine of ``app`` (see :func:`scan_engine`)."""
    return _recorder(app).writer


def flush(app: Flask | None = None) -> int:
    """Write the buffered scans of ``app`` (default: the current one) now; return how many."""
    recorder = (app or current_app).extensions.get(_EXT)
    return recorder.flush() if recorder is not None else 0


def stop(app: Flask) -> None:
    """Write ``app``'s buffered scans and wait for its flushing thread to end (an app's shutdown)."""
    recorder = app.extensions.get(_EXT)
    if recorder is not None:
        recorder.stop()


def scan_sentences(summary: ScanSummary) -> list[str]:
    """Return the page's sentences about the code's scans: when the first counted one was and how
    many there were, or why there is none yet, and for a signed-in viewer that theirs do not count."""
    if summary.first_at is not None:
        sentences = [_("本系统记录的首次查询时间 %(time)s，共查询 %(n)d 次。",
                       time=_local_time(summary.first_at), n=summary.count)]
    elif summary.uncounted == scan_rules.NOT_PRINTED:
        sentences = [_("此批次的标签尚未在本系统登记打印，打印前的查询不计入首次查询时间和查询次数。")]
    else:
        sentences = [_("本系统尚未记录此码的查询。")]
    if summary.uncounted == scan_rules.SIGNED_IN:
        sentences.append(_("您已登录，您的查看不计入查询记录。"))
    return sentences


def scan_alert(summary: ScanSummary) -> str | None:
    """Return the advice shown when the code's scans look unusual (many distinct clients or regions
    within the window), or None. Never calls the product fake: a copied code is one explanation."""
    return _("存在异常查询记录，建议核对购买渠道。") if summary.anomalous else None


# -- rate limiting --------------------------------------------------------------------------

def check_rate(client: str, now: float | None = None) -> None:
    """Count one request of ``client``; raise TooManyRequests (429, with Retry-After) when it has
    used its SCAN_RATE_LIMIT requests per SCAN_RATE_WINDOW seconds. In memory, per worker."""
    app = current_app
    limiter = app.extensions.get(f"{_EXT}.limiter")
    if limiter is None:
        limiter = app.extensions.setdefault(f"{_EXT}.limiter", RateLimiter(
            int(app.config["SCAN_RATE_LIMIT"]), float(app.config["SCAN_RATE_WINDOW"])))
    wait = limiter.take(client, time.monotonic() if now is None else now)
    if wait:
        raise TooManyRequests(_("查询过于频繁，请 %(n)d 秒后再试。", n=wait), retry_after=wait)


class RateLimiter:
    """A token bucket per client: ``limit`` requests at once, refilled at ``limit / window`` per
    second. Remembers at most ``max_clients`` clients, least recently seen forgotten first."""

    def __init__(self, limit: int, window: float, max_clients: int = MAX_CACHED):
        self.limit, self.rate, self.max_clients = limit, limit / window, max_clients
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.lock = threading.Lock()

    def take(self, client: str, now: float) -> int:
        """Take one token; return 0, or the whole seconds until the client may try again."""
        with self.lock:
            tokens, then = self.buckets.pop(client, (float(self.limit), now))
            tokens = min(float(self.limit), tokens + max(0.0, now - then) * self.rate)
            wait = 0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = max(1, math.ceil((1 - tokens) / self.rate))
            self.buckets[client] = (tokens, now)
            while len(self.buckets) > self.max_clients:
                self.buckets.popitem(last=False)
            return wait


# -- the per-process recorder ---------------------------------------------------------------

class _Lru(OrderedDict):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def put(self, key, value) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)


class _KeptConnection:
    """A thread's kept connection of the scans' engine, closed (back to the pool) when the thread
    ends and its ``threading.local`` with it, or when the app's engine is disposed."""

    __slots__ = ("conn", "__weakref__")

    def __init__(self, conn: Connection):
        self.conn: Connection | None = conn

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing down or replacing it anyway
                log.debug("closing a scans connection failed", exc_info=True)

    __del__ = close


class _Recorder:
    """One per app and process: the scan buffer, its flushing thread, and the caches."""

    def __init__(self, engine: Engine, config):
        self.engine = engine  # the app's: when it is disposed, the buffer is written
        self.writer = scan_engine(engine)
        self.thresholds = scan_rules.Thresholds.from_config(config)
        self.alert_window = timedelta(seconds=self.thresholds.window)
        self.regions_recorded = bool(config.get("SCAN_ALERT_REGION_HEADER"))
        self.interval = float(config["SCAN_FLUSH_INTERVAL"])
        self.batch_rows = int(config["SCAN_FLUSH_ROWS"])
        recent = (Scan.batch_id == bindparam("batch_id"), Scan.scanned_at >= bindparam("since"))
        self.recent_clients = select(Scan.client).distinct().where(*recent).limit(self.thresholds.clients)
        self.recent_regions = (select(Scan.region).distinct().where(*recent, Scan.region.is_not(None))
                               .limit(self.thresholds.regions))
        self._reset()
        event.listen(engine, "engine_disposed", self._disposed)

    def _reset(self) -> None:
        self.lock = threading.Lock()  # the buffer and caches; never held across a database call
        self.flush_lock = threading.Lock()  # one flush at a time
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.pending: list[dict] = []
        self.in_flight: list[dict] = []
        self.unflushed: dict[int, int] = {}  # batch id -> its scans buffered here (pending or in flight)
        self.firsts: _Lru = _Lru(MAX_CACHED)  # batch id -> first scan this process claimed (naive UTC)
        self.visits: _Lru = _Lru(MAX_CACHED)  # (batch id, client, period) of the scans buffered here
        self.client_codes: _Lru = _Lru(MAX_CACHED)  # client -> (period, the codes it looked up in it)
        self.local = threading.local()  # kept: the thread's _KeptConnection (see _kept_connection)
        self.kept: weakref.WeakSet[_KeptConnection] = weakref.WeakSet()

    # first scans

    def first_scan(self, batch_id: int, moment: datetime, recorded: datetime | None) -> datetime:
        if recorded is not None:
            return recorded
        with self.lock:
            found = self.firsts.get(batch_id)
            if found is None:  # the first scan of the code that this process knows of: claim it
                found = moment
                self.firsts.put(batch_id, moment)
        return found

    def known(self, batch_id: int, recorded: datetime | None, stored: int) -> tuple[datetime | None, int]:
        """Return the code's first scan and count as known here, without a scan of this view."""
        with self.lock:
            first = recorded if recorded is not None else self.firsts.get(batch_id)
            return first, stored + self.unflushed.get(batch_id, 0)

    def looks_automated(self, client: str, batch_id: int, period: int) -> bool:
        """Note that ``client`` looked up the code in ``period``; return whether it has looked up more
        than SCAN_ALERT_CLIENT_CODES codes in it. Per process: with several workers a script is
        caught after up to that many codes in each."""
        limit = self.thresholds.client_codes
        with self.lock:
            seen = self.client_codes.get(client)
            if seen is None or seen[0] != period:
                seen = (period, set())
            if len(seen[1]) <= limit:  # past the limit the set stops growing
                seen[1].add(batch_id)
            self.client_codes.put(client, seen)
            return len(seen[1]) > limit

    def on_writer(self, work: Callable[[Connection], T]) -> T:
        for attempt in (1, 2):  # a connection the database dropped is replaced once (no ping per use)
            conn = self._kept_connection()
            try:
                result = work(conn)
            except DBAPIError as exc:
                self._drop_kept()
                if attempt == 2 or not exc.connection_invalidated:
                    raise
                continue
            except BaseException:
                self._drop_kept()
                raise
            if conn.in_transaction():  # SQLite: end the read, so the next one sees what was written since
                conn.rollback()
            return result
        raise AssertionError("unreachable")

    def _kept_connection(self) -> Connection:
        """Return this thread's connection, kept open between uses: checking one out of the pool and
        back costs as much as the consumer page's statement. On PostgreSQL outside a transaction."""
        kept = getattr(self.local, "kept", None)
        conn = kept.conn if kept is not None else None
        if conn is None or conn.closed or conn.invalidated:
            conn = self.writer.connect()
            if self.writer.dialect.name == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT")
            kept = self.local.kept = _KeptConnection(conn)
            with self.lock:
                self.kept.add(kept)
        return conn

    def _drop_kept(self) -> None:
        kept = getattr(self.local, "kept", None)
        self.local.kept = None
        if kept is not None:
            kept.close()

    # the buffer

    def add(self, row: dict, stored: int) -> int:
        """Buffer one scan row, unless this process buffered the client's scan of the code in the
        same period; return the code's count: ``stored``, as read, and this process's buffered ones."""
        batch_id = row["batch_id"]
        visit = (batch_id, row["client"], row["period"])
        with self.lock:
            buffered = self.unflushed.get(batch_id, 0)
            if visit in self.visits:  # counted once per period
                return stored + buffered
            self.visits.put(visit, True)
            self.pending.append(row)
            buffered = self.unflushed[batch_id] = buffered + 1
            self._wake()
        return stored + buffered

    def add_page(self, page: dict) -> None:
        """Buffer a rendered page to store with the next flush (``stored_pages.page_row``)."""
        with self.lock:
            self.pending.append({"page": page})
            self._wake()

    def _wake(self) -> None:
        if len(self.pending) >= self.batch_rows:
            self.wake.set()
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="traceapp-scans", daemon=True)
            self.thread.start()

    def judge(self, batch_id: int, count: int, moment: datetime) -> str | None:
        """Return why the code's scans look unusual (``scan_rules.why_unusual``), or None."""
        rules = self.thresholds
        if count < min(rules.clients, rules.regions if self.regions_recorded else rules.clients):
            return None  # fewer scans than the clients or regions a rule needs
        since = moment - self.alert_window
        # Buffered rows first: a row flushed meanwhile is then in the table, and a set counts it once.
        with self.lock:
            recent = [r for r in (*self.in_flight, *self.pending)
                      if r.get("batch_id") == batch_id and r["scanned_at"] >= since]
        clients = {r["client"] for r in recent}
        regions = {r["region"] for r in recent if r["region"] is not None}
        params = {"batch_id": batch_id, "since": since}
        clients.update(self.on_writer(lambda conn: conn.scalars(self.recent_clients, params).all()))
        if len(clients) < rules.clients and self.regions_recorded:
            regions.update(self.on_writer(lambda conn: conn.scalars(self.recent_regions, params).all()))
        return scan_rules.why_unusual(len(clients), len(regions), rules)

    def flush(self) -> int:
        """Write the buffered scans and their codes' first scans and counts in one transaction;
        return the scans written. On failure keep them (up to MAX_PENDING) and raise."""
        with self.flush_lock:
            with self.lock:
                rows, self.pending = self.pending, []
                self.in_flight = rows
            if not rows:
                return 0
            pages = [row["page"] for row in rows if "page" in row]
            rows = [row for row in rows if "batch_id" in row]
            try:
                if rows:
                    with self.writer.begin() as conn:
                        _write(conn, rows)
                with self.lock:
                    for row in rows:
                        self.unflushed[row["batch_id"]] -= 1
                    self.unflushed = {k: v for k, v in self.unflushed.items() if v}
                    self.in_flight = []
            except BaseException:
                with self.lock:  # the pages go: the next view renders its own
                    kept = rows + [row for row in self.pending if "batch_id" in row]
                    for row in kept[:max(0, len(kept) - MAX_PENDING)]:
                        self.unflushed[row["batch_id"]] -= 1
                    self.pending, self.in_flight = kept[-MAX_PENDING:], []
                raise
            self._store_pages(pages)
            return len(rows)

    def _store_pages(self, pages: list[dict]) -> None:
        """Store the pages the flushed views rendered, in a transaction of their own: a page that
        cannot be stored is only rendered again, a scan that could not be written would be lost."""
        if not pages:
            return
        try:
            with self.writer.begin() as conn:
                stored_pages.store(conn, pages)
        except Exception:  # noqa: BLE001 - a derived page; its next view renders it again
            log.exception("could not store %d rendered consumer pages", len(pages))

    def _run(self) -> None:
        while True:
            self.wake.wait(self.interval)
            self.wake.clear()
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the rows stay buffered; try again next time
                log.exception("could not write %d buffered scans", len(self.pending))
            with self.lock:
                if not self.pending:  # idle: stop; the next scan starts a new thread
                    self.thread = None
                    return

    def stop(self) -> None:
        thread = self.thread
        if thread is not None:
            self.wake.set()
            thread.join(timeout=10)
        self.flush()

    def _disposed(self, engine: Engine) -> None:
        # The app is closing its connections (a test's end, a worker's shutdown): write what
        # is buffered now, while the database is the one these rows belong to.
        try:
            self.flush()
        except Exception:  # noqa: BLE001
            log.exception("could not write buffered scans")
        with self.lock:
            kept = list(self.kept)
        for each in kept:
            each.close()
        self.writer.dispose()

    def after_fork(self) -> None:
        # The parent's buffer, locks, thread and connections are not ours: its process writes its own
        # rows. Its kept connections are kept for good: closed or collected here, they would end the
        # parent's sessions.
        _FORKED_AWAY.extend(list(self.kept))
        self._reset()
        self.writer.dispose(close=False)


def scan_engine(app_engine: Engine) -> Engine:
    """Return an engine of the scans' own on the app's database, whose commits do not wait for the
    disk (PostgreSQL ``synchronous_commit=off``; SQLite ``synchronous=NORMAL`` in WAL mode, which
    leaves the ledger's FULL commits as durable as before), and whose PostgreSQL plans look rows up
    by key (``enable_seqscan=off``)."""
    if app_engine.dialect.name == "postgresql":
        # Every statement here finds rows by key. A prepared statement's cached generic plan is made
        # once, from the sizes of the moment: with first_scans nearly empty it scanned the whole
        # table, and each view got slower as scans came in, until an ANALYZE (never, with autovacuum
        # off). Without sequential scans the plan is an index lookup whatever the sizes.
        return create_engine(app_engine.url,
                             connect_args={"options": "-c synchronous_commit=off -c enable_seqscan=off"})
    engine = create_engine(app_engine.url)
    configure_engine(engine)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        # The consumer page reads here too: a page's rows are all over a big file, and reading them
        # through a mapping saves a system call per page of the file (writes still go through the WAL).
        dbapi_connection.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")

    return engine


def _recorder(app: Flask) -> _Recorder:
    recorder = app.extensions.get(_EXT)
    if recorder is None:
        with _CREATING:
            recorder = app.extensions.get(_EXT)
            if recorder is None:
                recorder = _Recorder(app.extensions["traceapp.db"].engine, app.config)
                _RECORDERS.add(recorder)
                app.extensions[_EXT] = recorder
    return recorder


_CREATING = threading.Lock()
_FORKED_AWAY: list[_KeptConnection] = []


def _flush_all() -> None:
    for recorder in list(_RECORDERS):
        try:
            recorder.flush()
        except Exception:  # noqa: BLE001 - exiting: report and go on
            log.exception("could not write buffered scans at exit")


def _after_fork() -> None:
    global _CREATING
    _CREATING = threading.Lock()
    for recorder in list(_RECORDERS):
        recorder.after_fork()


atexit.register(_flush_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


# -- helpers --------------------------------------------------------------------------------

def _salt(app: Flask) -> bytes:
    salt = app.extensions.get(f"{_EXT}.salt")
    if salt is None:
        salt = read_or_create(Path(app.instance_path) / SALT_FILE, lambda: secrets.token_bytes(32))
        app.extensions[f"{_EXT}.salt"] = salt
    return salt


def _network(address: str) -> str:
    try:  # the common case, a dotted IPv4 address, in C
        return socket.inet_ntop(socket.AF_INET, socket.inet_pton(socket.AF_INET, address))
    except OSError:
        pass
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return address[:64]
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _family(agent: str, families, default: str) -> str:
    return next((name for name, marks in families if any(mark in agent for mark in marks)), default)


def _flag(value) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"))


def _naive_utc(moment: datetime | None) -> datetime:
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _local_time(moment: datetime) -> str:
    """Return ``moment`` in the deployment's zone as ``YYYY-MM-DD HH:MM (UTC+8)``."""
    return clock.local_time(moment)


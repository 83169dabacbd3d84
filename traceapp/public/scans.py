"""Scans of consumer pages: who looked (a salted hash of the address, never the address), coarse
client hints, each code's first scan (atomic across workers and machines), how many scans so far,
whether that looks unusual, and a per-client rate limit.

How a scan arrives: the consumer page's script posts ``/t/<code>/scans`` when the page is shown
(``views.record``); the page itself (``GET``) writes nothing, so any cache may keep it::

    client = scans.client_id(request)
    scans.check_rate(client)                      # TooManyRequests (429, Retry-After) past the limit
    summary = scans.record_scan(batch_id, client, scans.client_hints(request),
                                signed_in=..., region=scans.client_region(request))
    alert = scans.scan_alert(summary)  # "存在异常查询记录，建议核对购买渠道。" when summary.anomalous

Which scans count and what is unusual: ``scan_rules``. An uncounted scan (signed in, before the
labels were printed, a script) is told the record and writes nothing.

Each counted scan is one short transaction on the write database: its row (one per client, code and
period: ``INSERT … ON CONFLICT DO NOTHING``) and its code's ``first_scans`` row (``INSERT … ON
CONFLICT DO UPDATE``: the code's first scan unless one is stored, and its count), which returns the
stored first scan and count. However many workers race for a code's first scan, one is stored and
every racer is told that one. Scans are operational records, not ledger facts.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import math
import re
import secrets
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import Connection, bindparam, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from traceapp.errors import TooManyRequests
from traceapp.i18n import gettext as _
from traceapp.i18n import ngettext
from traceapp.instance_files import read_or_create
from traceapp.ledger.store import WRITE_OPTION
from traceapp.public import scan_rules
from traceapp.public.models import FirstScan, Scan
from traceapp.records.models import LabelPrint

SALT_FILE = "scan_salt"
HINTS_MAX = 120
HINTS_HEADER_MAX = 1024  # of User-Agent and Accept-Language read for the hints (a WeChat agent is ~300)
MAX_CACHED = 100_000  # clients remembered per worker (rate buckets, codes looked up)
_EXT = "traceapp.scans"


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

def record_scan(batch_id: int, client: str, hints: str, now: datetime | None = None, *, signed_in: bool = False,
                region: str | None = None) -> ScanSummary:
    """Record one scan of the batch's code, if it counts, in one transaction, and return what the page
    should say about the code's scans.

    A scan counts unless ``signed_in``, before the batch's labels were printed, or from a client that
    looked up more than SCAN_ALERT_CLIENT_CODES codes within the window (``scan_rules``); a client's
    scans of a code count once per window. Call inside an app context.
    """
    moment = _naive_utc(now)
    rules = _rules(current_app)
    period = scan_rules.period_of(moment, rules.thresholds.window)
    automated = not signed_in and rules.looks_automated(client, batch_id, period)
    engine = current_app.extensions["traceapp.db"].engine
    # BEGIN IMMEDIATE on SQLite: a deferred transaction that read first could not take the write lock later.
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
        printed = conn.scalar(select(exists().where(LabelPrint.batch_id == batch_id)))
        uncounted = scan_rules.why_uncounted(signed_in=signed_in, labels_printed=bool(printed), automated=automated)
        if uncounted is None:
            added = len(conn.execute(_insert(conn).on_conflict_do_nothing(
                index_elements=["batch_id", "client", "period"]).returning(Scan.id),
                {"batch_id": batch_id, "scanned_at": moment, "client": client, "hints": hints[:HINTS_MAX],
                 "period": period, "region": region}).all())
            first = conn.execute(_claim(conn), {"batch_id": batch_id, "scanned_at": moment, "client": client,
                                                "scan_count": added}).one()
        else:
            first = conn.execute(select(FirstScan.scanned_at, FirstScan.scan_count)
                                 .where(FirstScan.batch_id == batch_id)).one_or_none()
        first_at, count = (first.scanned_at, first.scan_count or 0) if first is not None else (None, 0)
        why = rules.judge(conn, batch_id, count, moment)
    return ScanSummary(first_at.replace(tzinfo=UTC) if first_at is not None else None, count, why is not None,
                       why, uncounted)


def _insert(conn: Connection):
    """``INSERT INTO scans`` in the connection's dialect (both have ON CONFLICT)."""
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(Scan)


def _claim(conn: Connection):
    """The code's first_scans row: this scan unless one is stored, its count raised by ``scan_count``
    (0 when the client's scan in this period was stored before); returns the stored first scan and count."""
    statement = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(FirstScan)
    return (statement.on_conflict_do_update(index_elements=["batch_id"],
                                            set_={"scan_count": FirstScan.scan_count + statement.excluded.scan_count})
            .returning(FirstScan.scanned_at, FirstScan.scan_count))


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
        raise TooManyRequests(ngettext("查询过于频繁，请 %(num)d 秒后再试。",
                                       "查询过于频繁，请 %(num)d 秒后再试。", wait), retry_after=wait)


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


# -- the per-process rules ------------------------------------------------------------------

class _Lru(OrderedDict):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def put(self, key, value) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)


class _Rules:
    """One per app and process: the thresholds, the statements that judge a code's recent scans, and
    which codes each client looked up in the current period (to tell a script)."""

    def __init__(self, config):
        self.thresholds = scan_rules.Thresholds.from_config(config)
        self.alert_window = timedelta(seconds=self.thresholds.window)
        self.regions_recorded = bool(config.get("SCAN_ALERT_REGION_HEADER"))
        recent = (Scan.batch_id == bindparam("batch_id"), Scan.scanned_at >= bindparam("since"))
        self.recent_clients = select(Scan.client).distinct().where(*recent).limit(self.thresholds.clients)
        self.recent_regions = (select(Scan.region).distinct().where(*recent, Scan.region.is_not(None))
                               .limit(self.thresholds.regions))
        self.lock = threading.Lock()
        self.client_codes: _Lru = _Lru(MAX_CACHED)  # client -> (period, the codes it looked up in it)

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

    def judge(self, conn: Connection, batch_id: int, count: int, moment: datetime) -> str | None:
        """Return why the code's scans look unusual (``scan_rules.why_unusual``), or None."""
        rules = self.thresholds
        if count < min(rules.clients, rules.regions if self.regions_recorded else rules.clients):
            return None  # fewer scans than the clients or regions a rule needs
        params = {"batch_id": batch_id, "since": moment - self.alert_window}
        clients = len(conn.scalars(self.recent_clients, params).all())
        regions = 0
        if clients < rules.clients and self.regions_recorded:
            regions = len(conn.scalars(self.recent_regions, params).all())
        return scan_rules.why_unusual(clients, regions, rules)


def _rules(app: Flask) -> _Rules:
    rules = app.extensions.get(_EXT)
    if rules is None:
        with _CREATING:
            rules = app.extensions.get(_EXT)
            if rules is None:
                rules = app.extensions[_EXT] = _Rules(app.config)
    return rules


_CREATING = threading.Lock()


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


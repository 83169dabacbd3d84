"""Consumer pages kept rendered, one per batch and language (``consumer_pages``), served with their
live parts filled in.

Rendering the consumer page on every view kept it at 0.39-0.49 of a bare page's throughput: its
cost is spread over reading a dozen tables, building dicts and the template. What a page shows of
its batch changes only when something is written, so each page is kept as rendered for an
anonymous viewer, with a marker (``SCANS_MARKER``) where the scan sentence goes. A view reads it
in one statement with the live parts: the code's first scan and count, its state and its latest
recall entry; a page whose code is not active or which is recalled is rendered in full, as is a
page of a signed-in viewer or one with a query string other than ``lang``.

A stored page is right while:

- no write has changed what it shows: every transaction that changes a batch, its inputs,
  inspections, 合格证 or corrections, an organization or its certificates, a brand or a licence
  sets the pages it touches to NULL before it commits (``install``). It also raises ``consumer_page_epoch``;
  a page is stored with the epoch its rows were read at and never over a mark of a later one, so
  a view that read the rows before such a write committed cannot store a stale page over its mark;
- the day is not past ``valid_through``: a certificate or licence shown as valid shows as expired
  the day after it runs out;
- it was rendered by this release: ``release`` stamps the code, templates, static files,
  translations and ledger key that made it.

A pooled or processed batch's page shows its sources, so a write to a batch or an organization also
marks the pages of the batches made from its batches, up to the depth a page shows. A page warns of a
recalled source at any depth, so a recall or its lifting marks the pages of every batch made from the
batch, at any depth; a page with a recalled source is rendered on each view, never stored. A page is
stored by the scans' writer with the scan of a view that rendered it (off the page's path), or
built ahead: when the batch's labels are printed, or by ``flask db consumer-pages``.
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from flask import Flask, current_app, render_template, request
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import Connection, bindparam, event, text
from sqlalchemy.orm import Session

import traceapp
from traceapp import clock, db
from traceapp.brands.models import Brand, License
from traceapp.i18n import TRANSLATIONS
from traceapp.public.consumer import SOURCE_DEPTH, one_row, read_consumer_page
from traceapp.records.models import (
    Batch,
    BatchCorrection,
    BatchInput,
    Certification,
    ComplianceCertificate,
    Inspection,
    Organization,
)
from traceapp.records.recalls import LIFTED, RECALLED, recalls_changed

LANGUAGES = ("zh", "en")
SCANS_MARKER = "<!--traceapp:scans-->"  # escaped wherever text from a record is shown, so only the template has it
BUILD_CHUNK = 500  # pages stored per statement by ``build``
_TOUCHED = "traceapp.stored_pages.touched"
_RELEASE = "traceapp.stored_pages.release"


@dataclass(frozen=True)
class Served:
    """What a view reads for a code: the batch, its first scan and count on record, and its stored
    page when one can be served (None otherwise)."""

    batch_id: int
    first_scan: datetime | None
    scan_count: int
    html: str | None
    labels_printed: bool = False


# -- reading --------------------------------------------------------------------------------------

# A stored page of batch b this release may serve today ({lang}, {release}, {today}: parameters).
_SERVABLE = ("p.batch_id = b.id AND p.lang = {lang} AND p.html IS NOT NULL AND p.release = {release} "
             "AND (p.valid_through IS NULL OR p.valid_through >= {today})")
# One statement per view. The live parts are correlated subqueries, as in consumer._CONSUMER_SQL.
_READ_SQL = f"""
SELECT b.id,
       (SELECT fs.scanned_at FROM first_scans fs WHERE fs.batch_id = b.id),
       (SELECT fs.scan_count FROM first_scans fs WHERE fs.batch_id = b.id),
       (SELECT p.html FROM consumer_pages p WHERE {_SERVABLE}),
       (SELECT cs.state FROM code_states cs WHERE cs.batch_id = b.id),
       (SELECT e.kind FROM ledger_entries e
         WHERE e.subject = 'batch:' || b.code AND e.kind IN ('{RECALLED}', '{LIFTED}')
         ORDER BY e.seq DESC LIMIT 1),
       EXISTS (SELECT 1 FROM label_prints lp WHERE lp.batch_id = b.id)
  FROM batches b
 WHERE b.code = {{code}}
"""


@functools.cache
def _read_statement(dialect: str) -> str:
    style = {"sqlite": ":{}", "postgresql": "%({})s"}[dialect]
    return _READ_SQL.format(**{name: style.format(name) for name in ("lang", "release", "today", "code")})


def read(conn: Connection, canonical_code: str, lang: str, release: str, today: date) -> Served | None:
    """Return what a view of the code (already normalized) needs, None when there is no such batch."""
    sqlite = conn.dialect.name == "sqlite"
    params = {"code": canonical_code, "lang": lang, "release": release,
              "today": today.isoformat() if sqlite else today}
    row = one_row(conn, _read_statement(conn.dialect.name), params)
    if row is None:
        return None
    batch_id, first, count, html, state, recall_kind, printed = row
    if isinstance(first, str):  # SQLite keeps times as text
        first = datetime.fromisoformat(first)
    servable = html is not None and state in (None, "active") and recall_kind in (None, LIFTED)
    return Served(batch_id, first, count or 0, html if servable else None, bool(printed))


def servable_request() -> bool:
    """Whether this request may be answered with a stored page: an anonymous viewer (a signed-in
    one sees their name and a CSRF token) and no query parameter but ``lang`` (the language link
    keeps the others)."""
    if any(name != "lang" for name in request.args):
        return False
    return not signed_in()


def signed_in() -> bool:
    """Whether a user is signed in for this request (most scans: known without loading a session)."""
    return _may_be_signed_in() and current_user.is_authenticated


def _may_be_signed_in() -> bool:
    """Whether the request carries what signs a viewer in: a session or remember-me cookie, or a
    bearer token (``traceapp.auth``)."""
    config = current_app.config
    cookies = request.cookies
    return (config["SESSION_COOKIE_NAME"] in cookies or config.get("REMEMBER_COOKIE_NAME", "remember_token") in cookies
            or "Authorization" in request.headers)


def storable(view: dict) -> bool:
    """Whether a rendered page of this view may be stored: an active code, no recall of the batch and
    none of its sources (such pages are rare and must show the banner at once)."""
    return view["code_state"]["state"] == "active" and view["recall"] is None and not view["recalled_sources"]


def valid_through(view: dict) -> date | None:
    """The last day the page of ``view`` stays right: that of the earliest certificate or licence it
    shows as valid (the day after, it shows as expired); None when nothing it shows runs out."""
    ends = [date.fromisoformat(cert["valid_to"]) for cert in view["certifications"] if cert["status"] == "valid"]
    licence = (view.get("claim") or {}).get("license")
    if licence and not licence["ended_on"]:
        ends.append(date.fromisoformat(licence["valid_to"]))
    return min(ends, default=None)


# -- release --------------------------------------------------------------------------------------

def release(app: Flask | None = None) -> str:
    """The stamp of what renders a page here: the code, templates, static files and translations of
    this installation, its ledger key and the URL prefix it is served under."""
    app = app or current_app
    stamps = app.extensions.setdefault(_RELEASE, {})
    prefix = request.script_root
    stamp = stamps.get(prefix)
    if stamp is None:
        digest = hashlib.sha256(_files_digest(str(Path(app.root_path, app.template_folder)), app.static_folder))
        digest.update(app.extensions["traceapp.db"].ledger.verifier.encode().encode())
        digest.update(prefix.encode())
        stamp = stamps[prefix] = digest.hexdigest()[:32]
    return stamp


@functools.cache
def _files_digest(templates: str, static: str) -> bytes:
    folders = [(Path(traceapp.__file__).parent, "*.py"), (Path(templates), "*"), (Path(static), "*"),
               (TRANSLATIONS, "*.po")]
    digest = hashlib.sha256()
    for folder, pattern in folders:
        folder = folder.resolve()
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is missing: the consumer pages' release stamp reads it")
        for path in sorted(folder.rglob(pattern)):
            if path.is_file():
                digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.digest()


# -- storing --------------------------------------------------------------------------------------

_STORE = text("INSERT INTO consumer_pages (batch_id, lang, html, version, release, valid_through) "
              "VALUES (:batch_id, :lang, :html, :version, :release, :valid_through) "
              "ON CONFLICT (batch_id, lang) DO UPDATE SET html = excluded.html, version = excluded.version, "
              "release = excluded.release, valid_through = excluded.valid_through "
              "WHERE consumer_pages.version <= excluded.version")


def page_row(batch_id: int, lang: str, html: str, version: int, view: dict) -> dict:
    """The row that stores a rendered page (``html`` with SCANS_MARKER) read at page epoch ``version``."""
    return {"batch_id": batch_id, "lang": lang, "html": html, "version": version, "release": release(),
            "valid_through": valid_through(view)}


def store(conn: Connection | Session, rows: list[dict]) -> None:
    """Store rendered pages (``page_row``), each unless a write marked it at a later epoch."""
    if rows:
        conn.execute(_STORE, rows)


# -- marking --------------------------------------------------------------------------------------

_WHERE = {"batches": "b.id IN :keys",
          "organizations": "b.organization_id IN :keys",
          "brands": "b.brand IN :keys",
          "licences": "b.brand IN (SELECT slug FROM brands WHERE id IN :brands) AND b.organization_id IN :keys"}
# Scopes whose batches show as sources on the pages of the batches made from them: a batch and its
# inputs, an organization (its name and demo flag) up to SOURCE_DEPTH levels; a batch recalled or
# lifted at every depth (the recall banner names a recalled source however deep). (base scope, depth)
_SOURCES_SHOWN = {"batches_up": ("batches", SOURCE_DEPTH), "organizations_up": ("organizations", SOURCE_DEPTH),
                  "recalls_up": ("batches", None)}
_LANGUAGE_ROWS = " UNION ALL ".join(f"SELECT '{lang}' AS lang" for lang in LANGUAGES)


@functools.cache
def _mark_statement(scope: str):
    """Set the pages of the batches in ``scope`` (a key of _WHERE or _SOURCES_SHOWN) to NULL at the
    current epoch, inserting the rows missing: a view that read the batch before this commit stores
    nothing then."""
    base_scope, depth = _SOURCES_SHOWN.get(scope, (scope, None))
    base = _WHERE[base_scope]
    if scope in _SOURCES_SHOWN and depth is None:
        # UNION keeps each batch once, so a diamond ends; registration takes only earlier batches (no cycle).
        touched = ("WITH RECURSIVE touched(id) AS (\n"
                   f"  SELECT b.id FROM batches b WHERE {base}\n"
                   "  UNION SELECT bi.batch_id FROM batch_inputs bi JOIN touched t ON bi.input_id = t.id)\n")
        rows = "touched b"
        base = "true"
    elif scope in _SOURCES_SHOWN:
        touched = ("WITH RECURSIVE touched(id, depth) AS (\n"
                   f"  SELECT b.id, 0 FROM batches b WHERE {base}\n"
                   "  UNION SELECT bi.batch_id, t.depth + 1 FROM batch_inputs bi JOIN touched t ON bi.input_id = t.id\n"
                   f"   WHERE t.depth < {depth})\n")
        rows = "(SELECT DISTINCT id FROM touched) b"
        base = "true"
    else:
        touched, rows = "", "batches b"
    statement = text(f"{touched}INSERT INTO consumer_pages (batch_id, lang, html, version)\n"
                     "SELECT b.id, l.lang, NULL, (SELECT epoch FROM consumer_page_epoch WHERE id = 1)\n"
                     f"  FROM {rows} CROSS JOIN ({_LANGUAGE_ROWS}) l\n WHERE {base}\n"
                     "ON CONFLICT (batch_id, lang) DO UPDATE SET html = NULL, version = excluded.version")
    return statement.bindparams(bindparam("keys", expanding=True),
                                *([bindparam("brands", expanding=True)] if scope == "licences" else []))


_RAISE_EPOCH = text("UPDATE consumer_page_epoch SET epoch = epoch + 1 WHERE id = 1")


def mark(conn: Connection | Session, batches: Iterable[int] = (), organizations: Iterable[int] = (),
         brands: Iterable[str] = (), licences: Iterable[tuple[int, int]] = (), batches_up: Iterable[int] = (),
         organizations_up: Iterable[int] = (), recalls_up: Iterable[int] = ()) -> None:
    """Mark unbuilt the pages of these batches, of the batches these organizations produced, of those
    claiming these brands (slugs) and of those a (licensee id, brand id) licence covers; with
    ``batches_up`` and ``organizations_up``, also those of the batches made from them (whose pages
    show them as sources); with ``recalls_up`` (batches recalled or lifted), those of every batch made
    from them at any depth."""
    by_scope = {"batches": sorted(set(batches) - set(batches_up)), "batches_up": sorted(set(batches_up)),
                "recalls_up": sorted(set(recalls_up)),
                "organizations": sorted(set(organizations) - set(organizations_up)),
                "organizations_up": sorted(set(organizations_up)), "brands": sorted(set(brands))}
    licences = sorted(set(licences))
    if not any(by_scope.values()) and not licences:
        return
    conn.execute(_RAISE_EPOCH)
    for scope, keys in by_scope.items():
        if keys:
            conn.execute(_mark_statement(scope), {"keys": keys})
    for licensee, brand_id in licences:
        conn.execute(_mark_statement("licences"), {"keys": [licensee], "brands": [brand_id]})


def _touched_by(obj) -> tuple[str, object] | None:
    """(scope, key) of the pages a changed row ``obj`` touches, or None."""
    if isinstance(obj, Batch):
        return "batches_up", obj.id
    if isinstance(obj, BatchInput):
        return "batches_up", obj.batch_id
    if isinstance(obj, Inspection | ComplianceCertificate | BatchCorrection):
        return "batches", obj.batch_id
    if isinstance(obj, Organization):
        return "organizations_up", obj.id
    if isinstance(obj, Certification):
        return "organizations", obj.holder_id
    if isinstance(obj, Brand):
        return "brands", obj.slug
    if isinstance(obj, License):
        return "licences", (obj.licensee_id, obj.brand_id)
    return None


def install(session_factory) -> None:
    """Make every session from ``session_factory`` mark unbuilt, in its transaction, the pages its
    flushed changes touch (a key lookup each; a batch it registers has no page to mark)."""

    @event.listens_for(session_factory, "after_flush")
    def _collect(session, _context):
        touched = session.info.setdefault(_TOUCHED, {})
        for obj in (*session.new, *session.dirty, *session.deleted):
            found = _touched_by(obj)
            if found is not None:
                touched.setdefault(found[0], set()).add(found[1])
        touched.setdefault("created", set()).update(obj.id for obj in session.new if isinstance(obj, Batch))

    @event.listens_for(session_factory, "before_commit")
    def _mark(session):
        session.flush()  # commit flushes after this hook: collect what it would flush now
        touched = session.info.pop(_TOUCHED, None) or {}
        recalled = recalls_changed(session)
        if recalled:
            touched["recalls_up"] = recalled
        if not touched:
            return
        created = touched.pop("created", set())  # no page yet, nor any made from them
        for scope in ("batches", "batches_up"):
            touched[scope] = touched.get(scope, set()) - created
        mark(session, **touched)

    @event.listens_for(session_factory, "after_commit")
    @event.listens_for(session_factory, "after_rollback")
    def _forget(session):
        session.info.pop(_TOUCHED, None)
        recalls_changed(session)


# -- building ahead and checking ------------------------------------------------------------------

def render(app: Flask, conn: Connection, code: str, lang: str, today: date | None = None):
    """Render the stored form of a batch's page as an anonymous viewer would get it in ``lang``, at
    the URL prefix of TRACEAPP_PUBLIC_URL; return its ``page_row``, or None when there is no such
    batch or its page is not stored."""
    # An app context of its own: ``g`` keeps the signed-in user (a label print's request calls this)
    # and the request's catalog (a CLI command renders both languages), which a request context
    # pushed inside the caller's app context would share.
    with app.app_context(), app.test_request_context(f"/t/{code}", base_url=_base_url(app),
                                                     query_string={"lang": lang}):
        page = read_consumer_page(conn, code, today)
        if page is None or not storable(page.view):
            return None
        html = render_page(page.view)
        return page_row(page.batch_id, lang, html, page.page_version, page.view)


def render_page(view: dict) -> str:
    """The consumer page of ``view`` for this request, with SCANS_MARKER for the scan sentence."""
    return render_template("public/trace.html", batch=view, key=db.ledger().verifier.encode(),
                           scans_marker=Markup(SCANS_MARKER))


def _base_url(app: Flask) -> str:
    return app.config.get("TRACEAPP_PUBLIC_URL") or "http://localhost"


def _candidates(conn: Connection, lang: str, release_stamp: str, today: date, rebuild: bool,
                chunk: int, part: tuple[int, int]) -> Iterator[list[str]]:
    """Codes of batches, ``chunk`` at a time, in id order: those without a servable page, or all of
    them with ``rebuild``; of ``part`` (k, n), those whose id is k modulo n."""
    servable = _SERVABLE.format(lang=":lang", release=":release", today=":today")
    missing = "" if rebuild else f" AND NOT EXISTS (SELECT 1 FROM consumer_pages p WHERE {servable})"
    statement = text("SELECT b.id, b.code FROM batches b WHERE b.id > :after AND b.id % :parts = :part"
                     f"{missing} ORDER BY b.id LIMIT :chunk")
    after = 0
    while True:
        rows = conn.execute(statement, {"after": after, "lang": lang, "release": release_stamp, "today": today,
                                        "chunk": chunk, "part": part[0], "parts": part[1]}).all()
        if conn.in_transaction():
            conn.rollback()  # SQLite: end the read, so the next one sees what was stored since
        if not rows:
            return
        after = rows[-1][0]
        yield [code for _id, code in rows]


def store_ahead(app: Flask, code: str) -> int:
    """Render and store a batch's pages in every language now: when its labels are printed, its
    code is about to be scanned. Return how many were stored."""
    engine = db.database().engine
    with engine.connect() as reader:
        rows = [row for lang in LANGUAGES if (row := render(app, reader, code, lang))]
    with engine.begin() as writer:
        store(writer, rows)
    return len(rows)


def build(app: Flask, languages: Iterable[str] = LANGUAGES, rebuild: bool = False, chunk: int = BUILD_CHUNK,
          today: date | None = None, part: tuple[int, int] = (0, 1)) -> int:
    """Render and store the pages of the batches without a servable one (every batch's with
    ``rebuild``) in ``languages``, of those whose id is k modulo n for ``part`` (k, n); return how
    many were stored."""
    today = today or clock.today()
    engine = db.database().engine
    stored = 0
    stamp = _public_release(app)
    with engine.connect() as reader:
        for lang in languages:
            for codes in _candidates(reader, lang, stamp, today, rebuild, chunk, part):
                rows = [row for code in codes if (row := render(app, reader, code, lang, today))]
                if reader.in_transaction():
                    reader.rollback()
                with engine.begin() as writer:
                    store(writer, rows)
                stored += len(rows)
    return stored


def build_in_processes(jobs: int, languages: Iterable[str], rebuild: bool) -> int:
    """``build`` split over ``jobs`` new processes, each with the app the environment configures
    (as ``flask --app traceapp`` makes it); return how many pages were stored."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no engine or thread crosses a fork
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        parts = [(tuple(languages), rebuild, (k, jobs)) for k in range(jobs)]
        return sum(pool.map(_build_part, parts))


def _build_part(work: tuple[tuple[str, ...], bool, tuple[int, int]]) -> int:
    from traceapp import create_app

    languages, rebuild, part = work
    app = create_app()
    with app.app_context():
        return build(app, languages, rebuild, part=part)


def stale(app: Flask, today: date | None = None, chunk: int = BUILD_CHUNK) -> list[tuple[str, str]]:
    """Return (code, language) of the stored pages this release would serve that differ from a page
    rendered now: what a write behind the services' back leaves. Reads ``chunk`` pages at a time (a
    million pages are gigabytes)."""
    today = today or clock.today()
    found = []
    servable = _SERVABLE.format(lang="p.lang", release=":release", today=":today")
    statement = text("SELECT b.id, b.code, p.lang, p.html FROM consumer_pages p JOIN batches b ON b.id = p.batch_id "
                     f"WHERE (b.id > :after OR (b.id = :after AND p.lang > :after_lang)) AND {servable} "
                     "ORDER BY b.id, p.lang LIMIT :chunk")
    params = {"release": _public_release(app), "today": today, "after": 0, "after_lang": "", "chunk": chunk}
    with db.database().engine.connect() as conn:
        while rows := conn.execute(statement, params).all():
            for _id, code, lang, html in rows:
                row = render(app, conn, code, lang, today)
                if not row or row["html"] != html:
                    found.append((code, lang))
            params["after"], params["after_lang"] = rows[-1][0], rows[-1][2]
            if conn.in_transaction():
                conn.rollback()
    return found


def _public_release(app: Flask) -> str:
    """The release stamp of pages rendered at TRACEAPP_PUBLIC_URL (as ``render`` does)."""
    with app.test_request_context(base_url=_base_url(app)):
        return release(app)

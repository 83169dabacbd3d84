"""The public front door (``/``, its code search ``/find``, the favicon) and the consumer page of a
batch (``/t/<code>`` and ``/t/<code>.json``)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from traceapp import clock, db
from traceapp.auth import csrf
from traceapp.errors import TRACE_NOT_FOUND, DomainError, NotFound
from traceapp.ledger.store import LedgerCheckpoint
from traceapp.public import caching, lookup, scans
from traceapp.public.consumer import ConsumerPage, read_consumer_page, registration_proof

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    """The public front door: find a batch by its 追溯码, or a brand."""
    return render_template("index.html", query="", message=None)


@bp.get("/find")
def find():
    """The front door's code search: 303 to the batch's consumer page, else the front door again with
    the reason beside the field. Rate-limited as the consumer pages are, since it tells whether a code
    exists."""
    scans.check_rate(scans.client_id(request))
    text = request.args.get("code", "")
    try:
        code = lookup.find_code(db.session(), text)
    except DomainError as exc:
        return render_template("index.html", query=text[:lookup.MAX_INPUT], message=exc.message), exc.status
    return redirect(url_for("public.trace", code=code), 303)


@bp.get("/favicon.ico")
def favicon():
    """The icon browsers ask for on their own; the pages link the same SVG."""
    icon = Path(current_app.static_folder, "favicon.svg").read_bytes()
    response = Response(icon, mimetype="image/svg+xml")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


def find_page(code: str) -> ConsumerPage:
    """Return the consumer page of a printed code (any case), or a 404 that says nothing about other
    codes. Reads only: each statement on its own, nothing written."""
    page = read_consumer_page(db.session(), code)
    if page is None:
        raise NotFound(str(TRACE_NOT_FOUND))
    return page


@bp.get("/T/<code>")
def trace_upper(code: str):
    """A consumer page's URL written in capitals (``/T/<CODE>``, ``/T/<CODE>.JSON``), as some label
    software re-encodes a whole URL to make its QR code smaller: 301 to the page."""
    if _json_suffix(code):
        return redirect(url_for("public.trace_json", code=code[:-5]), 301)
    return redirect(url_for("public.trace", code=code), 301)


def _json_suffix(code: str) -> bool:
    return code[-5:].lower() == ".json"


def _signed_in() -> bool:
    """Whether a user is signed in (an anonymous scan, with no session cookie, loads no session)."""
    config = current_app.config
    carries = (config["SESSION_COOKIE_NAME"] in request.cookies or "Authorization" in request.headers
               or config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies)
    return carries and current_user.is_authenticated


def _conditional(tag: str, render) -> Response:
    """304 when the request's If-None-Match holds ``tag`` (nothing rendered), else ``render()``; both
    cacheable by anyone."""
    if request.if_none_match.contains(tag):
        return caching.public(Response(status=304), tag)
    return caching.public(render(), tag)


@bp.get("/t/<code>")
def trace(code: str):
    """The consumer page of one batch: what a QR code on a package opens. Writes nothing: its script
    records the scan (``record``), so the page is the same for every anonymous viewer in a language
    and any cache may keep it."""
    if _json_suffix(code):  # /t/<code>.JSON: the suffix not in lower case (that one routes to trace_json)
        return trace_upper(code)
    scans.check_rate(scans.client_id(request))
    page = find_page(code)
    if _signed_in():  # the page carries the viewer's name and a CSRF token: for them alone
        response = _render(page, signed_in=True)
        response.cache_control.private = True
        response.cache_control.no_store = True
        return response
    return _conditional(caching.etag(page.view, "html", page.labels_printed), lambda: _render(page, signed_in=False))


def _render(page: ConsumerPage, signed_in: bool) -> Response:
    html = render_template("public/trace.html", batch=page.view, key=db.ledger().verifier.encode(),
                           labels_printed=page.labels_printed, signed_in=signed_in)
    return Response(html, mimetype="text/html")


@bp.post("/t/<code>/scans")
@csrf.exempt  # a public endpoint: anyone may record a scan, and a forged one is just a scan (scan_rules)
def record(code: str):
    """Record a scan of the code, as the consumer page's script does when the page is shown; answer
    ``{"first_scan": RFC 3339 in the deployment's zone | null, "count": N, "notice": null | sentence}``."""
    client = scans.client_id(request)
    scans.check_rate(client)
    batch_id = lookup.batch_id_of(db.session(), code)
    if batch_id is None:
        raise NotFound(str(TRACE_NOT_FOUND))
    db.session().close()  # the lookup's read ends here; the scan is a transaction of its own
    summary = scans.record_scan(batch_id, client, scans.client_hints(request), signed_in=_signed_in(),
                                region=scans.client_region(request))
    response = jsonify({"first_scan": clock.local_iso(summary.first_at) if summary.first_at else None,
                        "count": summary.count, "notice": scans.scan_alert(summary)})
    response.cache_control.no_store = True
    return response


@bp.get("/t/<code>.json")
def trace_json(code: str):
    """The consumer page as JSON, with the proof that the batch's registration is in the signed ledger
    (against the latest checkpoint, so its ETag follows the checkpoint's size too)."""
    scans.check_rate(scans.client_id(request))
    page = find_page(code)
    checkpoint = db.session().scalar(select(LedgerCheckpoint.size).order_by(LedgerCheckpoint.size.desc()).limit(1))
    proof = lambda: registration_proof(db.session(), page.view["ledger_seq"])  # noqa: E731
    return _conditional(caching.etag(page.view, "json", checkpoint), lambda: jsonify({**page.view, "proof": proof()}))

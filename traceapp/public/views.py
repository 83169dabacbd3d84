"""The public front door (``/``, its code search ``/find``, the favicon) and the consumer page of a
batch (``/t/<code>`` and ``/t/<code>.json``)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, url_for
from markupsafe import escape

from traceapp import clock, db
from traceapp.errors import TRACE_NOT_FOUND, DomainError, NotFound
from traceapp.i18n import current_language
from traceapp.public import lookup, scans, stored_pages
from traceapp.public.consumer import ConsumerPage, read_consumer_page, registration_proof
from traceapp.records.codes import normalize_code

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
    codes."""
    page = scans.on_scan_connection(lambda conn: read_consumer_page(conn, code))
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


@bp.get("/t/<code>")
def trace(code: str):
    """The consumer page of one batch: what a QR code on a package opens. Each view is a scan.
    Served from its stored rendering when there is one (``stored_pages``), else rendered, and the
    rendering stored with the scan; the scan sentence is filled in on every view."""
    if _json_suffix(code):  # /t/<code>.JSON: the suffix not in lower case (that one routes to trace_json)
        return trace_upper(code)
    client = scans.client_id(request)
    scans.check_rate(client)
    hints = scans.client_hints(request)
    seen = {"signed_in": stored_pages.signed_in(), "region": scans.client_region(request)}
    canonical = normalize_code(code)
    servable = canonical is not None and stored_pages.servable_request()
    if servable:
        today, lang, stamp = clock.today(), current_language(), stored_pages.release()
        served = scans.on_scan_connection(lambda conn: stored_pages.read(conn, canonical, lang, stamp, today))
        if served is None:
            raise NotFound(str(TRACE_NOT_FOUND))
        if served.html is not None:
            summary = scans.record_scan(served.batch_id, client, hints, first_on_record=served.first_scan,
                                        count_on_record=served.scan_count, labels_printed=served.labels_printed,
                                        **seen)
            return _page_response(served.html, summary)
    page = find_page(code)
    html = stored_pages.render_page(page.view)
    keep = (stored_pages.page_row(page.batch_id, current_language(), html, page.page_version, page.view)
            if servable and stored_pages.storable(page.view) else None)
    summary = scans.record_scan(page.batch_id, client, hints, first_on_record=page.first_scan,
                                count_on_record=page.scan_count, page=keep, labels_printed=page.labels_printed,
                                **seen)
    return _page_response(html, summary)


def _page_response(html: str, summary: scans.ScanSummary) -> Response:
    """The page with this view's scan sentence; no-store, since each view is counted."""
    return Response(html.replace(stored_pages.SCANS_MARKER, _scans_paragraph(summary), 1), mimetype="text/html",
                    headers={"Cache-Control": "no-store", "Vary": "Accept-Language"})


def _scans_paragraph(summary: scans.ScanSummary) -> str:
    """What the page says about its code's scans (at stored_pages.SCANS_MARKER). Written here, not in
    a template: Jinja's context for a one-line template cost 0.1 ms a view, an eighth of a stored page's."""
    text = " ".join(escape(sentence) for sentence in scans.scan_sentences(summary))
    alert = scans.scan_alert(summary)
    strong = f' <strong class="alert">{escape(alert)}</strong>' if alert else ""
    return f'<p class="scans" id="scans" data-count="{summary.count}">{text}{strong}</p>'


@bp.get("/t/<code>.json")
def trace_json(code: str):
    """The consumer page as JSON, with the proof that the batch's registration is in the signed ledger.
    Not counted as a scan: the page's own script fetches it."""
    scans.check_rate(scans.client_id(request))
    page = find_page(code)
    response = jsonify({**page.view, "proof": registration_proof(db.session(), page.view["ledger_seq"])})
    response.cache_control.no_cache = True
    return response

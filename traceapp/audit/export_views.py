"""Exports on the regulator's desk: the form at /audit/exports (with the last exports) and the download at
``GET /audit/export?format=csv|xlsx|epcis|bundle&brand=&producer=&region=&from=&to=&recall=``.

A regulator or an admin, logged in (session cookie) or with an API token (``Authorization: Bearer``,
resolved by the API's own :func:`traceapp.api.views.api_user`). Anyone else gets 401 or 403; a bad
filter gets 400 naming the field and the rule (JSON ``{"error": …}`` for token requests, the form with
the error otherwise), and neither writes anything. An accepted export writes one ``export_log`` row
before the first byte and completes it (rows, bytes, status) when the download ends.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, tzinfo

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import select, update

from traceapp import clock, db
from traceapp.api.views import Unauthorized, api_user
from traceapp.audit.export_filters import ExportFilters, parse_filters, parse_format
from traceapp.audit.export_formats import export_chunks
from traceapp.audit.export_labels import (
    SheetLabels,
    filters_text,
    format_text,
    log_status_text,
    sheet_labels,
    via_text,
)
from traceapp.audit.filters import LABELS as FILTER_LABELS
from traceapp.audit.models import ExportLog
from traceapp.audit.verification import now_utc
from traceapp.errors import DomainError, InvalidField, error_response
from traceapp.i18n import current_language
from traceapp.i18n import gettext as _
from traceapp.ledger.store import begin_snapshot
from traceapp.pickers import resolve
from traceapp.records.access import require_role
from traceapp.records.models import PRODUCER_KINDS

log = logging.getLogger(__name__)
bp = Blueprint("audit_exports", __name__, url_prefix="/audit")

MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "epcis": "application/ld+json", "bundle": "application/zip"}
EXTENSIONS = {"csv": "csv", "xlsx": "xlsx", "epcis": "jsonld", "bundle": "zip"}
RECENT = 20
FILTER_FIELDS = ("brand", "producer", "region", "from", "to", "recall")


def _token_request() -> bool:
    return request.headers.get("Authorization", "").startswith("Bearer ")


@bp.errorhandler(DomainError)
def _refused(exc: DomainError):
    if _token_request() or request.accept_mimetypes.best == "application/json":
        response = jsonify({"error": {"code": exc.code, "message": str(exc.message), "fields": exc.fields}})
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="traceapp"'
        return response, exc.status
    return error_response(exc.status, exc.code, exc.message, exc.fields)


def exporting_user():
    """Return (the user, "token" or "session"); raise Unauthorized or Forbidden unless a regulator or admin."""
    if _token_request():
        user, via = api_user(), "token"
    elif current_user.is_authenticated:
        user, via = current_user._get_current_object(), "session"
    else:
        raise Unauthorized(_("导出需要登录监管人员账号，或在请求头中提供监管人员的 API 令牌"
                             "（Authorization: Bearer <令牌>）。"))
    require_role(user, "regulator")
    return user, via


@bp.get("/exports")
def page():
    """The export form with the last exports."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    require_role(current_user, "regulator")
    return _page()


def _page(status: int = 200, errors: dict | None = None, message: str | None = None):
    session = db.session()
    recent = session.scalars(select(ExportLog).order_by(ExportLog.id.desc()).limit(RECENT)).all()
    values = {name: request.args.get(name, "") for name in FILTER_FIELDS}
    log = [{"at": row.at, "username": row.username, "via": via_text(row.via), "format": format_text(row.format),
            "filters": filters_text(session, row.filters), "rows": row.rows, "bytes": row.bytes,
            "status": log_status_text(row.status)} for row in recent]
    return render_template("audit/exports.html", recent=log, values=values, errors=errors or {},
                           message=message), status


@bp.get("/export")
def export():
    """Stream an export after writing its access-log row."""
    user, via = exporting_user()
    session = db.session()
    try:
        fmt = parse_format(request.args)
        args = request.args if via == "token" else resolve.filter_args(  # names typed without the pickers
            session, request.args, user, labels=FILTER_LABELS, producer_kinds=PRODUCER_KINDS)
        filters = parse_filters(session, args)
    except InvalidField as exc:
        if via == "token" or request.accept_mimetypes.best == "application/json":
            raise
        return _page(400, exc.field_messages(), exc.message)
    session.rollback()  # end the read; the export reads its own snapshot
    log_id = start_log(user, via, fmt, filters)
    config = current_app.config
    # The words and the zone are taken now: the download streams after the request has ended.
    stream = _stream(db.database(), fmt, filters, log_id, config["TRACEAPP_PUBLIC_URL"].rstrip("/"),
                     current_language(), sheet_labels(), clock.deployment_zone())
    response = Response(stream, mimetype=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name(fmt, filters)}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def file_name(fmt: str, filters: ExportFilters) -> str:
    """Return the download's (ASCII) file name, naming the filters and the time."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if fmt == "bundle":
        return f"traceapp-ledger-bundle-{stamp}.zip"
    scope = "-".join(f"{key.removeprefix('date_')}-{value}" for key, value in filters.describe().items()) or "all"
    return f"traceapp-events-{scope}-{stamp}.{EXTENSIONS[fmt]}"


def start_log(user, via: str, fmt: str, filters: ExportFilters) -> int:
    """Write the export's access-log row (status ``started``) in its own transaction; return its id."""
    with db.database().sessions() as s:
        row = ExportLog(at=now_utc(), username=user.username, role=user.role, organization_id=user.organization_id,
                        via=via, format=fmt, filters=json.dumps(filters.describe(), ensure_ascii=False),
                        status="started", rows=0, bytes=0)
        s.add(row)
        s.commit()
        return row.id


def finish_log(database, log_id: int, status: str, rows: int, size: int) -> None:
    """Record how the export ended."""
    with database.sessions() as s:
        s.execute(update(ExportLog).where(ExportLog.id == log_id)
                  .values(status=status, rows=rows, bytes=size, finished_at=now_utc()))
        s.commit()


def _stream(database, fmt: str, filters: ExportFilters, log_id: int, base_url: str, lang: str,
            labels: SheetLabels, zone: tzinfo):
    """Yield the export's bytes from a snapshot of its own, then complete its access-log row."""
    counter, size, status = [0], 0, "failed"
    try:
        with database.sessions() as session:
            begin_snapshot(session)
            for chunk in export_chunks(session, database.ledger, fmt, filters, base_url, lang, counter,
                                       labels=labels, zone=zone):
                size += len(chunk)
                yield chunk
        status = "complete"
    except GeneratorExit:
        status = "aborted"
        raise
    except Exception:
        log.exception("export %d failed", log_id)
        raise
    finally:
        finish_log(database, log_id, status, counter[0], size)

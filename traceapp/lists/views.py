"""The list pages: batches (a producer's own; every batch for the regulator's search), an inspection
body's inspections, each with a search form, keyset paging, a capped count and a CSV of the whole
list. Who sees what and how the search reads is :mod:`traceapp.records.search`."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask_login import current_user, login_required

from traceapp import clock, db
from traceapp.audit.export_formats import csv_safe
from traceapp.errors import InvalidField
from traceapp.i18n import gettext as _
from traceapp.lists import search
from traceapp.numbers import format_quantity
from traceapp.records.certifications import issuing_body
from traceapp.records.labels import label_of
from traceapp.records.labels import translated_labels as labels

bp = Blueprint("lists", __name__)


def _refused(template: str, exc: InvalidField, **context):
    return render_template(template, page=None, values=request.args.to_dict(), errors=exc.field_messages(),
                           message=exc.message, **context), 400


@bp.get("/batches/")
@login_required
def batches():
    session = db.session()
    scope = search.batch_scope(current_user)
    context = {"own": scope is not None, "states": search.STATES,
               "state_labels": {code: str(label) for code, label in search.STATE.items()}}
    try:
        wanted = search.read_batch_search(session, request.args, current_user)
        page = search.search_batches(session, wanted, request.args)
    except InvalidField as exc:
        return _refused("records/batch_list.html", exc, **context)
    return render_template("records/batch_list.html", page=page, query=wanted.args(), values=request.args.to_dict(),
                           errors={}, message=None, **context)


@bp.get("/batches.csv")
@login_required
def batches_csv():
    session = db.session()
    wanted = search.read_batch_search(session, request.args, current_user)
    shown = labels()
    columns = [(_("批次码"), "code"), (_("产品名称"), "product"), (_("品类"), lambda r: shown["category"].get(
        r["category"], r["category"])), (_("品牌"), lambda r: r["brand_name"] or ""),
        (_("数量"), lambda r: format_quantity(r["quantity"])), (_("单位"), "unit"),
        (_("采收日期"), lambda r: r["harvest_date"].isoformat()), (_("产地"), "origin_name"),
        (_("生产基地"), "base"), (_("生产主体"), "producer"),
        (_("状态"), lambda r: label_of(search.STATE, r["state"]))]
    return _csv(columns, search.all_batches(session, wanted), "batches.csv", session)


@bp.get("/inspections/")
@login_required
def inspections():
    session = db.session()
    context = {"own": search.inspection_scope(current_user) is not None}
    try:
        wanted = search.read_inspection_search(session, request.args, current_user)
        page = search.search_inspections(session, wanted, request.args)
    except InvalidField as exc:
        return _refused("records/inspection_list.html", exc, **context)
    return render_template("records/inspection_list.html", page=page, query=wanted.args(),
                           values=request.args.to_dict(), errors={}, message=None, **context)


@bp.get("/inspections.csv")
@login_required
def inspections_csv():
    session = db.session()
    wanted = search.read_inspection_search(session, request.args, current_user)
    shown = labels()
    columns = [(_("报告编号"), "report_no"), (_("检测日期"), lambda r: r["inspected_on"].isoformat()),
               (_("批次码"), "code"), (_("产品名称"), "product"), (_("检测项目数"), "items"),
               (_("总体结论"), lambda r: shown["verdict"].get(r["verdict"], r["verdict"])), (_("检测机构"), "body")]
    return _csv(columns, search.all_inspections(session, wanted), "inspections.csv", session)


def _csv(columns: list[tuple[str, str | Callable]], rows: Iterable[dict], filename: str, session) -> Response:
    """Stream ``rows`` as CSV (UTF-8 with a byte-order mark, so that spreadsheet programs read the
    Chinese), a header of the columns' labels first.

    The rows are read while the response streams, after the request's own teardown has closed and
    forgotten its session: ``session`` is closed here when the stream ends, or the connection it
    took up again would stay checked out of the pool."""
    def lines() -> Iterator[str]:
        try:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow([label for label, _get in columns])
            yield "\ufeff" + buffer.getvalue()
            for row in rows:
                buffer.seek(0)
                buffer.truncate()
                writer.writerow([csv_safe(get(row) if callable(get) else row[get]) for _label, get in columns])
                yield buffer.getvalue()
        finally:
            session.close()

    return Response(stream_with_context(lines()), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/certifications")
@login_required
def certificates():
    session = db.session()
    scope = search.certificate_scope(current_user)
    today = clock.today()
    context = {"own": scope is not None, "today": today, "statuses": search.CERT_STATUSES}
    try:
        wanted = search.read_certificate_search(session, request.args, current_user)
        page = search.search_certificates(session, wanted, today, request.args)
    except InvalidField as exc:
        return _refused("records/certifications.html", exc, revocable=set(), **context)
    revocable = {cert.id for cert, _holder in page.rows if not cert.revoked_on and (
        current_user.role == "admin" or (current_user.role == "certifier" and issuing_body(session, cert) == scope))}
    return render_template("records/certifications.html", page=page, query=wanted.args(),
                           values=request.args.to_dict(), errors={}, message=None, revocable=revocable, **context)


@bp.get("/certifications.csv")
@login_required
def certificates_csv():
    session = db.session()
    wanted = search.read_certificate_search(session, request.args, current_user)
    shown = labels()
    columns = [(_("类别"), lambda r: shown["cert_kind"].get(r["kind"], r["kind"])), (_("证书编号"), "number"),
               (_("持有人"), "holder"), (_("产品"), "products"), (_("有效期起"), "valid_from"),
               (_("有效期止"), "valid_to"), (_("发证机构"), "issuer"),
               (_("状态"), lambda r: shown["cert_status"].get(r["status"], r["status"])),
               (_("撤销日期"), "revoked_on"), (_("撤销原因"), "revoke_reason")]
    return _csv(columns, search.all_certificates(session, wanted, clock.today()), "certificates.csv", session)

"""The label-sheet pages: choose how many labels of which package size on which sheet, preview the
first page, record the print and go to the printable sheet (HTML with print CSS, or PDF), which
can be fetched again without a new record."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp import db
from traceapp.errors import NotFound, Rejected
from traceapp.i18n import gettext as _
from traceapp.i18n import ngettext
from traceapp.public.qr import target_url
from traceapp.records.access import require_batch_owner
from traceapp.records.forms import done
from traceapp.records.label_pdf import LabelContent, label_art, render_pdf
from traceapp.records.label_sheets import (
    DEFAULT_LAYOUT,
    LAYOUTS,
    Layout,
    check_allowance,
    get_label_print,
    labels_printed,
    number_text,
    print_labels,
    prints_of,
    quantity_covered,
    read_request,
)
from traceapp.records.models import Batch, LabelPrint, Organization
from traceapp.records.services import get_batch
from traceapp.validation import InvalidInput

bp = Blueprint("label_sheets", __name__)
# form / query parameter -> the service's field
FORM_FIELDS = {"n": "labels", "package": "package_quantity", "layout": "layout"}
FORMATS = ("html", "pdf")


def service_data(values: dict) -> dict:
    return {FORM_FIELDS[k]: v for k, v in values.items() if k in FORM_FIELDS}


def form_errors(fields: dict) -> dict:
    names = {v: k for k, v in FORM_FIELDS.items()}
    return {names.get(k, k): v for k, v in fields.items()}


def content_of(session: Session, batch: Batch) -> LabelContent:
    """Return what the batch's labels say."""
    from traceapp.brands.models import Brand  # brands build on records, not the reverse

    brand = session.scalar(select(Brand.name).where(Brand.slug == batch.brand)) if batch.brand else None
    producer = session.get(Organization, batch.organization_id)
    return LabelContent(url=target_url(session, batch), code=batch.code, product=batch.product, brand=brand,
                        producer=producer.name if producer else "", harvest_date=batch.harvest_date.isoformat())


def sheet_context(session: Session, batch: Batch, layout: Layout, labels: int) -> dict:
    art = label_art(content_of(session, batch), layout.label_width, layout.label_height)
    return {"layout": layout, "art": art, "pages": layout.pages(labels), "positions": layout.positions(),
            "labels_count": labels}


@bp.get("/batches/<code>/labels")
@login_required
def form(code: str):
    session = db.session()
    batch = get_batch(session, code)
    require_batch_owner(current_user, batch)
    values = {"n": request.args.get("n", ""), "package": request.args.get("package", ""),
              "layout": request.args.get("layout", DEFAULT_LAYOUT)}
    errors, message, status, preview = {}, None, 200, None
    if "n" in request.args or "package" in request.args:
        try:
            wanted = read_request(service_data(values))
            check_allowance(session, batch, wanted)
            preview = sheet_context(session, batch, wanted.layout, min(wanted.labels, wanted.layout.per_page))
            preview["labels_count"], preview["page_count"] = wanted.labels, len(wanted.layout.pages(wanted.labels))
        except (InvalidInput, Rejected) as exc:
            errors, message, status = form_errors(exc.fields), exc.message, exc.status
    return form_page(session, batch, values, errors, message, preview), status


def form_page(session: Session, batch: Batch, values: dict, errors: dict, message: str | None, preview: dict | None):
    return render_template("records/labels.html", batch=batch, values=values, errors=errors, message=message,
                           preview=preview, layouts=LAYOUTS, prints=prints_of(session, batch),
                           layout_titles={name: layout.title for name, layout in LAYOUTS.items()}, number=number_text,
                           printed=labels_printed(session, batch),
                           covered=number_text(quantity_covered(session, batch)),
                           quantity=number_text(batch.quantity))


@bp.post("/batches/<code>/labels")
@login_required
def record(code: str):
    session = db.writing()
    batch = get_batch(session, code)
    values = {k: request.form.get(k, "") for k in FORM_FIELDS}
    fmt = request.form.get("format") or "html"
    try:
        if fmt not in FORMATS:
            message = _("请用“记录并打印”或“记录并下载 PDF”按钮提交。")
            raise InvalidInput(message, {"format": message})
        row = print_labels(session, batch, service_data(values), user=current_user)
        session.commit()
    except (InvalidInput, Rejected) as exc:
        session.rollback()
        return form_page(session, batch, values, form_errors(exc.fields), exc.message, None), exc.status
    if fmt == "html":  # a PDF download shows no page to carry the notice
        done(ngettext("已记录本次打印（%(num)d 张标签）。", "已记录本次打印（%(num)d 张标签）。", row.labels))
    # Post/redirect/get: reloading the sheet fetches the recorded print again, it does not record another.
    return redirect(url_for("label_sheets.reprint", code=batch.code, print_id=row.id, fmt=fmt), 303)


@bp.get("/batches/<code>/labels/<int:print_id>.<fmt>")
@login_required
def reprint(code: str, print_id: int, fmt: str):
    session = db.session()
    batch = get_batch(session, code)
    require_batch_owner(current_user, batch)
    row = get_label_print(session, batch, print_id)
    if row is None or fmt not in FORMATS:
        raise NotFound(_("批次 %(code)s 没有编号为 %(id)s 的标签打印记录。", code=batch.code, id=print_id))
    return sheet_response(session, batch, row, fmt)


def sheet_response(session: Session, batch: Batch, row: LabelPrint, fmt: str):
    layout = LAYOUTS[row.layout]
    if fmt == "pdf":
        body = render_pdf(content_of(session, batch), layout, row.labels)
        response = Response(body, mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'inline; filename="labels-{batch.code}-{row.id}.pdf"'
        return response
    return render_template("records/labels_sheet.html", batch=batch, row=row,
                           package=number_text(row.package_quantity), **sheet_context(session, batch, layout,
                                                                                        row.labels))

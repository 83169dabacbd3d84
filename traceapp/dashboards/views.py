"""The dashboards' pages and CSV downloads:

    /dashboards/regulator   (regulators, admins)       region, brand, from, to
    /dashboards/brand       (brand managers, admins)   brand (one of the owner's), from, to
    /dashboards/producer    (producers, admins)        producer (admins), from, to

and ``/dashboards/<name>/<figure>.csv`` with the same filters: the figure's table, as the page shows it."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, render_template, request, url_for
from flask_login import current_user, login_required

from traceapp import clock, db
from traceapp.audit.filters import LABELS, Filters, read_filters
from traceapp.dashboards import cache, figures
from traceapp.errors import InvalidField, NotFound
from traceapp.i18n import gettext as _
from traceapp.pickers import resolve
from traceapp.records.models import PRODUCER_KINDS

bp = Blueprint("dashboards", __name__, url_prefix="/dashboards")
NAMES = ("regulator", "brand", "producer")


def _titles() -> dict[str, str]:
    return {"regulator": _("监管总览"), "brand": _("品牌看板"), "producer": _("生产看板")}


def _build(name: str) -> dict:
    """Return the dashboard ``name`` for the current user under the query string's filters: its figures
    (None while an admin has not named a producer), the filters as typed, the range; raises Forbidden
    for a user who may not see it and InvalidField for a bad filter."""
    session = db.session()
    today = clock.today()
    picked = resolve.filter_args(session, request.args, current_user, labels=LABELS, producer_kinds=PRODUCER_KINDS)
    filters = read_filters(session, picked, producers_only=True)
    start, end = figures.date_range(filters, today)
    context = {"picked": picked, "filters": filters, "start": start, "end": end, "brands": None, "producer": None}
    key = (name, tuple(sorted(filters.args().items())), start, end)
    if name == "regulator":
        context["figures"] = cache.cached(key, lambda: figures.regulator_figures(session, filters, start, end))
    elif name == "brand":
        brands = figures.scope_brands(session, current_user, filters)
        owned = figures.scope_brands(session, current_user, Filters())
        context.update(brands=owned, figures=cache.cached(
            (*key, tuple(b.slug for b in brands)), lambda: figures.brand_figures(session, brands, start, end, today)))
    else:
        producer = figures.scope_producer(session, current_user, filters)
        context.update(producer=producer, figures=cache.cached(
            (*key, producer.id), lambda: figures.producer_figures(session, producer, start, end)) if producer else None)
    return context


def _known(name: str) -> None:
    if name not in NAMES:
        raise NotFound(_("没有这个看板。"))


@bp.get("/<name>")
@login_required
def dashboard(name: str):
    _known(name)
    figures.require_viewer(current_user, name)
    try:
        context = _build(name)
    except InvalidField as exc:
        return render_template("dashboards/dashboard.html", name=name, title=_titles()[name], figures=None,
                               picked=request.args, errors=exc.field_messages(), message=exc.message,
                               filters=Filters(), brands=None, producer=None, start=None, end=None), 400
    return render_template("dashboards/dashboard.html", name=name, title=_titles()[name], errors={}, message=None,
                           csv_args=context["filters"].args(), **context)


@bp.get("/<name>/<figure>.csv")
@login_required
def download(name: str, figure: str):
    _known(name)
    figures.require_viewer(current_user, name)
    context = _build(name)
    chosen = next((f for f in context["figures"] or [] if f.key == figure), None)
    if chosen is None:
        raise NotFound(_("这个看板没有名为 %(name)s 的图表。", name=figure[:40]))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(chosen.headers)
    writer.writerows(chosen.rows)
    filename = f"{name}-{figure}-{context['start'].isoformat()}-{context['end'].isoformat()}.csv"
    # a BOM, so spreadsheet programs read the Chinese headers as UTF-8
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def home_link(role: str) -> str | None:
    """Return the URL of the role's dashboard, or None for a role without one."""
    name = {"regulator": "regulator", "admin": "regulator", "brand_manager": "brand", "producer": "producer"}.get(role)
    return url_for("dashboards.dashboard", name=name) if name else None

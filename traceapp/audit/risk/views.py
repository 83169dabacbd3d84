"""The risk signals on the regulator's desk: ``/audit/risks/`` (every rule with its count under the
filters) and ``/audit/risks/<rule name>`` (the rule's findings, paged). Regulators and admins only,
by the desk's own guard."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from traceapp import db
from traceapp.audit import risk
from traceapp.audit.desk import regulators_only, when
from traceapp.audit.filters import LABELS as filter_labels
from traceapp.errors import InvalidField
from traceapp.numbers import format_quantity
from traceapp.params import int_arg
from traceapp.pickers import resolve
from traceapp.records.models import PRODUCER_KINDS

bp = Blueprint("audit_risks", __name__, url_prefix="/audit/risks")
bp.before_request(regulators_only)
PER_PAGE = 50


@bp.context_processor
def _helpers():
    return {"reasons": risk.REASONS, "when": when, "rules": risk.RULES, "quantity": format_quantity}


def _refused(template: str, error: InvalidField, **context):
    """Show the page again with the bad filter marked, as a 400."""
    return render_template(template, filters=None, errors=error.field_messages(), message=error.message, counts=None,
                           findings=None, **context), 400


def _picked(session) -> dict[str, str]:
    """The query string with a region, brand or producer typed by name (the pickers without their
    script) turned into the code, slug or id the filters take."""
    return resolve.filter_args(session, request.args, current_user, labels=filter_labels,
                               producer_kinds=PRODUCER_KINDS)


@bp.get("/")
def overview():
    session = db.session()
    try:
        picked = _picked(session)
        filters = risk.read_filters(session, picked)
    except InvalidField as exc:
        return _refused("audit/risks.html", exc)
    return render_template("audit/risks.html", filters=filters, counts=risk.count_all(session, filters),
                           errors={}, message=None, picked=picked)


@bp.get("/<name>")
def findings(name: str):
    rule = risk.get_rule(name)
    session = db.session()
    try:
        picked = _picked(session)
        filters = risk.read_filters(session, picked)
        page = int_arg("page", default=1, minimum=1, maximum=100_000)
    except InvalidField as exc:
        return _refused("audit/risk_list.html", exc, rule=rule)
    total = risk.count_findings(session, rule, filters)
    rows = risk.list_findings(session, rule, filters, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    return render_template("audit/risk_list.html", rule=rule, filters=filters, findings=rows, total=total,
                           page=page, pages=pages, errors={}, message=None, picked=picked)

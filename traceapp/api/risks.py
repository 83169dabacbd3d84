"""Risk signals through the JSON API, for a regulator's (or an admin's) token: every rule with its count,
and one rule's findings, with the desk's filters."""

from __future__ import annotations

from flask import jsonify, request, url_for
from marshmallow import Schema, fields

from traceapp import db
from traceapp.api.openapi import integer, operation
from traceapp.api.views import PAGE, api_user, bp, page_args
from traceapp.audit import risk
from traceapp.records.access import require_role

FILTERS = (("region", "string", "GB/T 2260 code; a province or city includes every division inside it"),
           ("brand", "string", "brand slug"), ("producer", integer(1, 999_999_999), "organization id"),
           ("from", "string", "first date, YYYY-MM-DD (the date each rule names)"),
           ("to", "string", "last date, YYYY-MM-DD"))


class RiskRuleOut(Schema):
    name = fields.String(required=True, metadata={"description": "the rule's stable name"})
    version = fields.Integer(required=True)
    title = fields.String(required=True, metadata={"description": "in the request's language"})
    description = fields.String(required=True)
    date_filter = fields.String(required=True, metadata={"description": "what from/to filter"})
    count = fields.Integer(required=True, metadata={"description": "findings under the filters"})
    url = fields.String(required=True, metadata={"description": "this rule's findings under the filters"})


class RiskOverviewOut(Schema):
    filters = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    rules = fields.List(fields.Nested(RiskRuleOut), required=True)


class RiskFindingsOut(RiskRuleOut):
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    filters = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    findings = fields.List(fields.Dict(), required=True, metadata={
        "description": "each with rule and version (which rule raised it), then the rule's columns: dates "
                       "YYYY-MM-DD, times UTC with Z, quantities as decimal strings"})


def _regulator():
    require_role(api_user(), "regulator")


def _rule_view(rule, filters, count: int) -> dict:
    return {"name": rule.name, "version": rule.version, "title": str(rule.title),
            "description": str(rule.description), "date_filter": str(rule.date_label), "count": count,
            "url": url_for("api.risk_findings", name=rule.name, **filters.args())}


@bp.get("/risks")
@operation(summary="Every risk rule with its number of findings under the filters (regulator)",
           response=RiskOverviewOut, errors=(400, 401, 403), query=FILTERS)
def risk_overview():
    _regulator()
    session = db.session()
    filters = risk.read_filters(session, request.args)
    counts = risk.count_all(session, filters)
    return jsonify(RiskOverviewOut().dump({"filters": filters.args(), "rules": [
        _rule_view(rule, filters, counts[rule.name]) for rule in risk.RULES]}))


@bp.get("/risks/<name>")
@operation(summary="One risk rule's findings under the filters, paged (regulator)", response=RiskFindingsOut,
           errors=(400, 401, 403), query=(*FILTERS, *PAGE))
def risk_findings(name: str):
    _regulator()
    rule = risk.get_rule(name)
    session = db.session()
    filters = risk.read_filters(session, request.args)
    limit, offset = page_args()
    found = [risk.plain(f) for f in risk.list_findings(session, rule, filters, limit=limit, offset=offset)]
    return jsonify(RiskFindingsOut().dump({**_rule_view(rule, filters, risk.count_findings(session, rule, filters)),
                                           "limit": limit, "offset": offset, "filters": filters.args(),
                                           "findings": found}))

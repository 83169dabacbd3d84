"""Risk signals for the regulator's desk: the rules (``rules.RULES``, each with a name and a version)
and the functions that run them. Every finding says which rule raised it (``rule``, ``version``).

Functions a view, the API or a benchmark calls (each runs ONE SQL statement)::

    count_all(session, filters)                     # {rule name: number of findings}
    count_findings(session, "license_cap", filters)
    list_findings(session, "license_cap", filters, limit=50, offset=0)
    rule_query(session, "license_cap", filters)     # the SELECT itself (to EXPLAIN or time)

``filters`` is a :class:`Filters` (``read_filters`` reads one from a query string); ``today`` and
``settings`` default to the date and the app's config (RISK_CAP_PERCENT, RISK_REPEAT_FAILURES,
RISK_REPEAT_DAYS, SCAN_ALERT_CLIENTS, SCAN_ALERT_REGIONS, SCAN_ALERT_WINDOW).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import current_app, has_app_context
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from traceapp import clock
from traceapp.audit.filters import Filters, read_filters
from traceapp.audit.risk.rules import REASONS, RULES, Context, Rule, Settings
from traceapp.brands.models import Brand
from traceapp.errors import NotFound
from traceapp.i18n import gettext as _
from traceapp.records.values import quantity_text

__all__ = ["RULES", "REASONS", "Filters", "Rule", "Settings", "read_filters", "get_rule", "rule_query",
           "count_findings", "count_all", "list_findings", "plain"]

BY_NAME = {rule.name: rule for rule in RULES}


def get_rule(name) -> Rule:
    """Return the rule called ``name``; raise NotFound naming the rules there are."""
    rule = BY_NAME.get(name) if isinstance(name, str) else None
    if rule is None:
        raise NotFound(_("没有名为 %(name)s 的风险规则；现有规则：%(names)s。", name=str(name)[:64],
                         names=", ".join(BY_NAME)))
    return rule


def _context(session: Session, filters: Filters | None, today: date | None, settings: Settings | None) -> Context:
    if settings is None:
        settings = Settings.from_config(current_app.config) if has_app_context() else Settings()
    return Context(filters=filters or Filters(), today=today or clock.today(), settings=settings,
                   dialect=session.get_bind().dialect.name)


def rule_query(session: Session, rule: Rule | str, filters: Filters | None = None, *, today: date | None = None,
               settings: Settings | None = None) -> Select:
    """Return the rule's SELECT of its findings under ``filters``, ordered for paging."""
    rule = rule if isinstance(rule, Rule) else get_rule(rule)
    return rule.query(_context(session, filters, today, settings))


def count_findings(session: Session, rule: Rule | str, filters: Filters | None = None, *,
                   today: date | None = None, settings: Settings | None = None) -> int:
    """Return how many findings the rule has under ``filters``."""
    query = rule_query(session, rule, filters, today=today, settings=settings).order_by(None)
    return session.scalar(select(func.count()).select_from(query.subquery()))


def count_all(session: Session, filters: Filters | None = None, *, today: date | None = None,
              settings: Settings | None = None) -> dict[str, int]:
    """Return {rule name: number of findings} for every rule, in the rules' order."""
    return {rule.name: count_findings(session, rule, filters, today=today, settings=settings) for rule in RULES}


def list_findings(session: Session, rule: Rule | str, filters: Filters | None = None, *, limit: int = 50,
                  offset: int = 0, today: date | None = None, settings: Settings | None = None) -> list[dict]:
    """Return one page of the rule's findings as dicts with ``rule`` and ``version`` first, then the
    rule's columns (dates and times as datetime objects, quantities as Decimal)."""
    rule = rule if isinstance(rule, Rule) else get_rule(rule)
    query = rule_query(session, rule, filters, today=today, settings=settings).limit(limit).offset(offset)
    found = []
    for row in session.execute(query).mappings():
        values = dict(row)
        if rule.shape is not None:
            values = rule.shape(values)
        found.append({"rule": rule.name, "version": rule.version, **values})
    _name_brands(session, found)
    return found


def _name_brands(session: Session, found: list[dict]) -> None:
    """Give each finding that carries a batch's brand (its slug) the brand's name too, read for the
    whole page at once: people know 炎陵黄桃, not yanling-huangtao."""
    slugs = {f["brand"] for f in found if f.get("brand") and "brand_name" not in f}
    if not slugs:
        return
    names = {slug: name for slug, name in session.execute(select(Brand.slug, Brand.name).where(Brand.slug.in_(slugs)))}
    for finding in found:
        if "brand" in finding and "brand_name" not in finding:
            finding["brand_name"] = names.get(finding["brand"], finding["brand"])


def plain(finding: dict) -> dict:
    """Return a finding with JSON values: ISO dates, UTC times with Z, quantities as decimal strings."""
    out = {}
    for key, value in finding.items():
        if isinstance(value, datetime):
            value = value.isoformat(timespec="seconds") + "Z"
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = quantity_text(value)
        elif isinstance(value, float) and key != "share":
            value = quantity_text(Decimal(str(value)))
        out[key] = value
    return out

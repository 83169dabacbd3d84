"""Public brand pages (no login): the directory with search, and one brand's page. Both are
cacheable: a short public max-age, an ETag, and kept rendered while the ledger is unchanged."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from traceapp import db
from traceapp.brands import queries
from traceapp.brands.services import get_brand
from traceapp.page_cache import cacheable
from traceapp.records.models import CATEGORIES

bp = Blueprint("brands", __name__, url_prefix="/brands")
MAX_AGE = 60  # seconds a browser or proxy may reuse a page: a new batch or licence shows within a minute


@bp.get("/")
def directory():
    session = db.session()
    q = request.args.get("q", "")[:100]
    province = request.args.get("province", "")[:6]
    category = request.args.get("category", "")[:32]

    def render() -> str:
        found = queries.find_brands(session, q, province, category if category in CATEGORIES else "")
        return render_template("brands/directory.html", brands=found, q=q, province=province, category=category,
                               provinces=queries.provinces(session), categories=CATEGORIES)
    return cacheable(render, MAX_AGE)


@bp.get("/<slug>")
def page(slug: str):
    session = db.session()
    return cacheable(lambda: render_template("brands/page.html",
                                             **queries.brand_page(session, get_brand(session, slug))), MAX_AGE)

"""Public brand pages (no login): the directory with search, and one brand's page. Both are
cacheable: a short public max-age and an ETag of the rendered page."""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, render_template, request

from traceapp import db
from traceapp.brands import queries
from traceapp.brands.services import get_brand
from traceapp.records.models import CATEGORIES

bp = Blueprint("brands", __name__, url_prefix="/brands")
MAX_AGE = 60  # seconds: a new batch or licence shows within a minute


def cacheable(html: str) -> Response:
    response = Response(html, mimetype="text/html")
    response.set_etag(hashlib.sha256(html.encode()).hexdigest()[:32])
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response.make_conditional(request)


@bp.get("/")
def directory():
    session = db.session()
    q = request.args.get("q", "")[:100]
    province = request.args.get("province", "")[:6]
    category = request.args.get("category", "")[:32]
    found = queries.find_brands(session, q, province, category if category in CATEGORIES else "")
    return cacheable(render_template("brands/directory.html", brands=found, q=q, province=province,
                                     category=category, provinces=queries.provinces(session),
                                     categories=CATEGORIES))


@bp.get("/<slug>")
def page(slug: str):
    session = db.session()
    return cacheable(render_template("brands/page.html", **queries.brand_page(session, get_brand(session, slug))))

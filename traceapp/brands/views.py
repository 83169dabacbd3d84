"""Public brand pages (no login): the directory with search, and one brand's page. Both are
cacheable: a short public max-age, an ETag, and kept rendered while the ledger is unchanged.
A signed-in brand manager also answers requests to place other brands under theirs on the
page, and an admin detaches a sub-brand there."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from traceapp import db
from traceapp.brands import queries
from traceapp.brands.attachments import accept_attachment, detach_brand, get_attachment, refuse_attachment
from traceapp.brands.services import get_brand
from traceapp.i18n import gettext as _
from traceapp.page_cache import cacheable
from traceapp.records.forms import done
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

    def render() -> str:
        brand = get_brand(session, slug)
        manages = current_user.is_authenticated and (current_user.role == "admin" or (
            current_user.role == "brand_manager" and current_user.organization_id == brand.owner_id))
        return render_template("brands/page.html", manages=manages, **queries.brand_page(session, brand))
    # A signed-in viewer's copy (name, CSRF tokens) is made private by traceapp.security_headers.
    return cacheable(render, MAX_AGE)


DECISIONS = {"accept": accept_attachment, "refuse": refuse_attachment}


@bp.post("/<slug>/attachments/<int:attachment_id>/<any(accept, refuse):decision>")
@login_required
def decide(slug: str, attachment_id: int, decision: str):
    """Accept or refuse a request to place another brand under this one (its manager or an admin)."""
    session = db.writing()
    brand = get_brand(session, slug)
    DECISIONS[decision](session, brand, get_attachment(session, brand, attachment_id), request.form.to_dict(),
                        user=current_user)
    session.commit()
    done(_("已接受该下级品牌的申请。") if decision == "accept" else _("已拒绝该下级品牌的申请。"))
    return redirect(url_for("brands.page", slug=brand.slug), code=303)


@bp.post("/<slug>/detach")
@login_required
def detach(slug: str):
    session = db.writing()
    brand = get_brand(session, slug)
    detach_brand(session, brand, request.form.to_dict(), user=current_user)
    session.commit()
    done(_("品牌“%(name)s”已移出上级品牌。", name=brand.name))
    return redirect(url_for("brands.page", slug=brand.slug), code=303)

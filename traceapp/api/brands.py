"""The brand registry's part of the JSON API: brands and their licences."""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import select

from traceapp import db
from traceapp.api import schemas
from traceapp.api.openapi import operation
from traceapp.api.views import PAGE, api_user, bp, page_args, write
from traceapp.brands import queries
from traceapp.brands.attachments import accept_attachment, detach_brand, get_attachment, refuse_attachment
from traceapp.brands.models import ATTACHMENT_STATES, License
from traceapp.brands.services import (
    change_brand,
    get_brand,
    get_license,
    grant_license,
    register_brand,
    retire_brand,
    revoke_license,
)
from traceapp.errors import InvalidField
from traceapp.i18n import gettext as _


@bp.get("/brands")
@operation(summary="List or search brands (name, alias, pinyin, initials, place)", response=schemas.BrandList,
           errors=(400, 401), query=(("q", "string", "search text, e.g. ylht or 炎陵"),
                                     ("province", "string", "province code, e.g. 430000"),
                                     ("category", "string", "batch category, e.g. fruit"), *PAGE))
def brands():
    api_user()
    session = db.session()
    found = queries.find_brands(session, request.args.get("q", ""), request.args.get("province", ""),
                                request.args.get("category", ""))
    limit, offset = page_args()
    items = [queries.brand_view(session, b) for b in found[offset:offset + limit]]
    return jsonify(schemas.BrandList().dump({"items": items}))


@bp.post("/brands")
@operation(summary="Register a brand (brand_manager of the owner); a parent of another owner is asked for "
                   "(parent_request) and taken once that owner accepts", request=schemas.BrandIn,
           response=schemas.BrandOut, status=201, errors=(400, 401, 403, 409))
def create_brand():
    def action(session, body, user):
        return queries.brand_view(session, register_brand(session, body, user=user))
    return write(action, schemas.BrandOut())


@bp.get("/brands/<slug>")
@operation(summary="One brand with its licences", response=schemas.BrandDetailOut, errors=(401,))
def brand(slug: str):
    api_user()
    session = db.session()
    found = get_brand(session, slug)
    licenses = session.scalars(select(License).where(License.brand_id == found.id).order_by(License.id))
    return jsonify(schemas.BrandDetailOut().dump({**queries.brand_view(session, found),
                                                  "licenses": [queries.license_view(lic, found) for lic in licenses]}))


@bp.patch("/brands/<slug>")
@operation(summary="Change a brand's fields (its brand_manager); a brand.changed entry keeps old and new. A "
                   "parent of another owner is asked for (parent_request); any parent given withdraws a waiting "
                   "request",
           request=schemas.BrandChangeIn, response=schemas.BrandOut, errors=(400, 401, 403, 409))
def change_brand_endpoint(slug: str):
    def action(session, body, user):
        return queries.brand_view(session, change_brand(session, get_brand(session, slug), body, user=user))
    return write(action, schemas.BrandOut(), status=200)


@bp.post("/brands/<slug>/retire")
@operation(summary="Retire a brand with a reason (its brand_manager): no new licences or claims",
           request=schemas.ReasonIn, response=schemas.BrandOut, errors=(400, 401, 403, 409))
def retire_brand_endpoint(slug: str):
    def action(session, body, user):
        return queries.brand_view(session, retire_brand(session, get_brand(session, slug), body, user=user))
    return write(action, schemas.BrandOut(), status=200)


@bp.post("/brands/<slug>/licenses")
@operation(summary="Grant a licence to use the brand (its brand_manager)", request=schemas.LicenseIn,
           response=schemas.LicenseOut, status=201, errors=(400, 401, 403, 422))
def create_license(slug: str):
    def action(session, body, user):
        found = get_brand(session, slug)
        return queries.license_view(grant_license(session, found, body, user=user), found)
    return write(action, schemas.LicenseOut())


@bp.post("/brands/<slug>/licenses/<int:license_id>/revoke")
@operation(summary="Revoke a licence with a reason (its brand_manager); new claims stop at once",
           request=schemas.ReasonIn, response=schemas.LicenseOut, errors=(400, 401, 403, 409))
def revoke_license_endpoint(slug: str, license_id: int):
    def action(session, body, user):
        found = get_brand(session, slug)
        return queries.license_view(revoke_license(session, found, get_license(session, found, license_id), body,
                                                   user=user), found)
    return write(action, schemas.LicenseOut(), status=200)


@bp.get("/brands/<slug>/attachments")
@operation(summary="Requests to place other owners' brands under this brand, oldest first",
           response=schemas.AttachmentList, errors=(400, 401),
           query=(("state", {"type": "string", "enum": list(ATTACHMENT_STATES)}, "only requests in this state"),
                  *PAGE))
def attachments(slug: str):
    api_user()
    session = db.session()
    found = get_brand(session, slug)
    state = request.args.get("state")
    if state is not None and state not in ATTACHMENT_STATES:  # an empty state= too: it is no state
        raise InvalidField("state", _("state 必须是 pending、accepted、refused 或 withdrawn 之一。"))
    limit, offset = page_args()
    rows = queries.attachments_to(session, found, state)[offset:offset + limit]
    return jsonify(schemas.AttachmentList().dump({"items": [queries.attachment_view(session, a) for a in rows]}))


@bp.post("/brands/<slug>/attachments/<int:attachment_id>/accept")
@operation(summary="Accept a request to be placed under this brand (its brand_manager): a "
                   "brand.attachment_accepted entry, and the sub-brand takes this parent",
           request=schemas.AcceptIn, response=schemas.AttachmentOut, errors=(400, 401, 403, 409, 422))
def accept_attachment_endpoint(slug: str, attachment_id: int):
    def action(session, body, user):
        found = get_brand(session, slug)
        return queries.attachment_view(session, accept_attachment(
            session, found, get_attachment(session, found, attachment_id), body, user=user))
    return write(action, schemas.AttachmentOut(), status=200)


@bp.post("/brands/<slug>/attachments/<int:attachment_id>/refuse")
@operation(summary="Refuse a request to be placed under this brand with a reason (its brand_manager): a "
                   "brand.attachment_refused entry", request=schemas.ReasonIn, response=schemas.AttachmentOut,
           errors=(400, 401, 403, 409))
def refuse_attachment_endpoint(slug: str, attachment_id: int):
    def action(session, body, user):
        found = get_brand(session, slug)
        return queries.attachment_view(session, refuse_attachment(
            session, found, get_attachment(session, found, attachment_id), body, user=user))
    return write(action, schemas.AttachmentOut(), status=200)


@bp.post("/brands/<slug>/detach")
@operation(summary="Detach this sub-brand from its parent with a reason (admin): a brand.detached entry",
           request=schemas.ReasonIn, response=schemas.BrandOut, errors=(400, 401, 403, 409))
def detach_brand_endpoint(slug: str):
    def action(session, body, user):
        return queries.brand_view(session, detach_brand(session, get_brand(session, slug), body, user=user))
    return write(action, schemas.BrandOut(), status=200)

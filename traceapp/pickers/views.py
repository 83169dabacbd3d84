"""The pickers' type-ahead answers (JSON, signed-in users only) and what their macros need to draw a
chosen value: ``GET /pickers/regions?parent=&q=``, ``GET /pickers/organizations?q=&kinds=``,
``GET /pickers/brands?q=``."""

from __future__ import annotations

import re

from flask import Blueprint, jsonify, request
from flask_login import current_user

from traceapp import clock, db
from traceapp.i18n import gettext as _
from traceapp.pickers import queries
from traceapp.records import regions
from traceapp.records.models import ORG_KINDS

bp = Blueprint("pickers", __name__, url_prefix="/pickers")


@bp.before_request
def signed_in_only():
    """Answer 401 in JSON (not the sign-in page's redirect): the callers are scripts."""
    if not current_user.is_authenticated:
        return _error(401, "unauthorized", _("请先登录。"))
    return None


def _error(status: int, code: str, message: str, field: str | None = None):
    response = jsonify({"error": {"code": code, "message": message, "fields": {field: message} if field else {}}})
    return response, status


def _answer(items: list[dict]):
    response = jsonify({"items": items})
    # per-user answers (masked names): kept in the browser only, briefly, so typing back is instant
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


@bp.get("/regions")
def regions_():
    """Children of ``parent`` (provinces when empty), or with ``q`` the divisions matching it."""
    q = request.args.get("q", "")
    if q.strip():
        return _answer(queries.region_search(q))
    parent = request.args.get("parent", "").strip()
    if parent and not (re.fullmatch(r"[0-9]{6}", parent) and regions.is_valid(parent)):
        return _error(400, "invalid_field", _("参数 parent 必须是已知的 6 位行政区划代码，收到的是“%(value)s”。",
                                              value=parent[:40]), "parent")
    return _answer(queries.region_children(parent or None))


@bp.get("/organizations")
def organizations():
    """Organizations whose name contains ``q`` or whose 统一社会信用代码 starts with it, of ``kinds``
    (comma-separated, optional)."""
    kinds = tuple(k for k in request.args.get("kinds", "").split(",") if k)
    unknown = [k for k in kinds if k not in ORG_KINDS]
    if unknown:
        return _error(400, "invalid_field", _("参数 kinds 含有未知的组织类型：%(kinds)s。",
                                              kinds="、".join(unknown)[:80]), "kinds")
    return _answer(queries.organization_search(db.session(), request.args.get("q", ""), current_user,
                                               kinds or None))


@bp.get("/brands")
def brands():
    """Brands matching ``q`` (name, alias, pinyin, initials, place)."""
    return _answer(queries.brand_search(db.session(), request.args.get("q", "")))


def picker_data(kind: str, value=None, organization_id=None, kinds=None) -> dict:
    """Return what a picker macro draws for its current ``value`` (templates call it)."""
    session = db.session()
    if kind == "region":
        return {"path": queries.region_path(value), "provinces": queries.region_children(None)}
    if kind == "organization":
        return {"text": queries.organization_label(session, value, current_user)}
    if kind == "brand":
        licensed = (queries.licensed_brands(session, int(organization_id), clock.today())
                    if organization_id else [])
        return {"licensed": licensed, "text": queries.brand_label(session, value)}
    raise ValueError(kind)

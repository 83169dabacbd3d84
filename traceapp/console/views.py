"""The brand owner's console pages (``/console/``): for the owner organization's brand managers and
admins, everyone else gets 403. Reads come from ``traceapp.console.queries``; every write goes through
the brand services (which authorize and validate again), one transaction each, with a notice after it
and a confirmation page before a licence is revoked."""

from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from traceapp import clock, db
from traceapp.brands.attachments import accept_attachment, get_attachment, pending_request, refuse_attachment
from traceapp.brands.models import LEVELS, Brand
from traceapp.brands.queries import attachment_view, attachments_to
from traceapp.brands.services import (
    change_brand,
    get_brand,
    get_license,
    grant_license,
    register_brand,
    revoke_license,
)
from traceapp.console import queries
from traceapp.errors import Forbidden, InvalidField
from traceapp.i18n import gettext as _
from traceapp.pickers import resolve
from traceapp.records import regions
from traceapp.records.access import require_role
from traceapp.records.forms import Confirmation, done, form_page
from traceapp.records.models import CATEGORIES, PRODUCER_KINDS, UNITS, Organization
from traceapp.records.values import quantity_text
from traceapp.validation import Fields, InvalidInput

bp = Blueprint("console", __name__, url_prefix="/console")
AREA_ROWS = 3  # empty region pickers offered for the brand's area beyond the regions it has
# The profile fields a brand manager edits here; category, level and parent are set at registration,
# a parent of another owner through a request (see traceapp.brands.attachments).
PROFILE = ("name", "aliases", "description", "products", "area", "gi_number", "standard", "qr_digital_link")
FILTER_LABELS = {"licensee": lambda: _("被许可主体"), "product": lambda: _("产品"),
                 "harvest_from": lambda: _("采收日期起"), "harvest_to": lambda: _("采收日期止"),
                 "outcome": lambda: _("检测结果"), "after": lambda: _("翻页位置"), "page": lambda: _("页码")}


@bp.before_request
@login_required
def brand_managers_only():
    require_role(current_user, "brand_manager")


def _managed(slug: str) -> Brand:
    """Return the brand if the signed-in user may manage it (its owner's brand manager, or an admin)."""
    brand = get_brand(db.session(), slug)
    if current_user.role != "admin" and current_user.organization_id != brand.owner_id:
        raise Forbidden(_("只有品牌 %(name)s 的品牌主体能管理它。", name=brand.name))
    return brand


@bp.get("/")
def index():
    session = db.session()
    q = request.args.get("q", "")[:100]
    owner = session.get(Organization, current_user.organization_id) if current_user.organization_id else None
    return render_template("console/index.html", brands=queries.managed_brands(session, current_user, q), q=q,
                           owner=owner)


@bp.get("/<slug>/")
def brand(slug: str):
    session = db.session()
    found = _managed(slug)
    today = clock.today()
    page = _page_number()
    rows, total = queries.licence_rows(session, found, current_user, today, page=page)
    parent = session.get(Brand, found.parent_id) if found.parent_id else None
    children = list(session.scalars(select(Brand).where(Brand.parent_id == found.id).order_by(Brand.name)))
    waiting = pending_request(session, found)
    return render_template(
        "console/brand.html", brand=found, parent=parent, children=children, licences=rows, total=total,
        page=page, pages=max(1, -(-total // queries.LICENCES_PAGE)), year=today.year, statuses=queries.STATUSES,
        requests=[attachment_view(session, a) for a in attachments_to(session, found, "pending")],
        waiting=attachment_view(session, waiting) if waiting else None,
        area_names=[regions.full_name(code) for code in found.area])


def _page_number() -> int:
    raw = request.args.get("page", "1")
    if not re.fullmatch(r"[1-9][0-9]{0,5}", raw):
        raise InvalidField("page", _("%(field)s必须是正整数。", field=FILTER_LABELS["page"]()))
    return int(raw)


def _area_rows(form: dict, problems: dict) -> list[str]:
    """The region pickers ``area-N`` as a list of codes (a typed name resolved), in order."""
    codes = []
    for key in sorted((k for k in form if re.fullmatch(r"area-[0-9]{1,2}", k)), key=lambda k: int(k[5:])):
        value = form[key].strip()
        if not value:
            continue
        try:
            codes.append(resolve.region(value, "area"))
        except InvalidField as exc:
            problems.update(exc.fields)
    return codes


def _flag(form: dict, name: str) -> str:
    return "true" if form.get(name) else "false"


@bp.route("/<slug>/profile", methods=["GET", "POST"])
def profile(slug: str):
    session = db.session()
    found = _managed(slug)

    def save(form: dict) -> str:
        problems: dict[str, str] = {}
        data = {k: form.get(k, "") for k in PROFILE if k not in ("area", "qr_digital_link")}
        data["area"] = _area_rows(form, problems)
        data["qr_digital_link"] = _flag(form, "qr_digital_link")
        data["reason"] = form.get("reason", "")
        resolve.saving(problems, lambda: change_brand(session, found, data, user=current_user))
        return url_for("console.brand", slug=found.slug)

    defaults = {"name": found.name, "aliases": "、".join(found.aliases), "description": found.description or "",
                "products": "、".join(found.products), "gi_number": found.gi_number or "",
                "standard": found.standard or "", "qr_digital_link": "on" if found.qr_digital_link else "",
                **{f"area-{i}": code for i, code in enumerate(found.area)}}
    return form_page("console/profile.html", save,
                     saved=lambda: _("品牌“%(name)s”的资料已修改并写入账本。", name=found.name),
                     defaults=defaults, brand=found, area_rows=len(found.area) + AREA_ROWS)


def _brand_form(parent: Brand | None):
    """Register a brand (``parent`` fixed: a sub-brand of that brand, owned by the same owner)."""
    session = db.session()
    registered: list[Brand] = []

    def save(form: dict) -> str:
        problems: dict[str, str] = {}
        data = {k: form.get(k, "") for k in ("name", "slug", "aliases", "category", "level", "products",
                                              "gi_number", "standard", "description")}
        data["area"] = _area_rows(form, problems)
        data["qr_digital_link"] = _flag(form, "qr_digital_link")
        if parent is not None:
            data["parent"], data["owner"] = parent.slug, parent.owner_id
        else:
            data["parent"] = form.get("parent", "")
            if current_user.role == "admin":
                data["owner"] = form.get("owner", "")
            problems.update(resolve.fields(data, {
                "parent": lambda v: resolve.brand(session, v, "parent"),
                "owner": lambda v: resolve.organization(session, v, current_user, "owner", kinds=("brand_owner",))}))
        if not data["slug"]:
            data.pop("slug")
        made = resolve.saving(problems, lambda: register_brand(session, data, user=current_user))
        registered.append(made)
        return url_for("console.brand", slug=made.slug)

    def saved() -> str:
        made = registered[-1]
        if parent is None and made.parent_id is None and pending_request(session, made) is not None:
            return _("品牌“%(name)s”已登记并写入账本；挂靠到上级品牌的申请已发出，等待对方确认。", name=made.name)
        return _("品牌“%(name)s”已登记并写入账本。", name=made.name)

    defaults = {"category": parent.category if parent else "", "level": _level_below(parent),
                "products": "、".join(parent.products) if parent else ""}
    return form_page("console/brand_form.html", save, saved=saved, defaults=defaults, parent=parent,
                     categories=CATEGORIES, levels=LEVELS, area_rows=AREA_ROWS)


def _level_below(parent: Brand | None) -> str:
    if parent is None:
        return ""
    index = LEVELS.index(parent.level)
    return LEVELS[min(index + 1, len(LEVELS) - 1)]


@bp.route("/new-brand", methods=["GET", "POST"])
def new_brand():
    return _brand_form(None)


@bp.route("/<slug>/sub-brands/new", methods=["GET", "POST"])
def new_sub_brand(slug: str):
    return _brand_form(_managed(slug))


@bp.post("/<slug>/attachments/<int:attachment_id>/<any(accept, refuse):decision>")
def decide(slug: str, attachment_id: int, decision: str):
    """Accept or refuse another owner's request to place its brand under this one."""
    session = db.writing()
    found = _managed(slug)
    attachment = get_attachment(session, found, attachment_id)
    child = session.get(Brand, attachment.brand_id)
    decide_ = accept_attachment if decision == "accept" else refuse_attachment
    decide_(session, found, attachment, request.form.to_dict(), user=current_user)
    session.commit()
    done(_("已接受“%(name)s”挂靠为下级品牌。", name=child.name) if decision == "accept"
         else _("已拒绝“%(name)s”的挂靠申请。", name=child.name))
    return redirect(url_for("console.brand", slug=found.slug, _anchor="sub-brands"), code=303)


@bp.route("/<slug>/licences/new", methods=["GET", "POST"])
def new_licence(slug: str):
    session = db.session()
    found = _managed(slug)
    granted: list[str] = []

    def save(form: dict) -> str:
        data = {k: form.get(k, "") for k in ("licensee", "valid_from", "valid_to", "quantity", "unit")}
        data["products"] = [p for i, p in enumerate(found.products) if form.get(f"product-{i}")]
        data["bases"] = [line.strip() for line in form.get("bases", "").splitlines() if line.strip()]
        problems = resolve.fields(data, {"licensee": lambda v: resolve.organization(
            session, v, current_user, "licensee", kinds=PRODUCER_KINDS)})
        licence = resolve.saving(problems, lambda: grant_license(session, found, data, user=current_user))
        org = session.get(Organization, licence.licensee_id)
        granted.append(queries.licensee_name(org, current_user))
        return url_for("console.brand", slug=found.slug, _anchor=f"licence-{licence.id}")

    today = clock.today()
    defaults = {"valid_from": today.isoformat(), "valid_to": date(today.year, 12, 31).isoformat(), "unit": "kg",
                **{f"product-{i}": "on" for i in range(len(found.products)) if len(found.products) == 1}}
    return form_page("console/licence_form.html", save,
                     saved=lambda: _("已向%(licensee)s发放品牌“%(name)s”的使用许可，并写入账本。",
                                     licensee=granted[-1], name=found.name),
                     defaults=defaults, brand=found, units=UNITS, producer_kinds=PRODUCER_KINDS)


@bp.route("/<slug>/licences/<int:licence_id>/revoke", methods=["GET", "POST"])
def revoke_licence(slug: str, licence_id: int):
    session = db.session()
    found = _managed(slug)
    licence = get_license(session, found, licence_id)
    org = session.get(Organization, licence.licensee_id)
    name = queries.licensee_name(org, current_user)

    def save(form: dict) -> str:
        revoke_license(session, found, licence, form, user=current_user)
        return url_for("console.brand", slug=found.slug, _anchor=f"licence-{licence.id}")

    back = url_for("console.brand", slug=found.slug, _anchor=f"licence-{licence.id}")
    confirm = Confirmation(
        _("撤销%(licensee)s的品牌使用许可", licensee=name),
        _("撤销后%(licensee)s不能再以品牌“%(name)s”登记新批次，已登记的批次保留并显示许可已撤销；此操作不可撤销。",
          licensee=name, name=found.name),
        _("确认撤销许可"), back)
    return form_page("console/revoke.html", save,
                     saved=lambda: _("%(licensee)s的品牌使用许可已撤销并写入账本。", licensee=name),
                     confirm=confirm, brand=found, licence=licence, licensee=name, back=back,
                     cap=quantity_text(licence.quantity))


def _filter(args) -> tuple[queries.BatchFilter, dict[str, str]]:
    """Read the batch list's filters; a bad value is named by its label and the list is not shown."""
    labels = {k: v() for k, v in FILTER_LABELS.items()}
    f = Fields({k: v for k, v in args.items() if v != ""}, labels=labels)
    wanted = queries.BatchFilter()
    if args.get("licensee"):
        wanted.licensee = f.integer("licensee")
    wanted.product = f.text("product", required=False, max_length=100)
    wanted.harvest_from = f.date("harvest_from", required=False)
    wanted.harvest_to = f.date("harvest_to", required=False)
    if args.get("outcome"):
        wanted.outcome = f.choice("outcome", queries.OUTCOMES, outcome_labels())
    after = args.get("after", "")
    if after:
        found = re.fullmatch(r"([0-9]{4}-[0-9]{2}-[0-9]{2})\.([1-9][0-9]{0,17})", after)
        try:
            wanted.after = (date.fromisoformat(found.group(1)), int(found.group(2))) if found else None
        except ValueError:
            wanted.after = None
        if wanted.after is None:
            f.fail("after", _("%(field)s无效，请回到第一页重新查看。", field=labels["after"]))
    if wanted.harvest_from and wanted.harvest_to and wanted.harvest_to < wanted.harvest_from:
        f.fail("harvest_to", _("%(end)s不能早于%(start)s。", end=labels["harvest_to"], start=labels["harvest_from"]))
    return wanted, f.errors


def outcome_labels() -> dict:
    return {"pass": _("合格"), "fail": _("不合格"), "none": _("未检测")}


@bp.get("/<slug>/batches")
def batches(slug: str):
    session = db.session()
    found = _managed(slug)
    wanted, errors = _filter(request.args)
    items, count, capped, following = [], 0, False, None
    if not errors:
        items, count, capped, following = queries.brand_batches(session, found, wanted, current_user)
    args = {k: v for k, v in request.args.items() if k in FILTER_LABELS and k != "after" and v}
    message = InvalidInput(next(iter(errors.values())), errors).message if errors else None
    return render_template(
        "console/batches.html", brand=found, items=items, count=count, capped=capped, args=args,
        next_url=url_for("console.batches", slug=found.slug, **args,
                         after=f"{following[0].isoformat()}.{following[1]}") if following else None,
        first_url=url_for("console.batches", slug=found.slug, **args) if wanted.after else None,
        licensees=queries.licensees(session, found, current_user), outcomes=outcome_labels(),
        errors=errors, message=message, values=request.args), 400 if errors else 200

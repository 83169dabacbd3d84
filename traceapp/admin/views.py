"""Administration (admins only; every other role gets 403): the admin's home, organizations (find,
open, change with a reason, deactivate, reactivate), users (find, create, deactivate, reactivate,
change role, reset password) and the log of administrative actions. Every write goes through the
services: ``records.organizations`` and ``auth.accounts``."""

from __future__ import annotations

import json

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from traceapp import db
from traceapp.admin import queries
from traceapp.auth import accounts
from traceapp.auth.models import ROLES
from traceapp.auth.services import login_events
from traceapp.auth.throttle import local_time
from traceapp.errors import Conflict, Forbidden, Rejected
from traceapp.i18n import gettext as _
from traceapp.params import int_arg
from traceapp.pickers import resolve
from traceapp.records.forms import done, form_page
from traceapp.records.models import ORG_KINDS, Organization
from traceapp.records.organizations import (
    CHANGEABLE,
    change_organization,
    search_organizations,
    set_organization_active,
)
from traceapp.records.services import get_organization
from traceapp.validation import InvalidInput

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _admins_only():
    if current_user.role != "admin":
        raise Forbidden(_("只有管理员可以进入管理页面。"))


def _once(page: str):
    """A page showing a secret once: no cache may keep it."""
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def index():
    return home_page()


def home_page():
    """Render the admin's home (also their /home): organizations and users to act on."""
    session = db.session()
    events = accounts.account_events(session, limit=10)
    return render_template("admin/index.html", **queries.attention(session), account_actions=queries.ACCOUNT_ACTIONS,
                           events=events, users=queries.users_by_ids(session, {e.user_id for e in events if e.user_id}),
                           local_time=local_time)


@bp.get("/organizations")
def organizations():
    region = resolve.region(request.args.get("region", "")[:100], "region")  # a name typed without the script
    found = search_organizations(db.session(), q=request.args.get("q", "")[:100], kind=request.args.get("kind", ""),
                                 region=region, active=request.args.get("active", ""),
                                 page=int_arg("page", default=1, minimum=1, maximum=10**6))
    return render_template("admin/organizations.html", found=found, args=request.args, kinds=ORG_KINDS, region=region)


@bp.get("/organizations/<int:org_id>")
def organization(org_id: int):
    session = db.session()
    org = get_organization(session, org_id)
    overview = queries.organization_overview(session, org)
    return render_template("admin/organization.html", org=org, overview=overview,
                           history=queries.described(session, overview.history))


@bp.route("/organizations/<int:org_id>/edit", methods=["GET", "POST"])
def edit_organization(org_id: int):
    org = get_organization(db.session(), org_id)
    current = {field: getattr(org, field) or "" for field in CHANGEABLE}

    def save(form: dict) -> str:
        problems = resolve.fields(form, {"region": lambda v: resolve.region(v, "region")})
        resolve.saving(problems, lambda: change_organization(db.session(), org, form, user=current_user))
        return url_for("admin.organization", org_id=org.id)

    return form_page("admin/organization_form.html", save, defaults=current, org=org, current=current,
                     saved=lambda: _("组织的登记已修改，并已记入账本。"))


@bp.route("/organizations/<int:org_id>/<any(deactivate, reactivate):action>", methods=["GET", "POST"])
def organization_state(org_id: int, action: str):
    org = get_organization(db.session(), org_id)

    def save(form: dict) -> str:
        set_organization_active(db.session(), org, action == "reactivate", form, user=current_user)
        return url_for("admin.organization", org_id=org.id)

    notice = (_("组织已停用：它的用户不能再登录，它的记录保持不变。") if action == "deactivate"
              else _("组织已重新启用。"))
    return form_page("admin/organization_state.html", save, org=org, action=action, saved=notice)


@bp.get("/users")
def users():
    org_id = int_arg("org", default=0, minimum=0, maximum=2**31) or None
    found = accounts.search_users(db.session(), q=request.args.get("q", "")[:100], role=request.args.get("role", ""),
                                  org_id=org_id, active=request.args.get("active", ""),
                                  page=int_arg("page", default=1, minimum=1, maximum=10**6))
    org = get_organization(db.session(), org_id) if org_id else None
    return render_template("admin/users.html", found=found, args=request.args, roles=ROLES, org=org)


def _write(action):
    """Run ``action`` in a write transaction; return (result, None), or (None, the refusal) with
    nothing written."""
    session = db.writing()
    try:
        result = action(session)
    except (InvalidInput, Conflict, Rejected) as exc:
        session.rollback()
        return None, exc
    session.commit()
    return result, None


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    values = {"org": request.args.get("org", "")}
    errors, message, status = {}, None, 200
    if request.method == "POST":
        values = request.form.to_dict()

        def create(session):
            data = dict(values)
            problems = resolve.fields(data, {"org": lambda v: resolve.organization(session, v, current_user, "org")})
            return resolve.saving(problems, lambda: accounts.create_account(session, data, actor=current_user))

        created, refusal = _write(create)
        if refusal is None:
            user, password = created
            return _once(render_template("admin/secret.html", user=user, password=password, created=True))
        errors, message, status = refusal.field_messages(), refusal.message, refusal.status
    return render_template("admin/user_form.html", values=values, errors=errors, message=message,
                           roles=ROLES), status


@bp.get("/users/<int:user_id>")
def user(user_id: int):
    return _user_page(user_id)


def _user_page(user_id: int, *, refusal=None):
    session = db.session()
    account = accounts.get_user(session, user_id)
    org = session.get(Organization, account.organization_id) if account.organization_id else None
    page = render_template("admin/user.html", account=account, org=org, roles=ROLES,
                           events=accounts.account_events(session, user_id=account.id, limit=20),
                           logins=login_events(session, username=account.username, limit=10),
                           errors=refusal.field_messages() if refusal else {},
                           message=refusal.message if refusal else None, local_time=local_time)
    return page, refusal.status if refusal else 200


def _user_action(user_id: int, action, notice: str):
    accounts.get_user(db.session(), user_id)  # 404 before any write
    _result, refusal = _write(lambda s: action(s, accounts.get_user(s, user_id)))
    if refusal is None:
        done(notice)
        return redirect(url_for("admin.user", user_id=user_id), code=303)
    return _user_page(user_id, refusal=refusal)


@bp.route("/users/<int:user_id>/<any(deactivate, reactivate):action>", methods=["GET", "POST"])
def user_state(user_id: int, action: str):
    account = accounts.get_user(db.session(), user_id)
    if request.method == "GET":  # the confirmation step
        return render_template("admin/user_confirm.html", account=account, action=action)
    active = action == "reactivate"
    return _user_action(user_id, lambda s, u: accounts.set_user_active(s, u, active, actor=current_user),
                        _("账号已重新启用。") if active else _("账号已停用：它不能再登录或使用 API 令牌。"))


@bp.post("/users/<int:user_id>/role")
def user_role(user_id: int):
    form = request.form.to_dict()
    return _user_action(user_id, lambda s, u: accounts.change_role(s, u, form, actor=current_user),
                        _("角色已修改；这个用户需要重新登录。"))


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
def user_password(user_id: int):
    account = accounts.get_user(db.session(), user_id)
    if request.method == "GET":  # the confirmation step
        return render_template("admin/user_confirm.html", account=account, action="password")
    password, refusal = _write(lambda s: accounts.reset_password(s, accounts.get_user(s, user_id),
                                                                 actor=current_user))
    if refusal is not None:
        return _user_page(user_id, refusal=refusal)
    return _once(render_template("admin/secret.html", user=accounts.get_user(db.session(), user_id),
                                 password=password, created=False))


@bp.get("/log")
def log():
    session = db.session()
    before = int_arg("before", default=0, minimum=0) or None
    entries_before = int_arg("seq", default=0, minimum=0) or None
    events = accounts.account_events(session, before=before, limit=50)
    entries = queries.organization_entries(session, before=entries_before, limit=50)
    shown = queries.described(session, entries)
    ids = {e.actor_id for e in events} | {e.user_id for e in events} | {e["actor"] for e in shown
                                                                         if isinstance(e["actor"], int)}
    users = queries.users_by_ids(session, {i for i in ids if i is not None})
    for e in shown:
        e["actor_name"] = users[e["actor"]].username if e["actor"] in users else e["actor"]
    org_ids = {int(e["subject"].removeprefix("org:")) for e in shown}
    return render_template("admin/log.html", events=events, entries=shown, users=users,
                           orgs=queries.organizations_by_ids(session, org_ids),
                           older=events[-1].id if len(events) == 50 else None,
                           older_seq=entries[-1][0] if len(entries) == 50 else None,
                           local_time=local_time, detail=_detail)


def _detail(event) -> dict:
    return json.loads(event.detail) if event.detail else {}


@bp.context_processor
def _labels():
    return {"account_actions": queries.ACCOUNT_ACTIONS}

"""Login (throttled and logged), logout that ends the session for good, and the admin's login log."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo

from traceapp import db
from traceapp.auth import accounts, services
from traceapp.auth.throttle import LoginPolicy, LoginThrottled, local_time
from traceapp.errors import Forbidden, InvalidField, NotFound, Rejected
from traceapp.i18n import gettext as _
from traceapp.i18n import lazy_gettext as _l
from traceapp.params import int_arg
from traceapp.public.scans import client_id
from traceapp.records.forms import done

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(message=_l("请填写用户名。"))])
    password = PasswordField(_l("密码"), validators=[DataRequired(message=_l("请填写密码。"))])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("当前密码"), validators=[DataRequired(message=_l("请填写当前密码。"))])
    new = PasswordField(_l("新密码"), validators=[DataRequired(message=_l("请填写新密码。"))])
    repeat = PasswordField(_l("再次输入新密码"), validators=[
        DataRequired(message=_l("请再次输入新密码。")),
        EqualTo("new", message=_l("两次输入的新密码不一致，请重新输入。"))])


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never redirect a login to another host.
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("records.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("login.html", form=form), 400 if request.method == "POST" else 200
    try:
        user = services.log_in(db.session(), form.username.data, form.password.data, client_id(request),
                               policy=LoginPolicy.from_config(current_app.config))
    except LoginThrottled as exc:
        return render_template("login.html", form=form, error=exc.message), exc.status, exc.headers
    if user is None:
        return render_template("login.html", form=form, error=_("用户名或密码不正确。")), 400
    login_user(user)
    return redirect(_safe_next(request.args.get("next")))


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # Ends every session of the user's, not only this cookie: the cookie is the session (it is
        # signed, not stored), so a copy of it would otherwise outlive the logout.
        user_id = current_user.id
        session = db.session()
        session.rollback()  # the read that loaded the user: the update must begin its transaction
        services.end_sessions(session, user_id)
        session.commit()
    logout_user()
    return redirect(url_for("public.index"))


def _password_page(form: PasswordForm, **context):
    return render_template("auth/password.html", form=form, min_length=services.MIN_PASSWORD, **context)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordForm()
    if not form.validate_on_submit():
        return _password_page(form=form), 400 if request.method == "POST" else 200
    username = current_user.username
    try:  # the current password is checked as a login is: throttled and logged
        checked = services.log_in(db.session(), username, form.current.data, client_id(request),
                                  policy=LoginPolicy.from_config(current_app.config))
    except LoginThrottled as exc:
        return _password_page(form=form, error=exc.message), exc.status, exc.headers
    if checked is None:
        form.current.errors.append(_("当前密码不正确。"))
        return _password_page(form=form), 400
    session = db.writing()
    try:
        user = services.set_password(session, username, form.new.data)
    except InvalidField as exc:
        session.rollback()
        form.new.errors.append(exc.message)
        return _password_page(form=form), 400
    session.commit()
    login_user(user)  # this device stays signed in, under the new session version; the others are ended
    return _password_page(form=PasswordForm(formdata=None), done=True)


_CLIENT = re.compile(r"[0-9a-f]{1,64}")


@bp.get("/admin/logins")
@login_required
def login_events():
    if current_user.role != "admin":
        raise Forbidden(_("只有管理员可以查看登录记录。"))
    name = request.args.get("user", "").strip()[:64]
    client = request.args.get("client", "").strip().lower()
    client = client if _CLIENT.fullmatch(client) else ""
    before = int_arg("before", default=0, minimum=0) or None
    events = services.login_events(db.session(), username=name or None, client=client or None, before=before)
    older = events[-1].id if len(events) == services.EVENTS_PAGE else None
    return render_template("auth/logins.html", events=events, name=name, client=client, older=older,
                           local_time=local_time)


@bp.get("/account/tokens")
@login_required
def tokens():
    return render_template("auth/tokens.html", tokens=accounts.own_tokens(db.session(), current_user),
                           local_time=local_time)


@bp.post("/account/tokens")
@login_required
def new_token():
    session = db.writing()
    try:
        row, token = accounts.issue_own_token(session, current_user)
    except Rejected as exc:
        session.rollback()
        return render_template("auth/tokens.html", tokens=accounts.own_tokens(db.session(), current_user),
                               error=exc.message, local_time=local_time), exc.status
    session.commit()
    response = make_response(render_template("auth/tokens.html", tokens=accounts.own_tokens(session, current_user),
                                             new_token=token, local_time=local_time))
    response.headers["Cache-Control"] = "no-store"  # the token is shown this once
    return response


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@login_required
def revoke_token(token_id: int):
    mine = {t.id: t for t in accounts.own_tokens(db.session(), current_user)}
    if token_id not in mine:
        raise NotFound(_("没有这个令牌，或它已被撤销。"))
    if request.method == "GET":  # the confirmation step
        return render_template("auth/token_revoke.html", token=mine[token_id], local_time=local_time)
    session = db.writing()
    accounts.revoke_own_token(session, current_user, token_id)
    session.commit()
    done(_("令牌已撤销：用它发出的请求会被拒绝。"))
    return redirect(url_for("auth.tokens"), code=303)

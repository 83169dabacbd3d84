"""Login and logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from traceapp import db
from traceapp.auth import services
from traceapp.i18n import gettext as _
from traceapp.i18n import lazy_gettext as _l

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(message=_l("请填写用户名。"))])
    password = PasswordField(_l("密码"), validators=[DataRequired(message=_l("请填写密码。"))])


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never redirect a login to another host.
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("records.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = services.authenticate(db.session(), form.username.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        error = _("用户名或密码不正确。")
    status = 400 if request.method == "POST" else 200
    return render_template("login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    logout_user()
    return redirect(url_for("public.index"))

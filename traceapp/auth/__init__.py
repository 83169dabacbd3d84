"""Users, roles, login (Flask-Login, CSRF by Flask-WTF) and API tokens."""

from __future__ import annotations

from flask import Flask
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()


def init_app(app: Flask) -> None:
    from traceapp import db
    from traceapp.auth import cli, services, views
    from traceapp.i18n import lazy_gettext

    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("请先登录。")

    @login_manager.user_loader
    def _load(session_id: str):
        # Runs on every request with a session cookie: a session ended by logout or a password
        # change names an old session version and so no one.
        return services.user_for_session(db.session(), session_id)

    @login_manager.request_loader
    def _from_token(req):
        header = req.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return services.user_for_token(db.session(), header[7:].strip())
        return None

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.users_cli)

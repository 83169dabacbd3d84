"""Users, roles, login (Flask-Login, CSRF by Flask-WTF) and API tokens."""

from __future__ import annotations

from flask import Flask
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
PASSWORD_FIRST_EXEMPT = (None, "static", "auth.change_password", "auth.logout", "auth.login")


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
            return user_of_token(header[7:].strip())
        return None

    @app.before_request
    def _password_first():
        # A temporary password (an admin's reset) opens one page: the one that replaces it.
        from flask import redirect, request, url_for
        from flask_login import current_user

        if (request.endpoint in PASSWORD_FIRST_EXEMPT or request.blueprint in ("api", "public")
                or "Authorization" in request.headers):
            return None
        if current_user.is_authenticated and current_user.must_change_password:
            return redirect(url_for("auth.change_password"))
        return None

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.users_cli)


def user_of_token(token: str):
    """Return the user an API token signs in (``services.user_for_token``), recording its use."""
    from sqlalchemy.exc import OperationalError

    from traceapp import db
    from traceapp.auth import services
    from traceapp.ledger.store import WRITE_OPTION

    session = db.session()
    user = services.user_for_token(session, token)
    # The last use is noted in its own short transaction, so the request's session stays a read
    # until its handler asks to write (db.writing); not while this request holds the write lock
    # (on SQLite the note would wait for it), and a failed note is skipped: the last use is a
    # hint for the token's owner, and no request may fail over it.
    if user is not None and not session.connection().get_execution_options().get(WRITE_OPTION):
        with db.database().sessions() as own:
            try:
                services.note_token_use(own, token)
                own.commit()
            except OperationalError:
                own.rollback()
    return user

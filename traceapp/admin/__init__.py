"""Administration pages (admins only): organizations and users, and the log of what admins did."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from traceapp.admin import views
    from traceapp.records.views import home_for

    app.register_blueprint(views.bp)
    home_for(app, "admin", views.home_page)  # an admin's work is organizations and users

"""Dashboards where people would rather look than read: a regulator's overview, a brand owner's and a
producer's, as server-drawn SVG charts (:mod:`traceapp.charts`) with their figures as tables and CSV."""

from flask import Flask


def init_app(app: Flask) -> None:
    from traceapp.dashboards import views

    app.register_blueprint(views.bp)
    app.jinja_env.globals["dashboard_link"] = views.home_link

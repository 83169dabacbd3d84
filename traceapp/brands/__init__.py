"""The regional brand registry: brands, licences, checked brand claims, public pages."""

from flask import Flask


def init_app(app: Flask) -> None:
    from traceapp.brands import views
    from traceapp.records import regions

    app.register_blueprint(views.bp)
    app.jinja_env.filters["region_short"] = lambda code: regions.get(code).name if regions.get(code) else code

"""Lists and searches of records for each role, and the home pages that lead to each role's work."""

from flask import Flask


def init_app(app: Flask) -> None:
    from traceapp.lists import homes, views
    from traceapp.records.views import home_for

    app.register_blueprint(views.bp)
    for role, view in homes.HOMES.items():
        home_for(app, role, view)

"""Organizations, batches, inspections, certifications: models, services, views."""

from flask import Flask


def init_app(app: Flask) -> None:
    from traceapp.records import guard

    guard.install(app.extensions["traceapp.db"].sessions)

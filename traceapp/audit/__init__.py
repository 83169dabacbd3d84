"""Audit: the public ledger endpoints for auditors and verifiers, and the ledger CLI."""

from flask import Flask


def init_app(app: Flask) -> None:
    from traceapp.audit import cli, desk, export_views, views
    from traceapp.audit.risk import views as risk_views

    app.register_blueprint(views.bp)
    app.register_blueprint(desk.bp)
    app.register_blueprint(export_views.bp)
    app.register_blueprint(risk_views.bp)
    app.cli.add_command(cli.ledger_cli)

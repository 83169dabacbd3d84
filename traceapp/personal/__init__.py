"""Personal data kept off the ledger: the commitments entries carry, the reveals kept beside
them, who may read them, and erasure (个人信息保护法: minimum disclosure, the right to deletion)."""

from flask import Flask


def init_app(app: Flask) -> None:
    from traceapp.personal import cli, views

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.personal_data_cli)

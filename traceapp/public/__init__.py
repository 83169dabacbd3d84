"""Public pages: the home page, the consumer page of a batch and its QR codes."""

from flask import Flask


def init_app(app: Flask) -> None:
    from traceapp.public import digital_link, qr, stored_pages, views

    stored_pages.install(app.extensions["traceapp.db"].sessions)
    app.register_blueprint(views.bp)
    app.register_blueprint(qr.bp)
    app.register_blueprint(digital_link.bp)

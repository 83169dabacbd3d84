"""Public pages: the home page, the consumer page of a batch and its QR codes."""

from flask import Flask


def init_app(app: Flask) -> None:
    from traceapp.public import caching, digital_link, qr, views

    caching.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(qr.bp)
    app.register_blueprint(digital_link.bp)

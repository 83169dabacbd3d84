"""Public pages: the home page (consumer pages, QR codes and the resolver come later)."""

from flask import Flask


def init_app(app: Flask) -> None:
    from traceapp.public import views

    app.register_blueprint(views.bp)

"""The brand owner's console: a brand manager (or an admin) edits the brand's profile, registers
sub-brands and answers requests to attach, grants and revokes licences and watches each licensee's
use against its yearly cap, and lists the brand's batches. Every write goes through
``traceapp.brands.services`` / ``traceapp.brands.attachments``; this package only reads and shows.
A brand manager's home is made here too."""

from flask import Flask


def init_app(app: Flask) -> None:
    from traceapp.console import home, views
    from traceapp.records.views import home_for

    app.register_blueprint(views.bp)
    home_for(app, "brand_manager", home.brand_manager_home)

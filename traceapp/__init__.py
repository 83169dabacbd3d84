"""traceapp: agricultural product traceability and regional-brand registry.

``create_app`` imports Flask and the web layers inside the function so that the pure
ledger package (``traceapp.ledger``) and its offline verifier can be imported without
pulling in Flask or SQLAlchemy through this package's ``__init__``.
"""

from __future__ import annotations


def create_app(test_config: dict | None = None):
    """Create and configure the Flask application."""
    from traceapp import (
        admin,
        api,
        audit,
        auth,
        brands,
        cli,
        config,
        console,
        dashboards,
        db,
        errors,
        i18n,
        lists,
        params,
        personal,
        pickers,
        public,
        records,
        security_headers,
    )
    from traceapp.templating import TraceFlask

    app = TraceFlask(__name__, instance_path=config.instance_path(test_config),
                template_folder="../templates", static_folder="../static")
    config.load(app, test_config)
    app.json.ensure_ascii = False
    security_headers.init_app(app)
    i18n.init_app(app)
    db.init_app(app)
    records.init_app(app)
    errors.init_app(app)
    params.init_app(app)
    auth.init_app(app)
    admin.init_app(app)
    public.init_app(app)
    audit.init_app(app)
    brands.init_app(app)
    console.init_app(app)
    pickers.init_app(app)
    lists.init_app(app)
    dashboards.init_app(app)
    api.init_app(app)
    personal.init_app(app)
    cli.init_app(app)
    return app

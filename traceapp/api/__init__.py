"""The JSON API (/api/v1) and its OpenAPI document."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    import traceapp.api.code_states  # noqa: F401 - freeze, unfreeze, void
    import traceapp.api.personal_data  # noqa: F401 - reveals for auditors
    import traceapp.api.recalls  # noqa: F401 - recall, lift, trace
    import traceapp.api.risks  # noqa: F401 - risk signals
    import traceapp.api.transfers  # noqa: F401 - handing batches over
    from traceapp.api import brands, idempotency  # noqa: F401 - routes and the table register themselves
    from traceapp.api.views import bp
    from traceapp.auth import csrf

    csrf.exempt(bp)  # bearer tokens only, never cookies: no cross-site requests to forge
    app.register_blueprint(bp)

"""WSGI entry point: ``gunicorn wsgi:app``. Refuses to start when this instance's ledger key would not
continue the database's checkpoints (see ``traceapp.ledger.continuity``)."""

from traceapp import create_app
from traceapp.db import check_app_signer
from traceapp.heap import freeze_startup_objects

app = create_app()
check_app_signer(app)
freeze_startup_objects()

"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import traceapp.api.idempotency  # noqa: F401
import traceapp.audit.models  # noqa: F401
import traceapp.auth.models  # noqa: F401 - registers the tables on Base.metadata
import traceapp.brands.models  # noqa: F401
import traceapp.public.models  # noqa: F401
import traceapp.records.models  # noqa: F401
from traceapp.db import Base
from traceapp.ledger.store import LedgerBase


def test_migrated_schema_matches_the_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, [LedgerBase.metadata, Base.metadata])
    diff = [d for d in diff if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")]
    assert diff == []

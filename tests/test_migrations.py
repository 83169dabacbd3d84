"""The migrations build exactly the schema the models describe, and carry existing rows over, on SQLite and
PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

import traceapp.api.idempotency  # noqa: F401
import traceapp.audit.models  # noqa: F401
import traceapp.auth.models  # noqa: F401 - registers the tables on Base.metadata
import traceapp.brands.models  # noqa: F401
import traceapp.personal.models  # noqa: F401
import traceapp.public.models  # noqa: F401
import traceapp.records.models  # noqa: F401
from traceapp import migrations
from traceapp.db import Base
from traceapp.ledger.store import LedgerBase, configure_engine


def test_migrated_schema_matches_the_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, [LedgerBase.metadata, Base.metadata])
    diff = [d for d in diff if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")]
    assert diff == []


def test_scan_counts_are_backfilled_from_the_stored_scans(database_url):
    """0013 adds each first scan's count of stored scans, counted from the scans already there."""
    engine = create_engine(database_url)
    configure_engine(engine)
    try:
        migrations.upgrade(engine, "0012_export_log")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO first_scans (batch_id, scanned_at, client) VALUES "
                              "(1, '2026-08-05 06:03:00', 'a'), (2, '2026-08-05 06:04:00', 'b')"))
            conn.execute(text("INSERT INTO scans (batch_id, scanned_at, client, hints) VALUES "
                              "(1, '2026-08-05 06:03:00', 'a', ''), (1, '2026-08-05 07:00:00', 'c', ''), "
                              "(1, '2026-08-06 07:00:00', 'd', ''), (2, '2026-08-05 06:04:00', 'b', '')"))
        migrations.upgrade(engine)
        with engine.connect() as conn:
            counts = dict(conn.execute(text("SELECT batch_id, scan_count FROM first_scans")).all())
        assert counts == {1: 3, 2: 1}
    finally:
        engine.dispose()

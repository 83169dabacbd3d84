"""Alembic environment: migrates the engine handed over in ``config.attributes``."""

from alembic import context

from traceapp.db import Base
from traceapp.ledger.store import LedgerBase

config = context.config
target_metadata = [LedgerBase.metadata, Base.metadata]

engine = config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()

"""Database: the engine, one session per request (or CLI command), the domain Base, and
the ledger bound to every session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine, MetaData, create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from traceapp.ledger.continuity import check_signer
from traceapp.ledger.store import NAMING_CONVENTION, WRITE_OPTION, Ledger, begin_write, configure_engine
from traceapp.signing import load_signer


class Base(DeclarativeBase):
    """Declarative base of the domain models (projections of the ledger)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # True for tables derived from the ledger: changing their rows needs a ledger entry.
    projection: ClassVar[bool] = False


class Database:
    """What the app keeps per process: engine, session factory and ledger."""

    def __init__(self, url: str, ledger: Ledger):
        options = {"pool_pre_ping": True} if not url.startswith("sqlite") else {}
        self.engine = create_engine(url, **options)
        configure_engine(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.ledger = ledger
        ledger.install(self.sessions)


def init_app(app: Flask) -> None:
    """Create the engine, session factory and ledger for ``app``."""
    signer = load_signer(app.instance_path, app.config["TRACEAPP_LEDGER_ORIGIN"])
    database = Database(app.config["DATABASE_URL"], Ledger(signer))
    app.extensions["traceapp.db"] = database
    app.teardown_appcontext(_close_session)
    _adopt_stored_origin(app, database)


def _adopt_stored_origin(app: Flask, database: Database) -> None:
    """Sign and name the key under the origin the stored checkpoints carry: the configured origin
    only decides it for a ledger without checkpoints. A database that cannot be read yet (not
    migrated, not reachable) keeps the configured one; ``db upgrade`` and every append read it again."""
    configured = database.ledger.signer.name
    try:
        with database.engine.connect() as conn:
            stored = database.ledger.adopt_stored_origin(conn)
    except DBAPIError:
        return
    if stored is not None:
        if stored != configured and app.config.get("TRACEAPP_LEDGER_ORIGIN_SET"):
            app.logger.warning("TRACEAPP_LEDGER_ORIGIN is %r, but the ledger's checkpoints are signed under %r; "
                               "the ledger keeps its origin", configured, stored)
        app.config["TRACEAPP_LEDGER_ORIGIN"] = stored


def database() -> Database:
    return current_app.extensions["traceapp.db"]


def ledger() -> Ledger:
    return database().ledger


def session() -> Session:
    """Return this request's session (reads; call ``writing()`` before a write)."""
    if "db_session" not in g:
        g.db_session = database().sessions()
    return g.db_session


def writing() -> Session:
    """Return this request's session in a write transaction, holding the ledger's write lock
    until commit or rollback.

    Call it after the checks that need no lock (token, body shape) and before the service
    reads what it validates against. A read transaction already open (the login lookup,
    say) is ended first, since the write transaction must begin with the lock.
    """
    s = session()
    if s.in_transaction():
        if s.connection().get_execution_options().get(WRITE_OPTION):
            return s
        s.rollback()
    begin_write(s)
    return s


@contextmanager
def statement_reads(engine: Engine | None = None) -> Iterator[Connection]:
    """Yield a connection of ``engine`` (default: the app's) for statements that each stand alone
    (each sees its own snapshot): on PostgreSQL outside any transaction, saving the BEGIN and
    ROLLBACK round trips; on SQLite in a transaction, which costs next to nothing in-process."""
    engine = engine or database().engine
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def check_app_signer(app: Flask) -> None:
    """``check_signer`` for an app about to serve (``wsgi.py``): raise SignerMismatch when its key
    would not continue the database's checkpoints. A database that cannot be read yet (not
    migrated, not reachable) is logged and not checked: ``db upgrade``, which must come first, checks it."""
    with app.app_context():
        try:
            check_signer(ledger(), session())
        except DBAPIError as exc:
            app.logger.warning("ledger signer not checked at start: %s", type(exc).__name__)


@contextmanager
def write_session():
    """Yield a session in a write transaction (for CLI commands); commit on success."""
    with database().sessions() as s:
        begin_write(s)
        yield s
        s.commit()


def _close_session(_exc) -> None:
    s = g.pop("db_session", None)
    if s is not None:
        s.close()

"""Database: the engine, one session per request (or CLI command), the domain Base, and
the ledger bound to every session."""

from __future__ import annotations

from contextlib import contextmanager

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import MetaData, create_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from traceapp.ledger.store import NAMING_CONVENTION, Ledger, begin_write, configure_engine
from traceapp.signing import load_signer

READ_METHODS = {"GET", "HEAD", "OPTIONS"}


class Base(DeclarativeBase):
    """Declarative base of the domain models (projections of the ledger)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


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
    app.extensions["traceapp.db"] = Database(app.config["DATABASE_URL"], Ledger(signer))
    app.teardown_appcontext(_close_session)


def database() -> Database:
    return current_app.extensions["traceapp.db"]


def ledger() -> Ledger:
    return database().ledger


def session() -> Session:
    """Return this request's session; requests that may write start a write transaction."""
    if "db_session" not in g:
        g.db_session = database().sessions()
        if has_request_context() and request.method not in READ_METHODS:
            begin_write(g.db_session)
    return g.db_session


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

"""Fixtures: a fresh app and database per test, created through the real migrations, on
SQLite and on PostgreSQL.

PostgreSQL: ``TRACEAPP_TEST_DATABASE_URL`` names a server database (CI sets it; then the
PostgreSQL tests never skip). Without it the tests try the local server at
127.0.0.1:5432 and skip, saying so, only when no server answers. Each pytest-xdist worker
gets its own database, emptied before every test.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import sessionmaker

from traceapp import migrations
from traceapp.ledger.note import Signer
from traceapp.ledger.store import Ledger, configure_engine

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
LOCAL_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TEST_SEED = bytes(range(32))
TEST_ORIGIN = "test.traceapp.example/ledger"


def shared_file(*parts: str) -> Path:
    """Return a file under ../shared, skipping the test with a clear message when absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is missing: the published vectors live in ../shared beside the checkout")
    return path


def _pg_base_url() -> tuple[str, bool]:
    configured = os.environ.get("TRACEAPP_TEST_DATABASE_URL")
    return (configured, True) if configured else (LOCAL_PG, False)


def _admin_engine(url: str):
    admin = make_url(url).set(database="postgres")
    return create_engine(admin, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_url() -> str:
    """A PostgreSQL database of this test worker's own (created once per session)."""
    base, required = _pg_base_url()
    name = f"{make_url(base).database}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    try:
        admin = _admin_engine(base)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server"
        if required:
            raise
        pytest.skip(f"PostgreSQL tests skipped: no server answers at {base} ({type(exc).__name__}); "
                    "set TRACEAPP_TEST_DATABASE_URL to run them")
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _reset_pg(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """An empty database URL: a new SQLite file, or the worker's emptied PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    url = request.getfixturevalue("pg_url")
    if "demo" not in request.fixturenames:  # a demo test's database is replaced by a copy instead
        _reset_pg(url)
    return url


@pytest.fixture
def engine(database_url):
    """An engine on a freshly migrated database."""
    eng = create_engine(database_url)
    configure_engine(eng)
    migrations.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def signer() -> Signer:
    return Signer.from_seed(TEST_ORIGIN, TEST_SEED)


@pytest.fixture
def sessions(engine, signer):
    """A session factory whose sessions seal ledger appends with the test signer."""
    factory = sessionmaker(engine, expire_on_commit=False)
    Ledger(signer).install(factory)
    return factory


@pytest.fixture
def ledger(sessions, signer) -> Ledger:
    # The same signer as the one installed on ``sessions``.
    return Ledger(signer)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite file the real migrations made, once per test worker: each SQLite test's app starts
    from a copy of it, which saves running every migration again for every test."""
    path = tmp_path_factory.mktemp("migrated") / "schema.db"
    eng = create_engine(f"sqlite:///{path}")
    configure_engine(eng)
    migrations.upgrade(eng)
    eng.dispose()
    return path


def new_app(database_url: str, instance: Path | str, **config):
    """An app as the tests make it: this database and instance folder, ``config`` on top."""
    from traceapp import create_app

    return create_app({"DATABASE_URL": database_url, "TESTING": True, "TRACEAPP_INSTANCE_PATH": str(instance),
                       "TRACEAPP_PUBLIC_URL": "http://traceapp.test", **config})


def close_app(app) -> None:
    """Close the app's connections (a test's end)."""
    app.extensions["traceapp.db"].engine.dispose()


def _invoke(app, *args: str) -> None:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def demo_sqlite(tmp_path_factory, migrated_sqlite) -> tuple[Path, Path]:
    """A SQLite file with the demo data (``seed-demo``) and the instance folder whose key signed its
    checkpoints, made once per test worker: tests that use the ``demo`` fixture start from copies,
    which saves seeding for each of them."""
    folder = tmp_path_factory.mktemp("demo")
    path, instance = folder / "demo.db", folder / "instance"
    shutil.copyfile(migrated_sqlite, path)
    app = new_app(f"sqlite:///{path}", instance)
    _invoke(app, "db", "upgrade")
    _invoke(app, "seed-demo")
    close_app(app)
    return path, instance


@pytest.fixture(scope="session")
def demo_postgres(pg_url, tmp_path_factory) -> tuple[str, Path]:
    """The PostgreSQL twin of ``demo_sqlite``: a database of the worker's, seeded once, that tests
    with the ``demo`` fixture copy as a template (``CREATE DATABASE … TEMPLATE``)."""
    name = f"{make_url(pg_url).database}_demo"
    admin = _admin_engine(pg_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    instance = tmp_path_factory.mktemp("demo") / "instance"
    app = new_app(make_url(pg_url).set(database=name).render_as_string(hide_password=False), instance)
    _invoke(app, "db", "upgrade")
    _invoke(app, "seed-demo")
    close_app(app)  # a template database takes no connections while it is copied
    yield name, instance
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _copy_demo_postgres(request, database_url: str) -> Path:
    """Make the worker's database a copy of its seeded demo database; return the demo's instance folder."""
    template, instance = request.getfixturevalue("demo_postgres")
    name = make_url(database_url).database
    admin = _admin_engine(database_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return instance


@pytest.fixture
def app(database_url, tmp_path, request):
    """A fresh app on a freshly migrated database; with the demo data loaded when the test (or one
    of its fixtures) uses the ``demo`` fixture, else empty but for the first checkpoint."""
    from traceapp import db

    instance = tmp_path / "instance"
    sqlite = database_url.startswith("sqlite:///")
    if "demo" in request.fixturenames:
        if sqlite:
            path, seeded = request.getfixturevalue("demo_sqlite")
            shutil.copyfile(path, make_url(database_url).database)
        else:
            seeded = _copy_demo_postgres(request, database_url)
        shutil.copytree(seeded, instance)  # the key that signed the demo's checkpoints, the salts
        app = new_app(database_url, instance)
    elif sqlite:  # start from a copy of the schema the migrations made once for this worker
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), make_url(database_url).database)
        app = new_app(database_url, instance)
        with app.app_context(), db.write_session() as session:  # what `db upgrade` does on a database at head
            db.ledger().sign_empty(session)
    else:  # PostgreSQL: copying a template database costs more here than migrating
        app = new_app(database_url, instance)
        _invoke(app, "db", "upgrade")
    yield app
    close_app(app)


@pytest.fixture
def demo(app):
    """The app with the demo data set (``seed-demo``) loaded: ``app`` starts from a copy of it."""
    return app


@pytest.fixture
def client(app):
    return app.test_client()

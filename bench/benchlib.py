"""What the benchmarks share: throwaway databases, log lines, the met/NO column."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import make_url


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def yes(met: bool) -> str:
    return "yes" if met else "NO"


@contextmanager
def sqlite_database(name: str) -> Iterator[tuple[str, Path]]:
    """Yield (URL of a fresh SQLite file, an empty instance folder)."""
    with tempfile.TemporaryDirectory(prefix=f"{name}-bench-") as tmp:
        yield f"sqlite:///{tmp}/{name}.db", Path(tmp) / "instance"


@contextmanager
def postgres_database(base_url: str, prefix: str) -> Iterator[tuple[str, Path]]:
    """Yield (URL of a fresh database on ``base_url``'s server, an empty instance folder); drop it at the end."""
    base = make_url(base_url)
    admin = {"host": base.host, "port": base.port, "user": base.username, "password": base.password,
             "dbname": "postgres", **base.query}
    admin = {key: value for key, value in admin.items() if value is not None}
    database = f"{prefix}_{os.getpid()}"
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        with tempfile.TemporaryDirectory(prefix=f"{prefix}-bench-") as tmp:
            yield base.set(database=database).render_as_string(hide_password=False), Path(tmp) / "instance"
    finally:
        with psycopg.connect(**admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))

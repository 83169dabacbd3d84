"""What the benchmarks share: throwaway databases, a gunicorn server, log lines, the met/NO column."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
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


class Gunicorn:
    """gunicorn serving ``app`` from ``root`` on a port chosen by the OS (handed over as ``fd://``),
    its output in ``log_path``."""

    def __init__(self, app: str, root: Path, env: dict, workers: int, log_path: Path, probe: str):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        self.host, self.port = listener.getsockname()
        self.probe = probe
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"fd://{listener.fileno()}",
             "--backlog", "2048", "--timeout", "120", "--graceful-timeout", "10", app],
            cwd=root, env=env, stdout=self._log, stderr=subprocess.STDOUT, pass_fds=[listener.fileno()],
            start_new_session=True)
        listener.close()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def get(self, path: str, timeout: float = 120) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def wait(self, timeout: float = 60) -> None:
        """Return once the probe path answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if self.get(self.probe, 5)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"gunicorn did not answer within {timeout} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()

    def log_text(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_text()[-chars:]

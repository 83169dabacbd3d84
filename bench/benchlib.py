"""What the benchmarks share: throwaway databases, a gunicorn server, the app's environment and
migration, an in-process profile of pages with every SQL statement timed, wrk, log lines, the met/NO column."""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import create_engine, event, make_url, text

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_URL = "http://bench.traceapp.test"
ORIGIN = "bench.traceapp.test/ledger"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def vm_kib(field: str) -> int:
    """Return a VmHWM/VmRSS figure of this process in KiB (its own address space only: unlike ru_maxrss, a
    child's VmHWM does not start from its parent's peak)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def yes(met: bool) -> str:
    return "yes" if met else "NO"


QUICK_HELP = ("a smoke run: a tiny registry and one short round, so that tests/test_benchmarks_run.py shows the "
              "benchmark still runs (its figures mean nothing)")


def apply_quick(parser: argparse.ArgumentParser, args: argparse.Namespace, **small) -> argparse.Namespace:
    """With ``--quick``, set each option in ``small`` that was left at its default to the small value."""
    if getattr(args, "quick", False):
        for key, value in small.items():
            if getattr(args, key) == parser.get_default(key):
                setattr(args, key, value)
    return args


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

    def settle(self, timeout: float = 120) -> float:
        """Wait until the workers have worked off what a finished wrk run left queued (the connections wrk
        closed still hold requests that gunicorn answers): until two probes in a row answer within 100 ms.
        Return the seconds it took."""
        start = time.monotonic()
        quick = 0
        while quick < 2 and time.monotonic() - start < timeout:
            t0 = time.monotonic()
            self.get(self.probe)
            quick = quick + 1 if time.monotonic() - t0 < 0.1 else 0
        return time.monotonic() - start

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


def database_size(url: str) -> int:
    """Return the bytes the database takes (SQLite: its files, with -wal and -shm)."""
    if url.startswith("sqlite"):
        path = Path(make_url(url).database)
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    finally:
        engine.dispose()


def app_env(url: str, instance: Path) -> dict:
    """Return the environment of the app under benchmark: this database and instance folder, the bench URLs."""
    env = {**os.environ, "DATABASE_URL": url, "TRACEAPP_INSTANCE_PATH": str(instance),
           "TRACEAPP_PUBLIC_URL": PUBLIC_URL, "TRACEAPP_LEDGER_ORIGIN": ORIGIN}
    for key in ("SECRET_KEY", "TRACEAPP_ENV", "BENCH_BARE_BYTES"):
        env.pop(key, None)
    return env


def migrate(env: dict) -> None:
    """Run ``flask --app traceapp db upgrade`` in ``env``."""
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "traceapp", "db", "upgrade"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"flask db upgrade failed ({out.returncode}):\n{out.stdout}{out.stderr}")


def profile(url: str, instance: Path, paths: dict[str, str], repeat: int, config: dict | None = None,
            keep_statements: bool = False) -> dict:
    """Render each path ``repeat`` times in-process (Flask test client, page cache off, ``config`` on top)
    with every SQL statement timed; return per path the size, status, statements, SQL and total
    milliseconds (medians; also the first run's total and statements), the costliest statements of the
    last run and its body (and with ``keep_statements`` every (statement, seconds) of the last run)."""
    from traceapp import create_app

    app = create_app({"DATABASE_URL": url, "TRACEAPP_INSTANCE_PATH": str(instance), "TRACEAPP_PUBLIC_URL": PUBLIC_URL,
                      "TRACEAPP_LEDGER_ORIGIN": ORIGIN, "PAGE_CACHE": False, **(config or {})})
    engine = app.extensions["traceapp.db"].engine
    statements: list[tuple[str, float]] = []
    started: list[float] = []

    def _before(*_args):
        started.append(time.perf_counter())

    def _after(_conn, _cursor, statement, *_args):
        statements.append((" ".join(statement.split()), time.perf_counter() - started.pop()))

    event.listen(engine, "before_cursor_execute", _before)
    event.listen(engine, "after_cursor_execute", _after)

    client = app.test_client()
    result = {}
    try:
        for what, path in paths.items():
            runs = []
            for _ in range(repeat):
                statements.clear()
                t0 = time.perf_counter()
                response = client.get(path)
                total = time.perf_counter() - t0
                runs.append((total, sum(s for _, s in statements), len(statements)))
            by_text: dict[str, list[float]] = defaultdict(list)
            for statement, seconds in statements:
                by_text[statement].append(seconds)
            top = sorted(by_text.items(), key=lambda kv: sum(kv[1]), reverse=True)[:4]
            result[what] = {
                "path": path, "status": response.status_code, "bytes": len(response.data),
                "statements": runs[-1][2], "sql_ms": round(1000 * statistics.median(r[1] for r in runs), 1),
                "total_ms": round(1000 * statistics.median(r[0] for r in runs), 1),
                "first_total_ms": round(1000 * runs[0][0], 1), "first_statements": runs[0][2],
                "top": [{"sql": s[:160], "calls": len(t), "ms": round(1000 * sum(t), 1)} for s, t in top],
                "body": response.get_data().decode(errors="replace")}
            if keep_statements:
                result[what]["log"] = list(statements)
    finally:
        engine.dispose()
    return result


def ensure_wrk() -> str:
    """Return the path of wrk, installing Debian's package first if it is missing (as root)."""
    found = shutil.which("wrk") or ("/usr/bin/wrk" if Path("/usr/bin/wrk").exists() else None)
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: install it with `apt-get install -y wrk` (as root)")
    log("wrk is missing: apt-get install -y wrk")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        out = subprocess.run(install, env=env, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"apt-get install -y wrk failed:\n{out.stdout}{out.stderr}")
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is still missing after apt-get install")
    return found


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def duration_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", value).groups()
    return float(number) * _UNITS_MS[unit]


def parse_wrk(output: str) -> dict:
    """Pull requests/s, the latency percentiles, the request count and the errors out of ``wrk --latency``
    (and the ``X-Cache-Status <value> <count>`` lines a script may print)."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if rps is None:
        raise SystemExit(f"could not read wrk's output:\n{output}")
    pct = {f"p{int(p)}_ms": duration_ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.M)}
    total = re.search(r"^\s+(\d+) requests in", output, re.M)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = dict(zip(("connect", "read", "write", "timeout"), map(int, socket_errors.groups()), strict=True)) \
        if socket_errors else {}
    cache = {key: int(n) for key, n in re.findall(r"^X-Cache-Status (\S+) (\d+)$", output, re.M)}
    return {"req_per_s": float(rps.group(1)), **pct, "requests": int(total.group(1)) if total else 0,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors,
            **({"cache_status": cache} if cache else {})}


def run_wrk(wrk: str, url: str, args: argparse.Namespace, seconds: int, script: Path | None = None,
            script_args: tuple[str, ...] = ()) -> dict:
    """Run wrk (``args.threads`` threads, ``args.connections`` connections, with ``--latency`` and, if
    given, the Lua ``script`` and its arguments) for ``seconds`` against ``url``; return parse_wrk's figures."""
    cmd = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--timeout", "30s", "--latency",
           *(["-s", str(script)] if script else []), url, *(["--", *script_args] if script_args else [])]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}{out.stderr}")
    return parse_wrk(out.stdout)

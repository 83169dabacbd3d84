"""200 batch registrations sent at once to gunicorn with 4 worker processes on PostgreSQL:
every one is answered 201 with its own code, the database gains exactly 200 batches and 200
ledger entries, and the chain stays unbroken (``flask --app traceapp ledger verify``).

The app runs as it is deployed (``gunicorn --workers 4 wsgi:app`` from the checkout), on a
PostgreSQL database of this test's own, ``<base>_conc_<worker>``, on the server the
``pg_url`` fixture uses (``TRACEAPP_TEST_DATABASE_URL``, else the local server; without the
variable the test skips, saying so, only when no server answers).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.orm import Session

from tests.conftest import _admin_engine, _pg_base_url
from traceapp.ledger.store import Ledger, LedgerCheckpoint, LedgerEntry, begin_snapshot
from traceapp.records.models import Batch
from traceapp.signing import load_signer

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
REQUESTS = 200
THREADS = 50
WORKERS = 4
PUBLIC_URL = "http://conc.traceapp.test"
ORIGIN = "conc.traceapp.test/ledger"
BATCH = {"product": "黄桃", "category": "fruit", "quantity": "10", "unit": "kg", "harvest_date": "2026-08-01",
         "origin_region": "430225", "base": "鹿原镇九龙村基地"}


@pytest.fixture(scope="module")
def conc_url():
    """A PostgreSQL database of this module's own on the test server, dropped afterwards."""
    base, required = _pg_base_url()
    name = f"{make_url(base).database}_conc_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = _admin_engine(base)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server"
        admin.dispose()
        if required:
            raise
        pytest.skip(f"PostgreSQL tests skipped: no server answers at {base} ({type(exc).__name__}); "
                    "set TRACEAPP_TEST_DATABASE_URL to run them")
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def app_env(conc_url, tmp_path_factory) -> dict:
    """The environment of every ``flask`` and ``gunicorn`` process: this database and a fresh instance folder."""
    env = {**os.environ, "DATABASE_URL": conc_url, "TRACEAPP_INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
           "TRACEAPP_PUBLIC_URL": PUBLIC_URL, "TRACEAPP_LEDGER_ORIGIN": ORIGIN}
    env.pop("SECRET_KEY", None)
    env.pop("TRACEAPP_ENV", None)
    return env


def flask(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "traceapp", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def check(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"{result.args}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def token(app_env) -> str:
    """Migrate, load the demo data (user ``luyuan``, producer of a cooperative) and return its API token."""
    check(flask(app_env, "db", "upgrade"))
    check(flask(app_env, "seed-demo"))
    out = check(flask(app_env, "users", "token", "luyuan")).strip().splitlines()
    assert out and out[-1].strip(), "users token printed nothing"
    return out[-1].strip()


@pytest.fixture(scope="module")
def server(app_env, token, tmp_path_factory):
    """``gunicorn --workers 4 wsgi:app`` on a port chosen by the OS; yields (host, port); always stopped."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))  # handed to gunicorn as fd://, so no one can take the port in between
    host, port = listener.getsockname()
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed by the finalizer below
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", str(WORKERS),
                             "--bind", f"fd://{listener.fileno()}", "--timeout", "60", "--graceful-timeout", "10",
                             "wsgi:app"], cwd=ROOT, env=app_env, stdout=log, stderr=subprocess.STDOUT,
                            pass_fds=[listener.fileno()], start_new_session=True)
    listener.close()

    def log_text() -> str:
        log.flush()
        return log_path.read_text(errors="replace")[-5000:]

    try:
        wait_until_answering(proc, host, port, log_text)
        yield host, port, log_text
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the master and its workers: a session of their own
                proc.wait(timeout=10)
        log.close()


def wait_until_answering(proc: subprocess.Popen, host: str, port: int, log_text, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited with {proc.returncode} before answering:\n{log_text()}")
        try:
            status, _ = request(host, port, "GET", "/ledger/checkpoint", timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not answer within {timeout} s:\n{log_text()}")


def request(host: str, port: int, method: str, path: str, body: dict | None = None,
            headers: dict | None = None, timeout: float = 60) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        payload = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        conn.request(method, path, body=payload, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def counts(url: str) -> tuple[int, int, int]:
    """Return (batches, ledger entries, checkpoints) in the database."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return (conn.scalar(select(func.count()).select_from(Batch)),
                    conn.scalar(select(func.count()).select_from(LedgerEntry)),
                    conn.scalar(select(func.count()).select_from(LedgerCheckpoint)))
    finally:
        engine.dispose()


def test_200_concurrent_batch_registrations_through_4_gunicorn_workers(server, token, conc_url, app_env):
    host, port, log_text = server
    batches_before, entries_before, checkpoints_before = counts(conc_url)
    headers = {"Authorization": f"Bearer {token}"}

    def register(i: int) -> tuple[int, bytes, float]:
        start = time.perf_counter()
        try:
            status, body = request(host, port, "POST", "/api/v1/batches", {**BATCH, "lot": f"CONC{i:04d}"}, headers)
        except OSError as exc:
            return -1, repr(exc).encode(), time.perf_counter() - start
        return status, body, time.perf_counter() - start

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        answers = list(pool.map(register, range(REQUESTS)))
    elapsed = time.perf_counter() - started

    failed = [(i, status, body[:300]) for i, (status, body, _) in enumerate(answers) if status != 201]
    assert not failed, f"{len(failed)} of {REQUESTS} not 201, e.g. {failed[:5]}\ngunicorn log:\n{log_text()}"
    results = [json.loads(body) for _, body, _ in answers]
    codes = [r["code"] for r in results]
    assert len(set(codes)) == REQUESTS, "batch codes repeat"
    assert sorted(r["lot"] for r in results) == [f"CONC{i:04d}" for i in range(REQUESTS)]
    # one entry each, appended one after another: no seq was handed out twice or skipped
    assert sorted(r["ledger_seq"] for r in results) == list(range(entries_before, entries_before + REQUESTS))

    batches_after, entries_after, checkpoints_after = counts(conc_url)
    assert batches_after - batches_before == REQUESTS
    assert entries_after - entries_before == REQUESTS
    assert checkpoints_after - checkpoints_before == REQUESTS  # one signed checkpoint per committed request

    engine = create_engine(conc_url)
    try:
        with engine.connect() as conn:
            stored = set(conn.scalars(select(Batch.code).where(Batch.code.in_(codes))))
            subjects = set(conn.scalars(select(LedgerEntry.subject).where(LedgerEntry.kind == "batch.registered",
                                                                           LedgerEntry.seq >= entries_before)))
            # the chain, link by link: each entry names the hash of the one before it
            rows = conn.execute(select(LedgerEntry.seq, LedgerEntry.body, LedgerEntry.hash)
                                .order_by(LedgerEntry.seq)).all()
        assert stored == set(codes)
        assert subjects == {f"batch:{code}" for code in codes}
        assert [r.seq for r in rows] == list(range(len(rows)))
        for before, after in zip(rows, rows[1:], strict=False):
            assert json.loads(bytes(after.body))["prev"] == before.hash, f"broken chain link at seq {after.seq}"
        # and in full (chain hashes, tree, every checkpoint signature) with the instance's key
        ledger = Ledger(load_signer(app_env["TRACEAPP_INSTANCE_PATH"], ORIGIN))
        with Session(engine) as session:
            begin_snapshot(session)
            summary = ledger.verify(session)
        assert summary.size == entries_after and summary.checkpoints == checkpoints_after
    finally:
        engine.dispose()

    verify = flask(app_env, "ledger", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.startswith("OK"), verify.stdout
    assert "Traceback" not in log_text(), log_text()
    print(f"{REQUESTS} registrations with {THREADS} threads in {elapsed:.2f} s "
          f"({REQUESTS / elapsed:.0f}/s); {verify.stdout.strip()}")

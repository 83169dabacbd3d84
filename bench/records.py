"""Records benchmark: batch registration over HTTP beside a raw ledger append, same server, same run.

    .venv/bin/python bench/records.py                                   # SQLite, 1000 requests x 3 rounds
    .venv/bin/python bench/records.py --requests 200                    # a quick run
    .venv/bin/python bench/records.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Per engine (SQLite: a fresh file in a temporary folder; with ``--postgres``: a fresh database
created on that URL's server and dropped at the end) it migrates, loads the demo data, takes
an API token for the producer ``luyuan`` and starts ``gunicorn --workers 4`` serving
``bench/records_app.py``: the app plus ``POST /bench/append``, which appends one ledger entry
in its own write transaction and nothing else. Then, interleaved (baseline, records,
baseline, records, ... ``--rounds`` of each, after a warm-up), ``--concurrency`` client
threads send ``--requests`` requests each time:

- baseline: ``POST /bench/append`` with the same batch-sized JSON body, the raw-ledger-append
  floor (write lock, one entry, signed checkpoint, commit);
- records: ``POST /api/v1/batches`` with the producer's bearer token (token lookup,
  validation, code, projection rows, ledger entry, checkpoint, commit, response schema).

Throughput is requests / wall time of a round; latency is per request, from connecting to
having read the answer (one connection per request: gunicorn's sync workers close it). The
figures are medians over the rounds; the ratio is records/baseline throughput, target >= 0.5.
Every answer must be 201 (others are counted and shown), and at the end ``flask --app
traceapp ledger verify`` must pass on each database. Prints a table, then one JSON object
with every figure as the last line.

The client runs on the same machine as the server and the database, so all three share its CPUs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from benchlib import (  # bench/ is the script's folder
    QUICK_HELP,
    Gunicorn,
    apply_quick,
    log,
    postgres_database,
    sqlite_database,
    yes,
)
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
APP = "bench.records_app:app"
PUBLIC_URL = "http://bench.traceapp.test"
ORIGIN = "bench.traceapp.test/ledger"
PRODUCER = "luyuan"  # the demo data's cooperative producer
TARGET = 0.5
BATCH = {"product": "黄桃", "category": "fruit", "quantity": "10", "unit": "kg", "harvest_date": "2026-08-01",
         "origin_region": "430225", "base": "基地"}


NAME = "records"


def batch_body(i: int) -> dict:
    return {**BATCH, "lot": f"B{i:07d}"}


# --- the app -------------------------------------------------------------------------------


def app_env(url: str, instance: Path) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "TRACEAPP_INSTANCE_PATH": str(instance),
           "TRACEAPP_PUBLIC_URL": PUBLIC_URL, "TRACEAPP_LEDGER_ORIGIN": ORIGIN}
    env.pop("SECRET_KEY", None)
    env.pop("TRACEAPP_ENV", None)
    return env


def flask(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "traceapp", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    if check and out.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed ({out.returncode}):\n{out.stdout}{out.stderr}")
    return out


def prepare(env: dict) -> str:
    """Migrate, load the demo data and return an API token of the producer."""
    flask(env, "db", "upgrade")
    flask(env, "seed-demo")
    return flask(env, "users", "token", PRODUCER).stdout.strip().splitlines()[-1].strip()


class Server(Gunicorn):
    """gunicorn serving the bench app (records_app: the app plus the raw-append baseline)."""

    def __init__(self, env: dict, workers: int, log_path: Path):
        super().__init__(APP, ROOT, env, workers, log_path, probe="/ledger/checkpoint")


def call(host: str, port: int, method: str, path: str, body: bytes | None, headers: dict,
         timeout: float = 120) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# --- measurements --------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return sorted_values[max(0, math.ceil(q / 100 * len(sorted_values)) - 1)]


class Client:
    """Fires the two kinds of request at one server and keeps a serial for lots and subjects."""

    def __init__(self, server: Server, token: str):
        self.server = server
        self.token = token
        self.serial = 0
        self.codes: set[str] = set()
        self.duplicate_codes = 0
        self.created = 0  # 201 answers, each of which appended one entry

    def requests(self, what: str, n: int) -> list[tuple[str, bytes, dict]]:
        out = []
        for _ in range(n):
            self.serial += 1
            body = json.dumps(batch_body(self.serial), ensure_ascii=False).encode()
            if what == "baseline":
                out.append((f"/bench/append?n={self.serial}", body, {"Content-Type": "application/json"}))
            else:
                out.append(("/api/v1/batches", body, {"Content-Type": "application/json",
                                                      "Authorization": f"Bearer {self.token}"}))
        return out

    def fire(self, what: str, n: int, concurrency: int) -> dict:
        """Send ``n`` requests from ``concurrency`` threads; return throughput, latencies and statuses."""
        prepared = self.requests(what, n)
        host, port = self.server.host, self.server.port

        def one(req: tuple[str, bytes, dict]) -> tuple[int, float, bytes]:
            path, body, headers = req
            start = time.perf_counter()
            try:
                status, answer = call(host, port, "POST", path, body, headers)
            except OSError as exc:
                status, answer = -1, repr(exc).encode()
            return status, time.perf_counter() - start, answer

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(lambda _: None, range(concurrency)))  # start the threads outside the timing
            start = time.perf_counter()
            answers = list(pool.map(one, prepared))
            wall = time.perf_counter() - start
        statuses = Counter(status for status, _, _ in answers)
        self.created += statuses.get(201, 0)
        errors = [answer[:300].decode(errors="replace") for status, _, answer in answers if status != 201]
        if what == "records":
            for status, _, answer in answers:
                if status == 201:
                    code = json.loads(answer)["code"]
                    self.duplicate_codes += code in self.codes
                    self.codes.add(code)
        latencies = sorted(1000 * seconds for _, seconds, _ in answers)
        return {"req_per_s": n / wall, "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
                "seconds": wall, "statuses": {str(k): v for k, v in sorted(statuses.items())},
                "errors": errors[:3]}


def ledger_size(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM ledger_entries")).scalar_one()
    finally:
        engine.dispose()


def median_of(rounds: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rounds)


def run_engine(name: str, url: str, instance: Path, args: argparse.Namespace) -> dict:
    env = app_env(url, instance)
    log(f"[{name}] migrate, demo data, token")
    token = prepare(env)
    server = Server(env, args.workers, instance.parent / f"gunicorn-{name}.log")
    try:
        server.wait()
        size_before = ledger_size(url)
        client = Client(server, token)
        log(f"[{name}] warm-up")
        for what in ("baseline", "records"):
            client.fire(what, max(4 * args.concurrency, 50), args.concurrency)
        rounds: dict[str, list[dict]] = {"baseline": [], "records": []}
        for i in range(args.rounds):
            for what in ("baseline", "records"):
                r = client.fire(what, args.requests, args.concurrency)
                rounds[what].append(r)
                log(f"[{name}] round {i + 1}/{args.rounds} {what:<8} {r['req_per_s']:8.1f} req/s  "
                    f"p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  {r['statuses']}")
    finally:
        server.stop()
    gunicorn_log = server.log_text()
    if "Traceback" in gunicorn_log or "WORKER TIMEOUT" in gunicorn_log:
        log(f"[{name}] the gunicorn log shows errors; its end:\n{gunicorn_log[-4000:]}")

    log(f"[{name}] ledger verify")
    verify = flask(env, "ledger", "verify", check=False)
    size_after = ledger_size(url)
    result: dict = {}
    for what, rs in rounds.items():
        result[what] = {"req_per_s": round(median_of(rs, "req_per_s"), 1), "p50_ms": round(median_of(rs, "p50_ms"), 2),
                        "p99_ms": round(median_of(rs, "p99_ms"), 2),
                        "rounds": [{"req_per_s": round(r["req_per_s"], 1), "p50_ms": round(r["p50_ms"], 2),
                                    "p99_ms": round(r["p99_ms"], 2), "statuses": r["statuses"],
                                    **({"errors": r["errors"]} if r["errors"] else {})} for r in rs]}
    ratio = result["records"]["req_per_s"] / result["baseline"]["req_per_s"]
    per_round = [r["req_per_s"] / b["req_per_s"] for b, r in zip(rounds["baseline"], rounds["records"], strict=True)]
    non_201 = sum(n for rs in rounds.values() for r in rs for status, n in r["statuses"].items() if status != "201")
    result["ratio"] = round(ratio, 3)
    result["ratio_per_round"] = [round(x, 3) for x in per_round]
    result["target"] = TARGET
    result["met"] = ratio >= TARGET
    result["non_201"] = non_201
    result["duplicate_codes"] = client.duplicate_codes
    result["ledger"] = {"entries_before": size_before, "entries_after": size_after,
                        "appended": size_after - size_before, "expected": client.created,
                        "verify_exit": verify.returncode,
                        "verify": (verify.stdout + verify.stderr).strip().splitlines()[:3]}
    result["verify_ok"] = (verify.returncode == 0 and verify.stdout.startswith("OK")
                           and size_after - size_before == client.created)
    result["server_log"] = {"tracebacks": gunicorn_log.count("Traceback"),
                            "worker_timeouts": gunicorn_log.count("WORKER TIMEOUT")}
    return result


# --- report --------------------------------------------------------------------------------


def table(results: dict) -> str:
    lines = [f"{'engine':<12}{'what':<10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'records/baseline':>18}"
             f"{'target':>9}{'met':>5}"]
    for name, r in results.items():
        b, rec = r["baseline"], r["records"]
        lines.append(f"{name:<12}{'baseline':<10}{b['req_per_s']:>9.1f}{b['p50_ms']:>9.1f}{b['p99_ms']:>9.1f}"
                     f"{'':>18}{'':>9}{'':>5}")
        lines.append(f"{'':<12}{'records':<10}{rec['req_per_s']:>9.1f}{rec['p50_ms']:>9.1f}{rec['p99_ms']:>9.1f}"
                     f"{r['ratio']:>18.3f}{'>= ' + str(r['target']):>9}{yes(r['met']):>5}")
    lines.append("")
    for name, r in results.items():
        led = r["ledger"]
        lines.append(f"{name}: ledger verify {'OK' if r['verify_ok'] else 'FAILED'} "
                     f"({led['appended']} entries appended, {led['expected']} expected; "
                     f"{(led['verify'] or ['(no output)'])[0][:120]})")
        if r["non_201"] or r["duplicate_codes"] or r["server_log"]["tracebacks"] or r["server_log"]["worker_timeouts"]:
            lines.append(f"{name}: PROBLEMS: {r['non_201']} answers not 201, {r['duplicate_codes']} duplicate codes, "
                         f"{r['server_log']['tracebacks']} tracebacks and {r['server_log']['worker_timeouts']} "
                         "worker timeouts in the gunicorn log")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Batch registration over HTTP against a raw ledger append "
                                                 "(see the module docstring).")
    parser.add_argument("--postgres", metavar="URL",
                        help="also run on PostgreSQL: a fresh database is created on this URL's server")
    parser.add_argument("--requests", type=int, default=1000, help="requests per round and kind (default 1000)")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads (default 16)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each kind, interleaved (default 3)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--personal", action="store_true",
                        help="instead: organization registrations per second with personal data as commitments "
                             "against the code before commitments (clear text in the entry), in-process, "
                             "interleaved in the same run (target >= 0.9)")
    parser.add_argument("--db-prefix", default="traceapp_bench_records",
                        help="name prefix of the PostgreSQL database (the process id is appended)")
    parser.add_argument("--quick", action="store_true", help=QUICK_HELP)
    args = apply_quick(parser, parser.parse_args(argv), requests=10, concurrency=2, rounds=1, workers=2)
    if args.requests < 1 or args.concurrency < 1 or args.rounds < 1 or args.workers < 1:
        parser.error("--requests, --concurrency, --rounds and --workers must be at least 1")
    return args


PERSONAL_TARGET = 0.9


def _register_orgs(app, n: int, serial: list[int]) -> float:
    """Register ``n`` individual producers (name, address and phone: all personal), one write transaction each
    as a request makes it; return registrations per second."""
    from traceapp import db
    from traceapp.records.services import register_organization

    start = time.perf_counter()
    for _ in range(n):
        serial[0] += 1
        with db.write_session() as session:
            register_organization(session, {"name": f"李{serial[0]}", "kind": "individual", "region": "430225",
                                            "address": f"炎陵县鹿原镇九龙村{serial[0]}号",
                                            "contact": f"139{serial[0]:08d}"}, actor={"user": "user:1", "org": None})
    return n / (time.perf_counter() - start)


@contextmanager
def _without_commitments():
    """Run registrations as the code before commitments did: the whole record into the entry in clear text,
    no personal_data rows (``append_personal`` swapped for the ledger's plain append)."""
    from traceapp.ledger.store import ledger_of
    from traceapp.records import services

    kept = services.append_personal
    services.append_personal = lambda session, *entry: ledger_of(session).append(session, *entry)
    try:
        yield
    finally:
        services.append_personal = kept


def run_personal(name: str, url: str, instance: Path, args: argparse.Namespace) -> dict:
    from traceapp import create_app, migrations
    from traceapp.db import database, write_session

    app = create_app({"DATABASE_URL": url, "TRACEAPP_INSTANCE_PATH": str(instance), "TRACEAPP_PUBLIC_URL": PUBLIC_URL,
                      "TRACEAPP_LEDGER_ORIGIN": ORIGIN})
    serial = [0]
    rounds: dict[str, list[float]] = {"without": [], "with": []}
    with app.app_context():
        migrations.upgrade(database().engine)
        with write_session() as session:
            database().ledger.sign_empty(session)
        with _without_commitments():
            _register_orgs(app, 20, serial)
        _register_orgs(app, 20, serial)  # warm-up
        for i in range(args.rounds):
            with _without_commitments():
                rounds["without"].append(_register_orgs(app, args.requests, serial))
            rounds["with"].append(_register_orgs(app, args.requests, serial))
            log(f"[{name}] round {i + 1}/{args.rounds} without {rounds['without'][-1]:7.1f}/s  "
                f"with commitments {rounds['with'][-1]:7.1f}/s")
        database().engine.dispose()
    without, with_ = statistics.median(rounds["without"]), statistics.median(rounds["with"])
    return {"without_per_s": round(without, 1), "with_per_s": round(with_, 1), "ratio": round(with_ / without, 3),
            "ratio_per_round": [round(w / o, 3) for o, w in zip(rounds["without"], rounds["with"], strict=True)],
            "target": PERSONAL_TARGET, "met": with_ / without >= PERSONAL_TARGET}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.personal:
        return main_personal(args)
    start = time.perf_counter()
    results: dict = {}
    engines: list[tuple[str, Callable]] = [("sqlite", lambda: sqlite_database(NAME))]
    if args.postgres:
        engines.append(("postgresql", lambda: postgres_database(args.postgres, args.db_prefix)))
    for name, database in engines:
        with database() as (url, instance):
            results[name] = run_engine(name, url, instance, args)
    run = {"seconds": round(time.perf_counter() - start, 1), "requests": args.requests,
           "concurrency": args.concurrency, "rounds": args.rounds, "workers": args.workers,
           "python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version, "cpus": os.cpu_count()}
    print(table(results))
    print(f"\n{args.requests} requests x {args.rounds} rounds per kind, {args.concurrency} client threads, "
          f"{args.workers} gunicorn workers; medians over rounds; total run time {run['seconds']} s")
    print(json.dumps({**results, "run": run}, ensure_ascii=False))
    if not all(r["verify_ok"] for r in results.values()):
        sys.exit(1)


def main_personal(args: argparse.Namespace) -> None:
    results = {}
    engines: list[tuple[str, Callable]] = [("sqlite", lambda: sqlite_database(NAME))]
    if args.postgres:
        engines.append(("postgresql", lambda: postgres_database(args.postgres, args.db_prefix)))
    for name, database in engines:
        with database() as (url, instance):
            results[name] = run_personal(name, url, instance, args)
    print(f"{'engine':<12}{'without/s':>11}{'with/s':>9}{'ratio':>8}{'target':>8}{'met':>5}")
    for name, r in results.items():
        print(f"{name:<12}{r['without_per_s']:>11}{r['with_per_s']:>9}{r['ratio']:>8}{r['target']:>8}{yes(r['met']):>5}")
    print(f"\n{args.requests} registrations x {args.rounds} rounds each way, interleaved; medians over rounds")
    print(json.dumps({**results, "run": {"requests": args.requests, "rounds": args.rounds,
                                         "python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version}},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()

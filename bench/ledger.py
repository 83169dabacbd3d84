"""Ledger benchmark: each figure beside a raw baseline measured in the same run.

    .venv/bin/python bench/ledger.py                      # SQLite: 10k, 100k and 1M entries (~10 min)
    .venv/bin/python bench/ledger.py --quick              # small sizes, a smoke run
    .venv/bin/python bench/ledger.py --sizes 10000,100000
    .venv/bin/python bench/ledger.py --verify-only --sizes 1000000   # verification, tree check, memory
    .venv/bin/python bench/ledger.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

SQLite runs on fresh files in a temporary directory; with ``--postgres`` the same
measurements also run on fresh databases created (and dropped afterwards) through the
server's ``postgres`` maintenance database. Every engine is set up as the app sets it up
(``configure_engine``: on SQLite WAL, ``synchronous=FULL``, ``BEGIN IMMEDIATE`` writes).

What it measures, per engine:

1. appends with one entry per transaction (``begin_write``, ``Ledger.append``, commit, which
   seals a signed checkpoint) against raw single-row INSERT transactions into a plain table
   of the same shape (seq integer key, body blob, hash text) on the same engine;
2. the same with 100 entries per transaction against 100-row ``executemany`` transactions;
3. full verification (``Ledger.verify``) in entries/s against SHA-256 chaining the same
   entry bytes in memory (``h = sha256(h + body)`` over the bodies read beforehand), and
   what recomputing every stored tree hash costs: the same verification with
   ``check_stored_hashes=False`` is timed in the same repeats, and the ratio of the medians
   is the tree check's cost;
4. median inclusion- and consistency-proof latency through the store (random seq, random
   old size, against the full size) at each size, and the ratio largest/smallest;
5. the peak RSS of a fresh process that only verifies the log at the largest size.

Appends run on a database of their own; the scaling figures (3-5) run on a second one,
grown in transactions of ``--build-tx`` entries (default 5000) from size to size. Medians
are over repeats, ratios divide by the baseline of the same run because the machine is
shared and noisy. Prints a table, then one JSON object with every figure as the last line.

Peak memory is the child's own VmHWM from /proc: on Linux, ``ru_maxrss`` of a child
started with vfork/exec (what ``subprocess`` does) carries the parent's peak over.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from benchlib import vm_kib  # bench/ is the script's folder
from psycopg import sql
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from traceapp import migrations
from traceapp.ledger import tree
from traceapp.ledger.encoding import GENESIS_PREV, chain_hash, entry_bytes, make_entry
from traceapp.ledger.note import Signer
from traceapp.ledger.store import Ledger, begin_write, configure_engine, parse_checkpoint, stream_entries
from traceapp.records.codes import ALPHABET, CODE_LENGTH

SIGNER = Signer.from_seed("bench.traceapp.example/ledger", bytes(32))
KIND = "batch.registered"
ACTOR = {"user": "bench", "org": "org:1"}
CHILD_URL_VAR = "TRACEAPP_BENCH_URL"

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 5_000)
PROOF_SAMPLES = 200
PROOF_WARMUP = 20
PROOFS_CHECKED = 10
REPEATS = 3
VERIFY_REPEATS = 5  # the tree check's cost is a ratio of two medians on a shared machine

# Ratio targets (ledger / baseline, higher is better) per engine; proofs and memory: at most.
APPEND_1_TARGET = {"sqlite": 0.2, "postgresql": 0.5}
APPEND_100_TARGET = 0.2
VERIFY_TARGET = 0.25
TREE_CHECK_TARGET = 1.25  # verify with the stored-hash check / verify without it, at most
PROOF_RATIO_TARGET = 2.0
PROOF_MS_TARGET = 2.0
MEMORY_MB_TARGET = 200.0

RAW_DDL = {
    "sqlite": "CREATE TABLE bench_raw (seq INTEGER PRIMARY KEY, body BLOB NOT NULL, hash VARCHAR(64) NOT NULL)",
    "postgresql": "CREATE TABLE bench_raw (seq BIGINT PRIMARY KEY, body BYTEA NOT NULL, hash VARCHAR(64) NOT NULL)",
}
RAW_INSERT = text("INSERT INTO bench_raw (seq, body, hash) VALUES (:seq, :body, :hash)")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- entries -------------------------------------------------------------------------------


def batch_code(n: int) -> str:
    """Return a batch code that looks like the app's random ones but depends only on ``n``."""
    x = (n * 0x9E3779B97F4A7C15 + 0x2545F491) % len(ALPHABET) ** CODE_LENGTH
    chars = []
    for _ in range(CODE_LENGTH):
        x, digit = divmod(x, len(ALPHABET))
        chars.append(ALPHABET[digit])
    return "".join(chars)


def batch_data(code: str) -> dict:
    """Return the data of a ``batch.registered`` entry, shaped like records.services.batch_record."""
    return {"code": code, "organization": "org:1", "product": "炎陵黄桃", "category": "fruit",
            "brand": "yanling-huangtao", "quantity": "1250.5", "unit": "kg", "harvest_date": "2026-07-28",
            "pack_date": "2026-07-29", "origin_region": "430225", "base": "鹿原镇九龙村黄桃种植基地",
            "gtin": None, "lot": None, "inputs": []}


def sample_row() -> tuple[bytes, str]:
    """Return the bytes and chain hash of a typical entry, for the raw baseline's rows."""
    code = batch_code(123_456)
    body = entry_bytes(make_entry(123_456, GENESIS_PREV, KIND, ACTOR, f"batch:{code}", batch_data(code)))
    return body, chain_hash(body).hex()


# --- databases -----------------------------------------------------------------------------


class Database:
    """One fresh database: the engine as the app configures it, sessions with the ledger installed."""

    def __init__(self, url: str):
        self.url = url
        self.engine = create_engine(url)
        configure_engine(self.engine)
        migrations.upgrade(self.engine)
        self.dialect = self.engine.dialect.name
        with self.engine.begin() as conn:
            conn.execute(text(RAW_DDL[self.dialect]))
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.ledger = Ledger(SIGNER)
        self.ledger.install(self.sessions)
        self.size = 0
        self.raw_size = 0
        self.body, self.hash = sample_row()

    def close(self) -> None:
        self.engine.dispose()

    def append(self, session: Session) -> None:
        code = batch_code(self.size)
        self.ledger.append(session, KIND, ACTOR, f"batch:{code}", batch_data(code))
        self.size += 1

    def ledger_transactions(self, per_tx: int, count: int) -> None:
        """Run ``count`` transactions appending ``per_tx`` entries each (each commit seals a checkpoint)."""
        with self.sessions() as s:
            for _ in range(count):
                begin_write(s)
                for _ in range(per_tx):
                    self.append(s)
                s.commit()

    def raw_batches(self, per_tx: int, count: int) -> list[list[dict]]:
        """Return the rows of ``count`` raw transactions, prepared before they are timed."""
        batches = []
        for _ in range(count):
            batches.append([{"seq": self.raw_size + i, "body": self.body, "hash": self.hash} for i in range(per_tx)])
            self.raw_size += per_tx
        return batches

    def raw_transactions(self, batches: list[list[dict]]) -> None:
        """Insert each batch in a transaction of its own: one execute, or one executemany."""
        for rows in batches:
            with self.engine.begin() as conn:
                conn.execute(RAW_INSERT, rows if len(rows) > 1 else rows[0])

    def verify(self, check_stored_hashes: bool = True) -> int:
        """Verify the whole log; return the number of checkpoints it checked."""
        with self.sessions() as s:
            summary = self.ledger.verify(s, check_stored_hashes=check_stored_hashes)
        if summary.size != self.size:
            raise SystemExit(f"verify covered {summary.size} entries, the log has {self.size}")
        return summary.checkpoints

    def bodies(self) -> list[bytes]:
        with self.sessions() as s:
            return [body for _, body, _ in stream_entries(s.connection())]


@contextmanager
def sqlite_databases() -> Iterator[Callable[[str], str]]:
    """Yield a function that returns the URL of a fresh SQLite file, for a name."""
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
        yield lambda name: f"sqlite:///{tmp}/{name}.db"


@contextmanager
def postgres_databases(base_url: str) -> Iterator[Callable[[str], str]]:
    """Yield a function that creates a fresh PostgreSQL database and returns its URL; drop them all at the end."""
    base = make_url(base_url)
    admin = {"host": base.host, "port": base.port, "user": base.username, "password": base.password,
             "dbname": "postgres", **base.query}
    admin = {key: value for key, value in admin.items() if value is not None}
    created: list[str] = []

    def create(name: str) -> str:
        database = f"traceapp_bench_{os.getpid()}_{name}"
        with psycopg.connect(**admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        created.append(database)
        return base.set(database=database).render_as_string(hide_password=False)

    try:
        yield create
    finally:
        with psycopg.connect(**admin, autocommit=True) as conn:
            for database in created:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


# --- measurements --------------------------------------------------------------------------


def timed(fn: Callable, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def verdict(value: float, target: float, at_least: bool = True) -> dict:
    return {"target": target, "met": bool(value >= target if at_least else value <= target)}


def bench_appends(db: Database, per_tx: int, transactions: int, target: float) -> dict:
    """Time ``transactions`` ledger transactions and as many raw ones, alternating, ``REPEATS`` times."""
    ledger_s, raw_s = [], []
    for repeat in range(REPEATS):
        log(f"[{db.dialect}] appends, {per_tx}/tx: repeat {repeat + 1}/{REPEATS}")
        ledger_s.append(timed(db.ledger_transactions, per_tx, transactions))
        raw_s.append(timed(db.raw_transactions, db.raw_batches(per_tx, transactions)))
    tx_rate = transactions / statistics.median(ledger_s)
    raw_tx_rate = transactions / statistics.median(raw_s)
    ratio = tx_rate / raw_tx_rate
    return {"entries_per_s": round(tx_rate * per_tx, 1), "baseline_entries_per_s": round(raw_tx_rate * per_tx, 1),
            "tx_per_s": round(tx_rate, 1), "baseline_tx_per_s": round(raw_tx_rate, 1), "ratio": round(ratio, 3),
            **verdict(ratio, target), "entries_per_tx": per_tx, "transactions": transactions, "repeats": REPEATS}


def grow(db: Database, size: int, per_tx: int) -> float:
    """Append in transactions of ``per_tx`` entries until the log has ``size``; return the seconds taken."""
    start = time.perf_counter()
    while db.size < size:
        db.ledger_transactions(min(per_tx, size - db.size), 1)
        print(f"\r[{db.dialect}] building: {db.size:,} entries", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return time.perf_counter() - start


def chain_sha256(bodies: list[bytes]) -> bytes:
    """The baseline of verification: a plain SHA-256 chain over the same bytes, in memory."""
    sha = hashlib.sha256
    h = b""
    for body in bodies:
        h = sha(h + body).digest()
    return h


def bench_verify(db: Database) -> dict:
    log(f"[{db.dialect}] verify at {db.size:,} entries")
    bodies = db.bodies()
    verify_s, without_s, baseline_s = [], [], []
    for repeat in range(VERIFY_REPEATS):
        log(f"[{db.dialect}] verify at {db.size:,} entries: repeat {repeat + 1}/{VERIFY_REPEATS}")
        # Alternate which goes first, so neither always finds the other's pages in the cache.
        if repeat % 2:
            without_s.append(timed(db.verify, False))
            verify_s.append(timed(db.verify))
        else:
            verify_s.append(timed(db.verify))
            without_s.append(timed(db.verify, False))
        baseline_s.append(timed(chain_sha256, bodies))
    checkpoints = db.verify()
    seconds, baseline = statistics.median(verify_s), statistics.median(baseline_s)
    without = statistics.median(without_s)
    ratio = baseline / seconds
    cost = seconds / without
    return {"entries_per_s": round(db.size / seconds), "baseline_entries_per_s": round(db.size / baseline),
            "ratio": round(ratio, 3), **verdict(ratio, VERIFY_TARGET), "seconds": round(seconds, 3),
            "baseline_seconds": round(baseline, 3), "checkpoints": checkpoints,
            "tree_check": {"seconds": round(seconds, 3), "seconds_without": round(without, 3),
                           "cost": round(cost, 3), **verdict(cost, TREE_CHECK_TARGET, at_least=False),
                           "runs_with": [round(x, 3) for x in verify_s],
                           "runs_without": [round(x, 3) for x in without_s]},
            "mean_body_bytes": round(sum(map(len, bodies)) / len(bodies)), "repeats": VERIFY_REPEATS}


def bench_proofs(db: Database, rng: random.Random) -> tuple[float, float]:
    """Return the median inclusion- and consistency-proof latency in ms against the full size."""
    size = db.size
    seqs = [rng.randrange(size) for _ in range(PROOF_SAMPLES)]
    olds = [rng.randrange(1, size) for _ in range(PROOF_SAMPLES)]
    ledger = db.ledger
    with db.sessions() as s:
        for seq, old in zip(seqs[:PROOF_WARMUP], olds[:PROOF_WARMUP], strict=True):
            ledger.inclusion_proof(s, seq, size)
            ledger.consistency_proof(s, old, size)
        inclusion = [timed(ledger.inclusion_proof, s, seq, size) for seq in seqs]
        consistency = [timed(ledger.consistency_proof, s, old, size) for old in olds]
        check_proofs(ledger, s, size, seqs[:PROOFS_CHECKED], olds[:PROOFS_CHECKED])
    return 1000 * statistics.median(inclusion), 1000 * statistics.median(consistency)


def check_proofs(ledger: Ledger, s: Session, size: int, seqs: list[int], olds: list[int]) -> None:
    """Check a few of the timed proofs against the root of the latest signed checkpoint."""
    latest_size, note = ledger.latest_checkpoint(s)
    root = parse_checkpoint(note).root
    if latest_size != size or ledger.tree_hash(s, size) != root:
        raise SystemExit(f"the stored tree of size {size} does not match the latest checkpoint")
    for seq in seqs:
        leaf, path = ledger.inclusion_proof(s, seq, size)
        if not tree.verify_inclusion(seq, size, leaf, path, root):
            raise SystemExit(f"inclusion proof of entry {seq} in size {size} does not verify")
    for old in olds:
        proof = ledger.consistency_proof(s, old, size)
        if not tree.verify_consistency(old, size, ledger.tree_hash(s, old), root, proof):
            raise SystemExit(f"consistency proof from size {old} to {size} does not verify")


def verify_child() -> None:
    """In a fresh process: verify the log at $TRACEAPP_BENCH_URL and print memory figures as JSON."""
    engine = create_engine(os.environ[CHILD_URL_VAR])
    configure_engine(engine)
    ledger = Ledger(SIGNER)
    rss, hwm = vm_kib("VmRSS"), vm_kib("VmHWM")
    start = time.perf_counter()
    with Session(engine) as s:
        summary = ledger.verify(s)
    seconds = time.perf_counter() - start
    print(json.dumps({"entries": summary.size, "rss_before_kib": rss, "hwm_before_kib": hwm,
                      "hwm_after_kib": vm_kib("VmHWM"), "seconds": seconds}))


def verify_memory(db: Database) -> dict:
    log(f"[{db.dialect}] verify memory at {db.size:,} entries (child process)")
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--verify-child"],
                         env={**os.environ, CHILD_URL_VAR: db.url}, capture_output=True, text=True, check=True)
    child = json.loads(out.stdout.strip().splitlines()[-1])
    peak = child["hwm_after_kib"] / 1024
    return {"entries": child["entries"], "peak_rss_mb": round(peak, 1),
            "rss_before_verify_mb": round(child["rss_before_kib"] / 1024, 1),
            "growth_mb": round((child["hwm_after_kib"] - child["rss_before_kib"]) / 1024, 1),
            "verify_seconds": round(child["seconds"], 3), **verdict(peak, MEMORY_MB_TARGET, at_least=False)}


def size_label(n: int) -> str:
    for unit, suffix in ((1_000_000, "m"), (1_000, "k")):
        if n >= unit and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


def proof_summary(by_size: dict[int, float]) -> dict:
    small, big = min(by_size), max(by_size)
    ratio = by_size[big] / by_size[small]
    out: dict = {str(size): round(ms, 3) for size, ms in sorted(by_size.items())}
    out[f"ratio_{size_label(big)}_{size_label(small)}"] = round(ratio, 2)
    out |= {"target_ratio": PROOF_RATIO_TARGET, "target_ms": PROOF_MS_TARGET,
            "met": ratio <= PROOF_RATIO_TARGET and by_size[big] <= PROOF_MS_TARGET, "samples": PROOF_SAMPLES}
    return out


def run_engine(name: str, new_url: Callable[[str], str], args: argparse.Namespace) -> dict:
    """Run every measurement on one engine; return its figures."""
    result: dict = {}
    if not args.verify_only:
        db = Database(new_url("appends"))
        try:
            result["append_1_per_tx"] = bench_appends(db, 1, args.single_tx, APPEND_1_TARGET[name])
            result["append_100_per_tx"] = bench_appends(db, 100, args.batch_tx, APPEND_100_TARGET)
        finally:
            db.close()
    db = Database(new_url("scale"))
    rng = random.Random(6962)
    inclusion, consistency, result["verify"] = {}, {}, {}
    build_seconds = 0.0
    try:
        for size in args.sizes:
            build_seconds += grow(db, size, args.build_tx)
            if not args.verify_only:
                log(f"[{name}] proofs at {size:,} entries")
                inclusion[size], consistency[size] = bench_proofs(db, rng)
            if not args.skip_verify_memory and size == args.sizes[-1]:
                result["verify_memory"] = verify_memory(db)
                result["verify_peak_rss_mb"] = result["verify_memory"]["peak_rss_mb"]
            result["verify"][str(size)] = bench_verify(db)
    finally:
        db.close()
    if not args.verify_only:
        result["inclusion_proof_ms"] = proof_summary(inclusion)
        result["consistency_proof_ms"] = proof_summary(consistency)
    result["build"] = {"entries": db.size, "entries_per_tx": args.build_tx,
                       "entries_per_s": round(db.size / build_seconds)}
    return result


# --- report --------------------------------------------------------------------------------


def yes(met: bool) -> str:
    return "yes" if met else "NO"


def table(name: str, r: dict) -> str:
    lines = [f"== {name} ==",
             f"{'':<28}{'ledger':>14}{'baseline':>14}  {'unit':<10}{'ratio':>7}  {'target':<8}met"]
    for key, label in (("append_1_per_tx", "append, 1 entry/tx"), ("append_100_per_tx", "append, 100 entries/tx")):
        if key not in r:
            continue
        a = r[key]
        lines.append(f"{label:<28}{a['entries_per_s']:>14,.0f}{a['baseline_entries_per_s']:>14,.0f}  "
                     f"{'entries/s':<10}{a['ratio']:>7.3f}  >={a['target']:<6}{yes(a['met'])}")
    for size, v in r["verify"].items():
        label = f"verify {int(size):,}"
        lines.append(f"{label:<28}{v['entries_per_s']:>14,}{v['baseline_entries_per_s']:>14,}"
                     f"  {'entries/s':<10}{v['ratio']:>7.3f}  >={v['target']:<6}{yes(v['met'])}"
                     f"   ({v['seconds']} s, {v['checkpoints']} checkpoints)")
    for size, v in r["verify"].items():
        t = v["tree_check"]
        label = f"  tree check {int(size):,}"
        lines.append(f"{label:<28}{t['seconds']:>12.3f} s{t['seconds_without']:>12.3f} s  {'median':<10}"
                     f"{t['cost']:>7.3f}  <={t['target']:<6}{yes(t['met'])}   (verify with / without it)")
    sizes = [k for k in r.get("inclusion_proof_ms", {}) if k.isdigit()]
    if sizes:
        lines.append("")
        lines.append(f"{'proof latency, median ms':<28}" + "".join(f"{int(s):>12,}" for s in sizes)
                     + f"{'big/small':>11}  target")
    for key, label in (("inclusion_proof_ms", "inclusion proof"), ("consistency_proof_ms", "consistency proof")):
        if key not in r:
            continue
        p = r[key]
        ratio = next(v for k, v in p.items() if k.startswith("ratio_"))
        lines.append(f"{label:<28}" + "".join(f"{p[s]:>12.3f}" for s in sizes) + f"{ratio:>11.2f}  "
                     f"<={p['target_ratio']:g}x, <={p['target_ms']:g} ms: {yes(p['met'])}")
    if "verify_memory" in r:
        m = r["verify_memory"]
        lines.append("")
        lines.append(f"verify peak RSS at {m['entries']:,} entries: {m['peak_rss_mb']} MB (process before verify "
                     f"{m['rss_before_verify_mb']} MB, growth {m['growth_mb']} MB)   target <={m['target']:g} MB: "
                     f"{yes(m['met'])}")
    b = r["build"]
    lines.append(f"build: {b['entries']:,} entries at {b['entries_per_s']:,} entries/s "
                 f"in transactions of {b['entries_per_tx']}")
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Ledger benchmark against raw baselines (see the module docstring).")
    parser.add_argument("--postgres", metavar="URL",
                        help="also run on PostgreSQL: fresh databases are created on this URL's server")
    parser.add_argument("--sizes", help="comma-separated log sizes for verify and proofs "
                                         "(default 10000,100000,1000000)")
    parser.add_argument("--quick", action="store_true", help="small sizes and fewer transactions: a smoke run")
    parser.add_argument("--build-tx", type=int, default=5000, help="entries per transaction while growing the log")
    parser.add_argument("--skip-verify-memory", action="store_true", help="skip the child process measuring memory")
    parser.add_argument("--verify-only", action="store_true",
                        help="measure only verification (time, the stored-hash check's cost, memory): "
                             "no appends, no proofs")
    parser.add_argument("--verify-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sizes:
        args.sizes = sorted({int(x) for x in args.sizes.split(",")})
    else:
        args.sizes = list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    if args.sizes[0] < 2:
        parser.error("sizes must be at least 2")
    args.single_tx, args.batch_tx = (30, 5) if args.quick else (300, 30)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.verify_child:
        verify_child()
        return
    start = time.perf_counter()
    results: dict = {}
    with sqlite_databases() as new_url:
        results["sqlite"] = run_engine("sqlite", new_url, args)
    if args.postgres:
        with postgres_databases(args.postgres) as new_url:
            results["postgresql"] = run_engine("postgresql", new_url, args)
    results["run"] = {"seconds": round(time.perf_counter() - start, 1), "sizes": args.sizes, "quick": args.quick,
                      "python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version, "cpus": os.cpu_count()}
    for name, figures in results.items():
        if name != "run":
            print(table(name, figures))
            print()
    print(f"total run time: {results['run']['seconds']} s")
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Ledger benchmark: append throughput, full verification, proof latency and verify memory,
each beside a raw baseline measured in the same run.

    .venv/bin/python bench/ledger.py                       # SQLite, 100k and 1M entries
    .venv/bin/python bench/ledger.py --quick               # small sizes, a smoke run
    .venv/bin/python bench/ledger.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Prints a table, then one JSON object with every figure as the last line. Medians are
over repeats; ratios compare against the baseline measured in the same run, because
the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from traceapp import migrations  # noqa: E402
from traceapp.ledger.note import Signer  # noqa: E402
from traceapp.ledger.store import Ledger, begin_write, configure_engine, stream_entries  # noqa: E402

ACTOR = {"user": "bench", "org": "org:2"}
DATA = {"product": "黄桃", "brand": "yanling-huangtao", "quantity": "1250.5", "unit": "kg",
        "harvest_date": "2026-08-01", "origin_region": "430225", "base": "鹿原镇九龙村基地"}
SIGNER = Signer.from_seed("bench.traceapp.example/ledger", bytes(32))


class Target:
    """One database under test: engine, sessions with the ledger installed."""

    def __init__(self, url: str):
        self.url = url
        self.engine = create_engine(url)
        configure_engine(self.engine)
        migrations.upgrade(self.engine)
        with self.engine.begin() as conn:
            conn.execute(text("CREATE TABLE raw_rows (seq BIGINT PRIMARY KEY, body BYTEA, hash VARCHAR(64))"
                              if self.engine.dialect.name == "postgresql" else
                              "CREATE TABLE raw_rows (seq INTEGER PRIMARY KEY, body BLOB, hash VARCHAR(64))"))
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.ledger = Ledger(SIGNER)
        self.ledger.install(self.sessions)
        self.size = 0
        self.raw = 0

    def append(self, per_tx: int, transactions: int) -> None:
        with self.sessions() as s:
            for _ in range(transactions):
                begin_write(s)
                for _ in range(per_tx):
                    self.ledger.append(s, "batch.registered", ACTOR, f"batch:B{self.size}", DATA)
                    self.size += 1
                s.commit()

    def raw_insert(self, per_tx: int, transactions: int) -> None:
        body = json.dumps({"seq": 0, "data": DATA}, ensure_ascii=False).encode() * 2
        with self.sessions() as s:
            for _ in range(transactions):
                begin_write(s)
                rows = [{"seq": self.raw + i, "body": body, "hash": "0" * 64} for i in range(per_tx)]
                s.execute(text("INSERT INTO raw_rows (seq, body, hash) VALUES (:seq, :body, :hash)"), rows)
                self.raw += per_tx
                s.commit()


def rate(fn, count: int, repeats: int = 3) -> float:
    """Return the median of ``count`` / seconds over repeats of ``fn()``."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates)


def bench_appends(t: Target, per_tx: int, transactions: int) -> dict:
    ledger_rate = rate(lambda: t.append(per_tx, transactions), per_tx * transactions)
    raw_rate = rate(lambda: t.raw_insert(per_tx, transactions), per_tx * transactions)
    return {"entries_per_s": round(ledger_rate, 1), "baseline_rows_per_s": round(raw_rate, 1),
            "ratio": round(ledger_rate / raw_rate, 3)}


def grow(t: Target, size: int) -> None:
    """Append in transactions of 5000 until the log has ``size`` entries."""
    while t.size < size:
        step = min(5000, size - t.size)
        t.append(step, 1)
        print(f"  … {t.size} entries", file=sys.stderr, end="\r")
    print(file=sys.stderr)


def bench_verify(t: Target) -> dict:
    with t.sessions() as s:
        start = time.perf_counter()
        summary = t.ledger.verify(s)
        seconds = time.perf_counter() - start
        bodies = [body for _, body, _ in stream_entries(s.connection())]
    assert summary.size == t.size
    sha = hashlib.sha256
    start = time.perf_counter()
    prev = b""
    for body in bodies:  # a plain hash chain over the same bytes
        prev = sha(prev + body).digest()
    baseline = time.perf_counter() - start
    del bodies
    return {"entries": t.size, "seconds": round(seconds, 3), "entries_per_s": round(t.size / seconds),
            "baseline_entries_per_s": round(t.size / baseline), "ratio": round(baseline / seconds, 3),
            "checkpoints": summary.checkpoints}


def bench_proofs(t: Target, samples: int = 200) -> dict:
    rng = random.Random(7)
    inclusion, consistency = [], []
    with t.sessions() as s:
        for _ in range(samples):
            seq = rng.randrange(t.size)
            start = time.perf_counter()
            t.ledger.inclusion_proof(s, seq, t.size)
            inclusion.append(time.perf_counter() - start)
            old = rng.randrange(1, t.size)
            start = time.perf_counter()
            t.ledger.consistency_proof(s, old, t.size)
            consistency.append(time.perf_counter() - start)
    return {"inclusion_ms": round(1000 * statistics.median(inclusion), 3),
            "consistency_ms": round(1000 * statistics.median(consistency), 3)}


VERIFY_CHILD = """
import sys
sys.path.insert(0, {root!r})
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
from traceapp.ledger.note import Signer
from traceapp.ledger.store import Ledger, configure_engine
engine = create_engine({url!r}); configure_engine(engine)
ledger = Ledger(Signer.from_seed("bench.traceapp.example/ledger", bytes(32)))
def hwm():
    # VmHWM belongs to this process's own address space; ru_maxrss would carry the
    # parent's peak across fork and exec.
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
before = hwm()
with sessionmaker(engine)() as s:
    ledger.verify(s)
print(before, hwm())
"""


def verify_memory(t: Target) -> dict:
    """Return the peak RSS of a process that does nothing but verify the log (KiB → MB)."""
    code = VERIFY_CHILD.format(root=str(Path(__file__).resolve().parents[1]), url=t.url)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = (int(x) for x in out.stdout.split())
    return {"peak_rss_mb": round(after / 1024, 1), "rss_before_verify_mb": round(before / 1024, 1),
            "growth_mb": round((after - before) / 1024, 1)}


def run(url: str, sizes: list[int], proof_sizes: list[int], quick: bool) -> dict:
    t = Target(url)
    result: dict = {}
    print(f"[{t.engine.dialect.name}] appends", file=sys.stderr)
    result["append_1_per_tx"] = bench_appends(t, 1, 30 if quick else 200)
    result["append_100_per_tx"] = bench_appends(t, 100, 3 if quick else 20)
    result["verify"], result["proofs"] = {}, {}
    for size in sorted(set(sizes) | set(proof_sizes)):
        grow(t, size)
        if size in proof_sizes:
            result["proofs"][str(size)] = bench_proofs(t)
        if size in sizes:
            print(f"[{t.engine.dialect.name}] verify {size}", file=sys.stderr)
            result["verify"][str(size)] = bench_verify(t)
    result["verify_memory"] = verify_memory(t) | {"entries": t.size}
    small, big = str(min(proof_sizes)), str(max(proof_sizes))
    for kind in ("inclusion_ms", "consistency_ms"):
        result["proofs"][f"{kind}_ratio_{big}_{small}"] = round(
            result["proofs"][big][kind] / result["proofs"][small][kind], 2)
    t.engine.dispose()
    return result


def table(name: str, r: dict) -> str:
    lines = [f"== {name} =="]
    for key in ("append_1_per_tx", "append_100_per_tx"):
        a = r[key]
        lines.append(f"{key:<20} {a['entries_per_s']:>12,.0f} entries/s   baseline {a['baseline_rows_per_s']:>12,.0f}"
                     f" rows/s   ratio {a['ratio']:.3f}")
    for size, v in r["verify"].items():
        lines.append(f"verify {int(size):>10,}   {v['entries_per_s']:>12,} entries/s   baseline "
                     f"{v['baseline_entries_per_s']:>12,} sha256/s   ratio {v['ratio']:.3f}   {v['seconds']} s")
    for size, p in r["proofs"].items():
        if isinstance(p, dict):
            lines.append(f"proofs {int(size):>10,}   inclusion {p['inclusion_ms']:.3f} ms   "
                         f"consistency {p['consistency_ms']:.3f} ms (median of 200)")
        else:
            lines.append(f"{size:<34} {p}")
    m = r["verify_memory"]
    lines.append(f"verify peak RSS at {m['entries']:,} entries: {m['peak_rss_mb']} MB "
                 f"(process before verify {m['rss_before_verify_mb']} MB)")
    return "\n".join(lines)


def fresh_pg(base: str) -> tuple[str, object]:
    name = f"traceapp_bench_{os.getpid()}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(base).set(database=name).render_as_string(hide_password=False), (admin, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL; a fresh database is created beside it")
    parser.add_argument("--sizes", default="100000,1000000", help="log sizes for full verification")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = parser.parse_args()
    sizes = [int(x) for x in ("2000,5000" if args.quick else args.sizes).split(",")]
    proof_sizes = [1000, 10000] if args.quick else [10000, 100000, 1000000]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = run(f"sqlite:///{tmp}/bench.db", sizes, proof_sizes, args.quick)
    if args.postgres:
        url, (admin, name) = fresh_pg(args.postgres)
        try:
            results["postgresql"] = run(url, sizes, proof_sizes, args.quick)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    for name, r in results.items():
        print(table(name, r))
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()

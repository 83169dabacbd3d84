"""Regulator's desk benchmark: trace time on a big lineage graph, export throughput and memory, and the
full verification job against a bare ``Ledger.verify`` of the same log.

    .venv/bin/python bench/audit.py                                     # SQLite, 1,000,000 batches/entries
    .venv/bin/python bench/audit.py --batches 20000 --entries 20000     # a quick run
    .venv/bin/python bench/audit.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Per engine (SQLite: a fresh file in a temporary folder; with ``--postgres``: also a fresh database
on that server, dropped at the end):

1. **Trace.** Bulk-inserts a lineage graph of ``--batches`` batches in seven levels (farms, then six
   levels of packing, pooling and processing, each half the size of the one before; the last as big
   as the sixth). A batch takes 1-5 inputs (20/30/25/15/10 %) from a window of nearby batches of the
   level below, so neighbouring lots share farms and diamonds are common. Then it times
   ``traceapp.records.trace.trace`` (the tree the API and the recall page show) forward from
   ``--samples`` random farms and backward from as many random final products (depth 6), and, as the
   baseline, a recursive SQL query that only counts the same batches (``WITH RECURSIVE``), both in the
   same run. Target: a trace in ≤ 200 ms.

2. **Export.** On the same database, after adding inspections to ``--inspected`` of the batches, streams
   the export of every event (registrations, transformations, inspections) through
   ``traceapp.audit.exports`` as CSV, XLSX and EPCIS into /dev/null, each in a child process, and
   reports rows/s and the child's peak RSS; the baseline is ``csv.writer`` over a plain ``SELECT`` of
   the batches in a child of its own. Targets: ≥ 20,000 rows/s, peak ≤ 200 MB.

3. **Risk signals.** Times each rule's count (what the desk shows on every visit) on the same database,
   median of 3.

4. **Verification job.** Builds a log of ``--entries`` real ``batch.registered`` entries (transactions
   of 5,000, each signed) with their projection rows, then, each in a child process: a bare
   ``Ledger.verify`` (what ``bench/ledger.py`` measures), and the audit desk's job (``start_verification``,
   ``launch``, wait), which also re-derives every projection table. Reports seconds, ratio and peak RSS.

Prints a table per engine and one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from benchlib import (  # bench/ is the script's folder
    ORIGIN,
    PUBLIC_URL,
    QUICK_HELP,
    apply_quick,
    log,
    postgres_database,
    sqlite_database,
    vm_kib,
    yes,
)
from sqlalchemy import insert, select, text

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from registry import build_engine, code_of, inspection_items  # noqa: E402

from traceapp import migrations  # noqa: E402
from traceapp.ledger.store import configure_engine  # noqa: E402
from traceapp.records.models import Batch, BatchInput, Inspection, Organization  # noqa: E402

LEVEL_SHARES = (1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64, 1 / 64)  # farms … final products
FAN_IN = ((1, 20), (2, 30), (3, 25), (4, 15), (5, 10))  # inputs per batch, weight
WINDOW = 8  # inputs come from ± this many batches around the matching place in the level below
PRODUCERS = 2000
COUNTIES = ("430225", "430223", "430224", "430281", "420624", "420626", "420682", "420683")
TRACE_TARGET_MS = 200.0
EXPORT_ROWS_TARGET = 20_000.0
EXPORT_MB_TARGET = 200.0
VERIFY_CHUNK = 5000


# --- the lineage graph ---------------------------------------------------------------------


def level_sizes(total: int) -> list[int]:
    sizes = [max(1, int(total * share)) for share in LEVEL_SHARES]
    sizes[0] += total - sum(sizes)
    return sizes


def build_lineage(url: str, total: int, inspected: float, seed: int) -> dict:
    """Bulk-insert producers and a seven-level lineage graph of ``total`` batches; return the ids of
    each level and how long it took."""
    rng = random.Random(seed)
    engine = build_engine(url)
    configure_engine(engine)
    migrations.upgrade(engine)
    start = time.perf_counter()
    today = date.today()
    orgs = [{"id": i, "name": f"示范合作社{i}", "kind": "cooperative", "uscc": None,
             "region": COUNTIES[i % len(COUNTIES)], "address": "", "contact": "", "demo": True, "ledger_seq": i}
            for i in range(1, PRODUCERS + 1)]
    levels: list[range] = []
    next_id = 1
    for size in level_sizes(total):
        levels.append(range(next_id, next_id + size))
        next_id += size
    weights = [w for _, w in FAN_IN]
    fan_ins = [n for n, _ in FAN_IN]
    inputs_total = inspections_total = 0
    with engine.begin() as conn:
        conn.execute(insert(Organization.__table__), orgs)
        batches, inputs, inspections = [], [], []

        def flush() -> None:
            for table, rows in ((Batch.__table__, batches), (BatchInput.__table__, inputs),
                                (Inspection.__table__, inspections)):
                if rows:
                    conn.execute(insert(table), rows)
                    rows.clear()

        for depth, level in enumerate(levels):
            below = levels[depth - 1] if depth else None
            for position, batch_id in enumerate(level):
                org = 1 + (batch_id * 7919) % PRODUCERS
                harvest = today - timedelta(days=400 - depth * 20 - rng.randrange(20))
                batches.append({"id": batch_id, "code": code_of(batch_id), "organization_id": org,
                                "product": "黄桃" if depth < 4 else "黄桃罐头",
                                "category": "fruit" if depth < 4 else "processed", "brand": None,
                                "quantity": Decimal(rng.randint(100, 5000)), "unit": "kg", "harvest_date": harvest,
                                "pack_date": harvest, "origin_region": orgs[org - 1]["region"],
                                "base": f"基地{org}", "gtin": None, "lot": None, "registered_by": "bench",
                                "ledger_seq": batch_id})
                if below is not None:
                    centre = below.start + position * len(below) // len(level)
                    low, high = max(below.start, centre - WINDOW), min(below.stop - 1, centre + WINDOW)
                    k = min(rng.choices(fan_ins, weights)[0], high - low + 1)
                    for source in rng.sample(range(low, high + 1), k):
                        inputs.append({"batch_id": batch_id, "input_id": source,
                                       "quantity": Decimal(rng.randint(10, 100))})
                        inputs_total += 1
                if rng.random() < inspected:
                    inspections_total += 1
                    verdict = "fail" if rng.random() < 0.03 else "pass"
                    inspections.append({"id": inspections_total, "batch_id": batch_id,
                                        "inspected_on": harvest + timedelta(days=2), "body_id": 1,
                                        "report_no": f"JC{inspections_total:09d}",
                                        "items": inspection_items(rng, verdict), "verdict": verdict,
                                        "recorded_by": "lab", "ledger_seq": total + inspections_total})
                if len(batches) >= 10_000:
                    flush()
        flush()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    engine.dispose()
    return {"levels": [(r.start, r.stop) for r in levels], "batches": total, "inputs": inputs_total,
            "inspections": inspections_total, "build_s": round(time.perf_counter() - start, 1)}


RECURSIVE = {
    # the baseline: the database walks the same graph and only counts what it reaches
    "forward": "WITH RECURSIVE r(id, depth) AS (SELECT CAST(:id AS INTEGER), 0 UNION SELECT i.batch_id, r.depth + 1 "
               "FROM batch_inputs i JOIN r ON i.input_id = r.id WHERE r.depth < 12) SELECT count(DISTINCT id) FROM r",
    "backward": "WITH RECURSIVE r(id, depth) AS (SELECT CAST(:id AS INTEGER), 0 UNION SELECT i.input_id, r.depth + 1 "
                "FROM batch_inputs i JOIN r ON i.batch_id = r.id WHERE r.depth < 12) SELECT count(DISTINCT id) FROM r",
}


def tree_size(node: dict) -> tuple[int, int]:
    """Return (nodes in the tree, its depth)."""
    sizes = [tree_size(child) for child in node["children"]]
    return 1 + sum(s for s, _ in sizes), 1 + max((d for _, d in sizes), default=0)


def bench_trace(url: str, instance: Path, built: dict, samples: int, seed: int) -> dict:
    from traceapp import create_app, db
    from traceapp.records.trace import trace

    rng = random.Random(seed + 1)
    app = create_app({"DATABASE_URL": url, "TRACEAPP_INSTANCE_PATH": str(instance), "TRACEAPP_PUBLIC_URL": PUBLIC_URL,
                      "TRACEAPP_LEDGER_ORIGIN": ORIGIN, "PAGE_CACHE": False})
    levels = [range(*pair) for pair in built["levels"]]
    roots = {"forward": [rng.choice(levels[0]) for _ in range(samples)],
             "backward": [rng.choice(levels[-1]) for _ in range(samples)]}
    result = {}
    with app.app_context(), db.database().sessions() as s:
        for direction, ids in roots.items():
            log(f"trace {direction}: {len(ids)} roots")
            ours, base, nodes, depths, distinct = [], [], [], [], []
            for batch_id in ids[:5]:  # warm the caches
                trace(s, s.get(Batch, batch_id), direction)
            for batch_id in ids:
                s.expunge_all()
                t0 = time.perf_counter()
                batch = s.get(Batch, batch_id)
                tree = trace(s, batch, direction)
                ours.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                reached = s.execute(text(RECURSIVE[direction]), {"id": batch_id}).scalar_one()
                base.append(time.perf_counter() - t0)
                size, depth = tree_size(tree)
                nodes.append(size)
                depths.append(depth - 1)
                distinct.append(reached)
            ours_ms, base_ms = 1000 * statistics.median(ours), 1000 * statistics.median(base)
            p99 = 1000 * sorted(ours)[min(len(ours) - 1, int(0.99 * len(ours)))]
            result[direction] = {"median_ms": round(ours_ms, 2), "p99_ms": round(p99, 2),
                                 "max_ms": round(1000 * max(ours), 2), "baseline_median_ms": round(base_ms, 2),
                                 "ratio": round(ours_ms / base_ms, 2), "median_tree_nodes": statistics.median(nodes),
                                 "max_tree_nodes": max(nodes), "median_distinct_batches": statistics.median(distinct),
                                 "max_depth": max(depths), "met": p99 <= TRACE_TARGET_MS}
    app.extensions["traceapp.db"].engine.dispose()
    return result


def bench_risks(url: str, instance: Path, repeat: int) -> dict:
    """Time every risk rule's count (what the desk shows on each visit) on the lineage database."""
    from traceapp import create_app, db
    from traceapp.audit import risk

    app = create_app({"DATABASE_URL": url, "TRACEAPP_INSTANCE_PATH": str(instance), "TRACEAPP_PUBLIC_URL": PUBLIC_URL,
                      "TRACEAPP_LEDGER_ORIGIN": ORIGIN})
    result = {}
    with app.app_context(), db.database().sessions() as s:
        for rule in risk.RULES:
            seconds, found = [], 0
            for _ in range(repeat):
                t0 = time.perf_counter()
                found = risk.count_findings(s, rule)
                seconds.append(time.perf_counter() - t0)
            result[rule.name] = {"median_ms": round(1000 * statistics.median(seconds), 1), "findings": found}
    app.extensions["traceapp.db"].engine.dispose()
    result["all"] = {"median_ms": round(sum(r["median_ms"] for r in result.values()), 1),
                     "findings": sum(r["findings"] for r in result.values())}
    return result


# --- exports ---------------------------------------------------------------------------------


def export_child(url: str, instance: str, fmt: str) -> None:
    """In a child process: stream every event of the database in ``fmt`` to /dev/null; print figures."""
    start_mb = rss_mb()
    t0 = time.perf_counter()
    if fmt == "baseline":
        import csv

        from sqlalchemy import create_engine

        engine = create_engine(url)
        rows = 0
        with engine.connect().execution_options(stream_results=True, yield_per=5000) as conn, \
                open("/dev/null", "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            for row in conn.execute(select(Batch.__table__)):
                writer.writerow(row)
                rows += 1
    else:
        from traceapp import create_app, db
        from traceapp.audit import export_formats

        app = create_app({"DATABASE_URL": url, "TRACEAPP_INSTANCE_PATH": instance, "TRACEAPP_PUBLIC_URL": PUBLIC_URL,
                          "TRACEAPP_LEDGER_ORIGIN": ORIGIN})
        with app.test_request_context(), db.database().sessions() as s, open("/dev/null", "wb") as out:
            rows = export_formats.bench_export(s, fmt, out)
    seconds = time.perf_counter() - t0
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": rss_mb("VmHWM"), "start_mb": start_mb}))


def rss_mb(field: str = "VmRSS") -> float:
    """Return this process's resident memory now (VmRSS) or at its peak (VmHWM), in MB."""
    return vm_kib(field) / 1024


def run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT, timeout=3600)
    if out.returncode != 0:
        raise SystemExit(f"child {' '.join(args[:2])} failed:\n{out.stdout}{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_exports(url: str, instance: Path, formats: list[str]) -> dict:
    result = {}
    baseline = run_child("--child", "export", url, str(instance), "baseline")
    result["baseline"] = {"rows_per_s": round(baseline["rows"] / baseline["seconds"]), **_rounded(baseline)}
    for fmt in formats:
        log(f"export {fmt}")
        figures = run_child("--child", "export", url, str(instance), fmt)
        rate = figures["rows"] / figures["seconds"]
        result[fmt] = {"rows_per_s": round(rate), "ratio": round(rate / result["baseline"]["rows_per_s"], 2),
                       **_rounded(figures),
                       "met": rate >= EXPORT_ROWS_TARGET and figures["peak_mb"] <= EXPORT_MB_TARGET}
    return result


def _rounded(figures: dict) -> dict:
    return {"rows": figures["rows"], "seconds": round(figures["seconds"], 2), "peak_mb": round(figures["peak_mb"]),
            "start_mb": round(figures["start_mb"])}


# --- the verification job --------------------------------------------------------------------


def build_log(url: str, instance: Path, entries: int) -> dict:
    """Append ``entries`` real ``batch.registered`` entries with their batch rows, 5,000 per signed
    transaction, through the app's ledger (so the job checks the app's own signatures)."""
    from traceapp import create_app, db
    from traceapp.records.services import batch_record, register_organization
    from traceapp.records.uscc import compose

    app = create_app({"DATABASE_URL": url, "TRACEAPP_INSTANCE_PATH": str(instance), "TRACEAPP_PUBLIC_URL": PUBLIC_URL,
                      "TRACEAPP_LEDGER_ORIGIN": ORIGIN})
    runner = app.test_cli_runner()
    upgraded = runner.invoke(args=["db", "upgrade"])
    if upgraded.exit_code != 0:
        raise SystemExit(upgraded.output)
    start = time.perf_counter()
    actor = {"user": "bench", "org": None}
    with app.app_context():
        with db.write_session() as s:
            org = register_organization(s, {"name": "示范黄桃专业合作社", "kind": "cooperative",
                                            "uscc": compose("93430225", "B0000001"), "region": "430225"},
                                        actor=actor, demo=True)
            org_id = org.id
        ledger, table = db.ledger(), Batch.__table__
        done = 0
        while done < entries:
            with db.write_session() as s:
                rows = []
                for n in range(done, min(entries, done + VERIFY_CHUNK)):
                    row = Batch(code=code_of(n + 1), organization_id=org_id, product="黄桃", category="fruit",
                                brand=None, quantity=Decimal("1250.5"), unit="kg", harvest_date=date(2026, 7, 28),
                                pack_date=date(2026, 7, 29), origin_region="430225", base="鹿原镇九龙村黄桃种植基地",
                                gtin=None, lot=None, registered_by="bench")
                    appended = ledger.append(s, "batch.registered", actor, f"batch:{row.code}", batch_record(row, []))
                    rows.append({c.name: getattr(row, c.key) for c in table.columns if c.key != "id"}
                                | {"ledger_seq": appended.seq})
                s.execute(insert(table), rows)
                done += len(rows)
            print(f"\rlog: {done:,} entries", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    engine = app.extensions["traceapp.db"].engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))  # a live database has statistics
    engine.dispose()
    return {"entries": entries + 1, "build_s": round(time.perf_counter() - start, 1)}


def verify_child(url: str, instance: str, how: str) -> None:
    """In a child process: a bare ``Ledger.verify`` or the desk's verification job; print figures."""
    from traceapp import create_app, db
    from traceapp.audit import verification
    from traceapp.audit.models import VerificationRun
    from traceapp.ledger.store import begin_snapshot

    app = create_app({"DATABASE_URL": url, "TRACEAPP_INSTANCE_PATH": instance, "TRACEAPP_PUBLIC_URL": PUBLIC_URL,
                      "TRACEAPP_LEDGER_ORIGIN": ORIGIN, "AUDIT_VERIFY_STALE_SECONDS": 3600})
    with app.app_context():
        figures_start = rss_mb()
        t0 = time.perf_counter()
        if how == "bare":
            with db.database().sessions() as s:
                begin_snapshot(s)
                summary = db.ledger().verify(s)
            figures = {"entries": summary.size, "status": "ok", "problems": 0}
        else:
            with db.write_session() as s:
                run, _created = verification.start_verification(s, db.ledger(), "bench")
                run_id = run.id
            verification.launch(app, run_id)
            verification.wait(app, timeout=3600)
            with db.database().sessions() as s:
                run = s.get(VerificationRun, run_id)
                result = json.loads(run.result or "{}")
                figures = {"entries": run.entries_checked, "status": run.status,
                           "problems": len(result.get("problems") or []),
                           "first_problems": (result.get("problems") or [])[:3]}
        figures["seconds"] = time.perf_counter() - t0
    figures["peak_mb"], figures["start_mb"] = rss_mb("VmHWM"), figures_start
    print(json.dumps(figures))


def bench_verify(url: str, instance: Path) -> dict:
    bare = run_child("--child", "verify", url, str(instance), "bare")
    job = run_child("--child", "verify", url, str(instance), "job")
    if job["status"] != "ok":
        raise SystemExit(f"the verification job did not pass: {job}")
    return {"bare_s": round(bare["seconds"], 2), "bare_peak_mb": round(bare["peak_mb"]),
            "job_s": round(job["seconds"], 2), "job_peak_mb": round(job["peak_mb"]), "start_mb": round(job["start_mb"]),
            "ratio": round(job["seconds"] / bare["seconds"], 2), "entries": job["entries"]}


# --- the run ---------------------------------------------------------------------------------


def run_engine(name: str, database, args: argparse.Namespace) -> dict:
    result: dict = {"engine": name}
    if args.parts & {"trace", "risk", "export"}:
        with database("audit_trace") as (url, instance):
            log(f"[{name}] building a lineage graph of {args.batches:,} batches")
            built = build_lineage(url, args.batches, args.inspected, args.seed)
            result["lineage"] = built
            log(f"[{name}] built in {built['build_s']} s: {built['inputs']:,} inputs, "
                f"{built['inspections']:,} inspections")
            instance.mkdir(parents=True, exist_ok=True)
            if "trace" in args.parts:
                result["trace"] = bench_trace(url, instance, built, args.samples, args.seed)
            if "risk" in args.parts:
                log(f"[{name}] risk rule counts")
                result["risk"] = bench_risks(url, instance, 3)
            if "export" in args.parts:
                result["export"] = bench_exports(url, instance, args.formats)
    if "verify" in args.parts:
        with database("audit_verify") as (url, instance):
            log(f"[{name}] building a log of {args.entries:,} entries with their batch rows")
            result["log"] = build_log(url, instance, args.entries)
            result["verify"] = bench_verify(url, instance)
    return result


def table(r: dict) -> str:
    lines = [f"\n## {r['engine']}"]
    if "trace" in r:
        lines += ["", "| trace | median ms | p99 ms | max ms | recursive SQL median ms | ratio | median nodes "
                      "(distinct) | max nodes | depth | ≤ 200 ms |", "|---|---|---|---|---|---|---|---|---|---|"]
        for direction, t in r["trace"].items():
            lines.append(f"| {direction} | {t['median_ms']} | {t['p99_ms']} | {t['max_ms']} | "
                         f"{t['baseline_median_ms']} | {t['ratio']} | {t['median_tree_nodes']} "
                         f"({t['median_distinct_batches']}) | {t['max_tree_nodes']} | {t['max_depth']} | "
                         f"{yes(t['met'])} |")
    if "risk" in r:
        lines += ["", "| risk rule (count on the desk) | median ms | findings |", "|---|---|---|"]
        lines += [f"| {name} | {x['median_ms']} | {x['findings']:,} |" for name, x in r["risk"].items()]
    if "export" in r:
        lines += ["", "| export | rows | seconds | rows/s | ratio to csv.writer | peak MB (at start) | target met |",
                  "|---|---|---|---|---|---|---|"]
        for fmt, e in r["export"].items():
            lines.append(f"| {fmt} | {e['rows']:,} | {e['seconds']} | {e['rows_per_s']:,} | {e.get('ratio', '')} | "
                         f"{e['peak_mb']} ({e['start_mb']}) | {yes(e['met']) if 'met' in e else ''} |")
    if "verify" in r:
        v = r["verify"]
        lines += ["", "| verification at entries | bare Ledger.verify s (peak MB) | desk job s (peak MB) | ratio | "
                      "MB before |", "|---|---|---|---|---|",
                  f"| {v['entries']:,} | {v['bare_s']} ({v['bare_peak_mb']}) | {v['job_s']} ({v['job_peak_mb']}) | "
                  f"{v['ratio']} | {v['start_mb']} |"]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--postgres", help="also run on a fresh database on this PostgreSQL server URL")
    p.add_argument("--no-sqlite", action="store_true", help="run on PostgreSQL only")
    p.add_argument("--batches", type=int, default=1_000_000)
    p.add_argument("--entries", type=int, default=1_000_000)
    p.add_argument("--inspected", type=float, default=0.05, help="share of batches with an inspection")
    p.add_argument("--samples", type=int, default=200, help="trace roots per direction")
    p.add_argument("--formats", default="csv,xlsx,epcis")
    p.add_argument("--parts", default="trace,risk,export,verify")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--quick", action="store_true", help=QUICK_HELP)
    args = apply_quick(p, p.parse_args(argv), batches=2000, entries=2000, samples=5)
    args.parts = set(args.parts.split(","))
    args.formats = args.formats.split(",")
    return args


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        kind, url, instance, how = argv[1:5]
        (export_child if kind == "export" else verify_child)(url, instance, how)
        return
    args = parse_args(argv)
    results = []
    engines = ([] if args.no_sqlite else [("SQLite", sqlite_database)]) + (
        [("PostgreSQL", lambda prefix: postgres_database(args.postgres, prefix))] if args.postgres else [])
    for name, database in engines:
        results.append(run_engine(name, database, args))
        print(table(results[-1]), flush=True)  # each engine's figures as soon as they are in
    print(json.dumps({"benchmark": "audit", "date": date.today().isoformat(), "results": results}, default=str))


if __name__ == "__main__":
    main()

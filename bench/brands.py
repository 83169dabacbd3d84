"""Brand pages benchmark: the public search and brand page on a big registry, beside a bare Flask
page of the same size served by the same gunicorn in the same run.

    .venv/bin/python bench/brands.py                                    # SQLite, 1,000,000 batches
    .venv/bin/python bench/brands.py --batches 20000                    # a quick run
    .venv/bin/python bench/brands.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Per engine (SQLite: a fresh file in a temporary folder; with ``--postgres``: also a fresh
database created on that URL's server and dropped at the end) it:

1. migrates (``flask --app traceapp db upgrade``) and bulk-inserts a registry (``bench/registry.py``,
   shared with ``bench/public.py``) straight into the projection tables with SQLAlchemy Core
   (``executemany`` in chunks of ``--chunk`` rows, one transaction): 1,000 brand owners,
   ``--producers`` producers (cooperatives, companies, family farms, individuals) and a few
   inspection bodies; ``--brands`` brands named after real county-level divisions and a product
   (``search_text`` from ``traceapp.brands.search``); ``--licences`` licences and ``--batches``
   batches (13-character codes, harvests over the last three years, 10 % without a brand) spread
   over brands by a skewed weight 1/(rank + 20), so the biggest brand holds ~1.3 % of licences and
   batches and the smallest a few; about 2 % of batches have an inspection. Then ``ANALYZE``
   (PostgreSQL: ``VACUUM ANALYZE``), as a live database would have statistics. The build time is
   printed.

   The rows are inserted behind the ledger: there are no ledger entries for them (their
   ``ledger_seq`` values are made up), so ``flask --app traceapp ledger verify`` would report
   them. That does not matter for this read benchmark; the database is thrown away.

2. renders the measured pages in-process (Flask test client) with the page cache off, i.e.
   what a cache miss costs (the first view after a write), with every SQL statement timed:
   page size, statements, time in SQL and in all, the costliest statements. These figures,
   in the JSON line, say what is slow when the targets are missed.

3. starts ``gunicorn --workers 2`` serving ``bench/brands_app.py`` (the app plus ``GET
   /bench/bare``, a template extending ``base.html`` rendered to the brand page's byte size,
   passed as ``BENCH_BARE_BYTES``), warms each URL up with ``--warmup`` s of wrk, then runs
   ``wrk -t2 -c32 -d10s --latency`` interleaved, ``--rounds`` times: bare, search, page, uncached:

   - bare:   ``/bench/bare``;
   - search: ``/brands/?q=<pinyin initials matching a few brands>`` (chosen after the build);
   - page:   ``/brands/<slug>`` of the brand with the most licences and batches;
   - uncached: the same page with a query parameter of its own on every request
     (``bench/uncached.lua``), which no worker's page cache holds: the page's cost without it.

   The served pages come from each worker's page cache (``traceapp/page_cache.py``) after
   their first render, as they would between two writes on a live registry.

   Figures are medians over the rounds of wrk's Requests/sec and 99 % latency. Targets (from
   the issue): search and page each >= 0.5 of the bare page's requests/s, and p99 <= 50 ms.

wrk is Debian's package (installed with apt-get when /usr/bin/wrk is missing and we are root).
wrk, gunicorn and the database share the machine's CPUs. Prints a table, then one JSON object
with every figure as the last line.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from benchlib import (  # bench/ is the script's folder
    QUICK_HELP,
    ROOT,
    Gunicorn,
    app_env,
    apply_quick,
    database_size,
    ensure_wrk,
    log,
    migrate,
    postgres_database,
    profile,
    run_wrk,
    sqlite_database,
    yes,
)
from registry import build as build_registry
from registry import initials

if str(ROOT) not in sys.path:  # run as a script: make ``traceapp`` importable from the checkout
    sys.path.insert(0, str(ROOT))

from traceapp.brands.search import matches  # noqa: E402

APP = "bench.brands_app:app"
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
KINDS = ("bare", "search", "page", "uncached")
# "uncached": the brand page with a query parameter of its own on every request (bench/uncached.lua),
# which no worker's page cache holds: what traceapp/page_cache.py is worth, measured in the same run.
SCRIPTS = {"uncached": Path(__file__).with_name("uncached.lua")}
NAME = "brands"


def build(url: str, args: argparse.Namespace) -> dict:
    """Build the registry (bench/registry.py); return its summary, the brand page and the search query to measure."""
    registry = build_registry(url, args)
    target = registry.brands[0]
    query, query_matches = choose_query(registry.brands, args.query)
    return {**registry.summary, "page_slug": target["slug"], "page_name": target["name"],
            "page_licences": target["licences"], "query": query, "query_matches": query_matches}


def choose_query(brands: list[dict], forced: str | None) -> tuple[str, list[str]]:
    """Return pinyin initials that match a few brands (3-10, the biggest brands' first), and the names matched."""
    def matched(q: str) -> list[str]:
        return [b["name"] for b in brands if matches(q, b["search_text"])]

    if forced:
        return forced, matched(forced)
    best: tuple[int, str] | None = None
    for b in brands[:200]:
        full = initials(b["name"])
        for k in range(len(full), 1, -1):
            found = matched(full[:k])
            if 3 <= len(found) <= 10:
                return full[:k], found
            if found and (best is None or abs(len(found) - 5) < abs(best[0] - 5)):
                best = (len(found), full[:k])
    assert best is not None
    return best[1], matched(best[1])



class Server(Gunicorn):
    """gunicorn serving the bench app (brands_app: the app plus the bare baseline page)."""

    def __init__(self, env: dict, workers: int, log_path: Path):
        super().__init__(APP, ROOT, env, workers, log_path, probe="/bench/bare")


# --- one engine ----------------------------------------------------------------------------


def run_engine(name: str, url: str, instance: Path, wrk: str, args: argparse.Namespace) -> dict:
    env = app_env(url, instance)
    log(f"[{name}] migrate")
    migrate(env)
    log(f"[{name}] build: {args.brands:,} brands, {args.licences:,} licences, {args.batches:,} batches")
    built = build(url, args)
    built["database_bytes"] = database_size(url)
    log(f"[{name}] built in {built['seconds']} s {built['steps']}; {built['database_bytes'] / 2**20:.0f} MiB; "
        f"page /brands/{built['page_slug']} ({built['page_name']}, {built['page_licences']} licences); "
        f"search q={built['query']} matches {len(built['query_matches'])}: {'、'.join(built['query_matches'])}")
    paths = {"bare": "/bench/bare", "search": f"/brands/?q={quote(built['query'])}",
             "page": f"/brands/{quote(built['page_slug'])}"}
    paths["uncached"] = paths["page"]

    log(f"[{name}] profile an uncached render of each page in-process")
    prof = profile(url, instance, {k: v for k, v in paths.items() if k in ("search", "page")}, args.profile_repeat)
    for what, p in prof.items():
        body = p.pop("body")
        if p["status"] != 200:
            raise SystemExit(f"{paths[what]} answered {p['status']}:\n{body[:2000]}")
        if what == "search" and f"共 {len(built['query_matches'])} 个品牌" not in body:
            raise SystemExit(f"the search page does not show {len(built['query_matches'])} brands:\n{body[:3000]}")
        if what == "page" and built["page_name"] not in body:
            raise SystemExit(f"the brand page does not name {built['page_name']}")
        log(f"[{name}]   {what:<6} {p['bytes']:>7} bytes  {p['statements']:>4} statements  "
            f"SQL {p['sql_ms']:8.1f} ms  total {p['total_ms']:8.1f} ms")
        for t in p["top"][:2]:
            log(f"[{name}]          {t['calls']:>4}x {t['ms']:8.1f} ms  {t['sql'][:100]}")

    env["BENCH_BARE_BYTES"] = str(prof["page"]["bytes"])
    server = Server(env, args.workers, instance.parent / f"gunicorn-{name}.log")
    rounds: dict[str, list[dict]] = {k: [] for k in KINDS}
    try:
        server.wait()
        status, body = server.get(paths["bare"])
        bare_bytes = len(body)
        if status != 200:
            raise SystemExit(f"/bench/bare answered {status}")
        log(f"[{name}] warm-up ({args.warmup} s of wrk per URL)")
        for what in KINDS:
            run_wrk(wrk, server.url(paths[what]), args, args.warmup, SCRIPTS.get(what))
            server.settle()
        for i in range(args.rounds):
            for what in KINDS:
                r = run_wrk(wrk, server.url(paths[what]), args, args.duration, SCRIPTS.get(what))
                r["settle_s"] = round(server.settle(), 2)
                rounds[what].append(r)
                problems = (f"  non-2xx {r['non_2xx']}" if r["non_2xx"] else "") + \
                    (f"  socket errors {r['socket_errors']}" if any(r["socket_errors"].values()) else "")
                log(f"[{name}] round {i + 1}/{args.rounds} {what:<6} {r['req_per_s']:8.1f} req/s  "
                    f"p50 {r.get('p50_ms', 0):7.1f} ms  p99 {r.get('p99_ms', 0):7.1f} ms{problems}")
    finally:
        server.stop()
    gunicorn_log = server.log_text()
    if "Traceback" in gunicorn_log or "WORKER TIMEOUT" in gunicorn_log:
        log(f"[{name}] the gunicorn log shows errors; its end:\n{gunicorn_log[-4000:]}")

    result: dict = {"build": built, "profile": prof}
    for what in KINDS:
        rs = rounds[what]
        result[what] = {"path": paths[what], "bytes": bare_bytes if what == "bare" else prof[_profiled(what)]["bytes"],
                        "req_per_s": round(statistics.median(r["req_per_s"] for r in rs), 1),
                        "p50_ms": round(statistics.median(r["p50_ms"] for r in rs), 2),
                        "p99_ms": round(statistics.median(r["p99_ms"] for r in rs), 2),
                        "rounds": [{k: r[k] for k in ("req_per_s", "p50_ms", "p99_ms", "requests", "non_2xx",
                                                      "settle_s")}
                                   | ({"socket_errors": r["socket_errors"]} if any(r["socket_errors"].values())
                                      else {}) for r in rs]}
    for what in ("search", "page", "uncached"):
        r = result[what]
        r["ratio"] = round(r["req_per_s"] / result["bare"]["req_per_s"], 3)
        r["ratio_per_round"] = [round(x["req_per_s"] / b["req_per_s"], 3)
                                for b, x in zip(rounds["bare"], rounds[what], strict=True)]
        r["met"] = r["ratio"] >= TARGET_RATIO and r["p99_ms"] <= TARGET_P99_MS if what != "uncached" else None
    result["uncached"]["cache_worth"] = round(result["page"]["req_per_s"] / result["uncached"]["req_per_s"], 2)
    result["bare"]["met"] = result["bare"]["p99_ms"] <= TARGET_P99_MS
    result["errors"] = {"non_2xx": sum(r["non_2xx"] for rs in rounds.values() for r in rs),
                        "socket_errors": sum(sum(r["socket_errors"].values()) for rs in rounds.values() for r in rs),
                        "tracebacks": gunicorn_log.count("Traceback"),
                        "worker_timeouts": gunicorn_log.count("WORKER TIMEOUT")}
    return result


# --- report --------------------------------------------------------------------------------


def _profiled(what: str) -> str:
    """The in-process profile that stands for ``what`` (the uncached page is the page)."""
    return "page" if what == "uncached" else what


def table(results: dict) -> str:
    head = (f"{'engine':<11}{'what':<9}{'url':<32}{'bytes':>7}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
            f"{'vs bare':>9}{'targets':>20}{'met':>5}")
    lines = [head]
    targets = f">={TARGET_RATIO}, p99<={TARGET_P99_MS:g}ms"
    for name, r in results.items():
        for what in KINDS:
            x = r[what]
            url = x["path"] if len(x["path"]) <= 30 else x["path"][:29] + "…"
            ratio = f"{x['ratio']:.3f}" if "ratio" in x else ""
            target = {"bare": f"p99<={TARGET_P99_MS:g}ms", "uncached": "(no target)"}.get(what, targets)
            lines.append(f"{name if what == 'bare' else '':<11}{what:<9}{url:<32}{x['bytes']:>7}"
                         f"{x['req_per_s']:>9.1f}{x['p50_ms']:>9.1f}{x['p99_ms']:>9.1f}{ratio:>9}{target:>20}"
                         f"{'' if x['met'] is None else yes(x['met']):>5}")
    lines.append("")
    for name, r in results.items():
        b = r["build"]
        lines.append(f"{name}: built {b['organizations']:,} organizations, {b['brands']:,} brands, "
                     f"{b['licences']:,} licences, {b['batches']:,} batches, {b['inspections']:,} inspections in "
                     f"{b['seconds']} s ({b['database_bytes'] / 2**20:.0f} MiB); page {b['page_name']} "
                     f"({b['page_licences']} licences); q={b['query']} matches {len(b['query_matches'])}")
        for what in ("search", "page"):
            p = r["profile"][what]
            top = p["top"][0] if p["top"] else {"calls": 0, "ms": 0, "sql": ""}
            lines.append(f"{name}: one uncached {what} render in-process: {p['total_ms']} ms, "
                         f"{p['statements']} statements, "
                         f"{p['sql_ms']} ms in SQL; costliest: {top['calls']}x {top['ms']} ms {top['sql'][:70]}")
        e = r["errors"]
        if any(e.values()):
            lines.append(f"{name}: PROBLEMS: {e['non_2xx']} answers not 2xx/3xx, {e['socket_errors']} socket errors, "
                         f"{e['tracebacks']} tracebacks and {e['worker_timeouts']} worker timeouts")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="The public brand search and brand page against a bare page of "
                                                 "the same size (see the module docstring).")
    parser.add_argument("--postgres", metavar="URL",
                        help="also run on PostgreSQL: a fresh database is created on this URL's server")
    parser.add_argument("--batches", type=int, default=1_000_000, help="batches in the registry (default 1,000,000)")
    parser.add_argument("--licences", type=int, default=20_000, help="licences (default 20,000)")
    parser.add_argument("--brands", type=int, default=1000, help="brands, and brand owners (default 1,000)")
    parser.add_argument("--producers", type=int, default=2000, help="producer organizations (default 2,000)")
    parser.add_argument("--chunk", type=int, default=50_000, help="rows per executemany (default 50,000)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the registry (default 2026)")
    parser.add_argument("--query", help="search query (default: pinyin initials matching 3-10 brands)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of bare/search/page, interleaved (default 3)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of wrk per URL before the rounds (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--profile-repeat", type=int, default=5, help="in-process renders per page (default 5)")
    parser.add_argument("--db-prefix", default="traceapp_bench_brands",
                        help="name prefix of the PostgreSQL database (the process id is appended)")
    parser.add_argument("--quick", action="store_true", help=QUICK_HELP)
    args = apply_quick(parser, parser.parse_args(argv), batches=2000, licences=200, brands=50, producers=50,
                       rounds=1, duration=1, warmup=1, profile_repeat=1)
    if min(args.batches, args.licences, args.brands, args.producers, args.chunk, args.rounds, args.workers,
           args.connections, args.threads, args.profile_repeat) < 1 or args.duration <= 0 or args.warmup <= 0:
        parser.error("counts, --duration and --warmup must be positive")
    if args.licences < args.brands:
        parser.error("--licences must be at least --brands")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    wrk = ensure_wrk()
    start = time.perf_counter()
    results: dict = {}
    engines: list[tuple[str, Callable]] = [("sqlite", lambda: sqlite_database(NAME))]
    if args.postgres:
        engines.append(("postgresql", lambda: postgres_database(args.postgres, args.db_prefix)))
    for name, database in engines:
        with database() as (url, instance):
            results[name] = run_engine(name, url, instance, wrk, args)
    wrk_version = subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout.split("[")[0].strip()
    run = {"seconds": round(time.perf_counter() - start, 1), "duration_s": args.duration,
           "connections": args.connections, "threads": args.threads, "rounds": args.rounds, "workers": args.workers,
           "wrk": wrk_version, "python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version,
           "cpus": os.cpu_count()}
    print(table(results))
    print(f"\nwrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, {args.rounds} interleaved rounds, "
          f"{args.workers} gunicorn workers, medians over rounds; {os.cpu_count()} CPUs shared by wrk, gunicorn "
          f"and the database; total run time {run['seconds']} s")
    print(json.dumps({**results, "run": run}, ensure_ascii=False))
    if any(any(r["errors"].values()) for r in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Signed-in pages benchmark: the lists, searches, consoles and dashboards people use, on the big
registry, each in-process and under wrk beside a bare page of the same size in the same run.

    .venv/bin/python bench/pages.py                                     # SQLite, 1,000,000 batches
    .venv/bin/python bench/pages.py --batches 20000                     # a smaller registry
    .venv/bin/python bench/pages.py --quick                             # a smoke run (figures mean nothing)
    .venv/bin/python bench/pages.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/pages.py --only producer_batches             # some of the pages

A harness others add pages to: a page is a ``Page`` in ``PAGES`` (a name, the bench user that asks
for it, its path made from the build's context, and a check of its body); a value a path needs (a
producer, a brand, a county) goes into the context ``context()`` works out after the build; a user
of another role goes into ``USERS``.

Per engine (SQLite: a fresh file in a temporary folder; with ``--postgres``: also a fresh database
created on that URL's server and dropped at the end) it:

1. migrates and bulk-inserts the registry of ``bench/registry.py`` (shared with ``bench/brands.py``
   and ``bench/public.py``: 1,000 brand owners, ``--producers`` producers, ``--brands`` brands,
   ``--licences`` licences and ``--batches`` batches over three years, skewed over brands), then
   creates the bench users through ``traceapp.auth.services`` and works out the context.

2. renders each page in-process (Flask test client, signed in as its user, page cache off)
   ``--repeat`` times and reports the median and the 99th percentile, with the SQL statements of
   one render timed (what is slow when a target is missed). Targets: median ≤ 100 ms, p99 ≤ 300 ms.

3. starts ``gunicorn --workers 2`` serving ``bench/pages_app.py`` (the app plus ``GET
   /bench/bare/<bytes>``, a template extending ``base.html`` of the given size), signs each user in
   over HTTP and runs ``wrk -t2 -c32 --latency`` with that user's session cookie, interleaved,
   ``--rounds`` times: each page's bare page of its size, then the page. Target: each page's
   requests/s ≥ 0.3 of its bare page's.

The registry's rows are inserted behind the ledger (see bench/registry.py): fine for reads, the
database is thrown away. wrk, gunicorn and the database share the machine's CPUs. Prints a table,
then one JSON object with every figure as the last line.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from benchlib import (  # bench/ is the script's folder
    ORIGIN,
    PUBLIC_URL,
    QUICK_HELP,
    ROOT,
    Gunicorn,
    app_env,
    apply_quick,
    database_size,
    ensure_wrk,
    log,
    migrate,
    parse_wrk,
    postgres_database,
    sqlite_database,
    yes,
)
from registry import build as build_registry
from sqlalchemy import create_engine, event, text

if str(ROOT) not in sys.path:  # run as a script: make ``traceapp`` importable from the checkout
    sys.path.insert(0, str(ROOT))

APP = "bench.pages_app:app"
NAME = "pages"
PASSWORD = "bench-pages-password"
TARGET_MEDIAN_MS = 100.0
TARGET_P99_MS = 300.0
TARGET_RATIO = 0.3


@dataclass(frozen=True)
class Page:
    """A measured page: ``user`` (a key of USERS) asks for ``path(context)``; ``check(body, context)``
    returns what is wrong with the answer, or None."""

    name: str
    user: str
    path: Callable[[dict], str]
    check: Callable[[str, dict], str | None]


def _count_shown(expected_key: str) -> Callable[[str, dict], str | None]:
    """A check that the list page says it found as many rows as the context counted straight from the table."""
    def check(body: str, context: dict) -> str | None:
        from traceapp.lists.search import COUNT_CAP

        count = context[expected_key]
        shown = f"共 {COUNT_CAP:,} 条以上" if count > COUNT_CAP else f"共 {count:,} 条"
        return None if shown in body else f"the page does not say {shown!r}"
    return check


PAGES = [
    Page("producer_batches", "producer",
         lambda c: "/batches/?" + urlencode({"product": c["product"], "from": c["from"], "to": c["to"]}),
         _count_shown("producer_batches_count")),
    Page("regulator_search", "regulator",
         lambda c: "/batches/?" + urlencode({"brand": c["brand"], "region": c["county"]}),
         _count_shown("regulator_search_count")),
]
PAGES.append(Page("brand_console_licences", "brand_manager",  # the biggest brand's console: licences, use
                  lambda c: f"/console/{c['brand']}/", lambda body, c: None if f"共 {c['brand_licences']:,} 份" in body
                  else f"the console does not say 共 {c['brand_licences']:,} 份"))


def _batches_shown(expected_key: str) -> Callable[[str, dict], str | None]:
    """A check that a dashboard's batches chart says it counted as many batches over its default range (the
    last 12 months in the deployment's zone) as the context counted straight from the table."""
    def check(body: str, context: dict) -> str | None:
        shown = f"共 {context[expected_key]} 个批次"
        return None if shown in body else f"the dashboard does not say {shown!r}"
    return check


PAGES += [  # the dashboards: the cached figures (traceapp/dashboards/cache.py), after the first render
    Page("regulator_dashboard", "regulator", lambda c: "/dashboards/regulator", _batches_shown("all_batches_12m")),
    Page("regulator_dashboard_filtered", "regulator",
         lambda c: "/dashboards/regulator?" + urlencode({"brand": c["brand"], "region": c["county"]}),
         _batches_shown("brand_county_batches_12m")),
    Page("brand_dashboard", "brand_manager", lambda c: "/dashboards/brand", _batches_shown("owner_batches_12m")),
    Page("producer_dashboard", "producer", lambda c: "/dashboards/producer", _batches_shown("producer_batches_12m")),
]
# bench user -> (role, context key of its organization id or None)
USERS = {"producer": ("producer", "producer_org"), "regulator": ("regulator", None),
         "brand_manager": ("brand_manager", "brand_owner")}


def context(url: str, registry) -> dict:
    """Work out what the pages' paths need from the built registry, with the counts their checks expect:
    the producer with the most batches, its commonest product and the last year; the biggest brand
    and the county most of its batches come from."""
    engine = create_engine(url)
    today = date.today()
    try:
        with engine.connect() as conn:
            org = conn.execute(text("SELECT organization_id FROM batches GROUP BY organization_id "
                                    "ORDER BY count(*) DESC, organization_id LIMIT 1")).scalar_one()
            product = conn.execute(text("SELECT product FROM batches WHERE organization_id = :o GROUP BY product "
                                        "ORDER BY count(*) DESC, product LIMIT 1"), {"o": org}).scalar_one()
            start, end = today - timedelta(days=365), today
            produced = conn.execute(text(
                "SELECT count(*) FROM batches WHERE organization_id = :o AND product LIKE :p "
                "AND harvest_date BETWEEN :a AND :b"),
                {"o": org, "p": f"%{product}%", "a": start, "b": end}).scalar_one()
            brand = registry.brands[0]["slug"]
            county = conn.execute(text("SELECT origin_region FROM batches WHERE brand = :b GROUP BY origin_region "
                                       "ORDER BY count(*) DESC, origin_region LIMIT 1"), {"b": brand}).scalar_one()
            found = conn.execute(text("SELECT count(*) FROM batches WHERE brand = :b AND origin_region = :r"),
                                 {"b": brand, "r": county}).scalar_one()
            owner, licences = conn.execute(text(
                "SELECT b.owner_id, (SELECT count(*) FROM licenses l WHERE l.brand_id = b.id) FROM brands b "
                "WHERE b.slug = :b"), {"b": brand}).one()
    finally:
        engine.dispose()
    return {"producer_org": org, "product": product, "from": start.isoformat(), "to": end.isoformat(),
            "producer_batches_count": produced, "brand": brand, "county": county, "regulator_search_count": found,
            "brand_owner": owner, "brand_licences": licences, **_dashboard_context(url, org, brand, county, owner)}


def _dashboard_context(url: str, org: int, brand: str, county: str, owner: int) -> dict:
    """The batches each dashboard counts over its default range: from the first day of the month eleven
    months back to today in the deployment's zone."""
    from traceapp.clock import DEFAULT_TIMEZONE
    from traceapp.dashboards.figures import DEFAULT_MONTHS

    today = datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).date()
    first = today.year * 12 + today.month - DEFAULT_MONTHS
    span = {"a": date(first // 12, first % 12 + 1, 1), "b": today}
    count = "SELECT count(*) FROM batches WHERE harvest_date BETWEEN :a AND :b"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                "all_batches_12m": conn.execute(text(count), span).scalar_one(),
                "brand_county_batches_12m": conn.execute(text(count + " AND brand = :s AND origin_region = :r"),
                                                         {**span, "s": brand, "r": county}).scalar_one(),
                "owner_batches_12m": conn.execute(text(
                    count + " AND brand IN (SELECT slug FROM brands WHERE owner_id = :o)"),
                    {**span, "o": owner}).scalar_one(),
                "producer_batches_12m": conn.execute(text(count + " AND organization_id = :o"),
                                                     {**span, "o": org}).scalar_one()}
    finally:
        engine.dispose()


def create_users(url: str, instance: Path, ctx: dict) -> None:
    """Create each bench user through the account service, in one write transaction."""
    from traceapp import create_app, db
    from traceapp.auth.services import create_user

    app = create_app(_config(url, instance))
    with app.app_context(), db.write_session() as session:
        for name, (role, org_key) in USERS.items():
            create_user(session, f"bench-{name}", role, ctx[org_key] if org_key else None, PASSWORD)
    app.extensions["traceapp.db"].engine.dispose()


def _config(url: str, instance: Path) -> dict:
    return {"DATABASE_URL": url, "TRACEAPP_INSTANCE_PATH": str(instance), "TRACEAPP_PUBLIC_URL": PUBLIC_URL,
            "TRACEAPP_LEDGER_ORIGIN": ORIGIN, "PAGE_CACHE": False}


_CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


# --- in-process ----------------------------------------------------------------------------


def in_process(url: str, instance: Path, pages: list[Page], ctx: dict, repeat: int) -> dict:
    """Render each page ``repeat`` times signed in as its user; return per page its status, size, median
    and p99 milliseconds, and one render's statements (count, SQL milliseconds, the costliest)."""
    from traceapp import create_app

    app = create_app(_config(url, instance))
    engine = app.extensions["traceapp.db"].engine
    statements: list[tuple[str, float]] = []
    started: list[float] = []
    event.listen(engine, "before_cursor_execute", lambda *_a: started.append(time.perf_counter()))
    event.listen(engine, "after_cursor_execute",
                 lambda _c, _cur, statement, *_a: statements.append((" ".join(statement.split()),
                                                                     time.perf_counter() - started.pop())))
    clients = {}
    for name in {p.user for p in pages}:
        client = clients[name] = app.test_client()
        token = _CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
        answer = client.post("/login", data={"csrf_token": token, "username": f"bench-{name}", "password": PASSWORD})
        if answer.status_code != 302:
            raise SystemExit(f"bench-{name} could not sign in: {answer.status_code}")
    result = {}
    try:
        for page in pages:
            client, path = clients[page.user], page.path(ctx)
            times = []
            for _ in range(repeat):
                statements.clear()
                t0 = time.perf_counter()
                response = client.get(path)
                times.append(time.perf_counter() - t0)
            body = response.get_data(as_text=True)
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}:\n{body[:2000]}")
            problem = page.check(body, ctx)
            if problem:
                raise SystemExit(f"{page.name} ({path}): {problem}")
            times.sort()
            top = sorted(statements, key=lambda s: s[1], reverse=True)[:3]
            result[page.name] = {
                "path": path, "bytes": len(response.data), "renders": repeat,
                "median_ms": round(1000 * statistics.median(times), 2),
                "p99_ms": round(1000 * times[min(len(times) - 1, int(0.99 * len(times)))], 2),
                "statements": len(statements), "sql_ms": round(1000 * sum(s for _, s in statements), 2),
                "top": [{"sql": s[:160], "ms": round(1000 * t, 2)} for s, t in top]}
    finally:
        engine.dispose()
    return result


# --- under wrk -----------------------------------------------------------------------------


def sign_in(server: Gunicorn, username: str) -> str:
    """Sign in over HTTP; return the Cookie header value of the signed-in session."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
    try:
        conn.request("GET", "/login")
        response = conn.getresponse()
        token = _CSRF.search(response.read().decode()).group(1)
        cookie = _cookies(response)
        form = urlencode({"csrf_token": token, "username": username, "password": PASSWORD})
        conn.request("POST", "/login", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        response = conn.getresponse()
        response.read()
        if response.status != 302:
            raise SystemExit(f"{username} could not sign in over HTTP: {response.status}")
        return _cookies(response) or cookie
    finally:
        conn.close()


def _cookies(response) -> str:
    return "; ".join(value.split(";", 1)[0] for name, value in response.getheaders() if name.lower() == "set-cookie")


def wrk(binary: str, url: str, cookie: str, args: argparse.Namespace, seconds: float) -> dict:
    cmd = [binary, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--timeout", "30s", "--latency",
           "-H", f"Cookie: {cookie}", url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    if out.returncode != 0:
        raise SystemExit(f"wrk failed ({out.returncode}):\n{out.stdout}{out.stderr}")
    return parse_wrk(out.stdout)


def under_wrk(env: dict, instance: Path, name: str, binary: str, pages: list[Page], ctx: dict, sizes: dict,
              args: argparse.Namespace) -> dict:
    server = Gunicorn(APP, ROOT, env, args.workers, instance.parent / f"gunicorn-{name}.log", probe="/login")
    runs: dict[str, dict[str, list[dict]]] = {p.name: {"bare": [], "page": []} for p in pages}
    try:
        server.wait()
        cookies = {user: sign_in(server, f"bench-{user}") for user in {p.user for p in pages}}
        paths = {p.name: (f"/bench/bare/{sizes[p.name]}", p.path(ctx)) for p in pages}
        log(f"[{name}] warm-up ({args.warmup} s of wrk per URL)")
        for page in pages:
            for path in paths[page.name]:
                wrk(binary, server.url(path), cookies[page.user], args, args.warmup)
                server.settle()
        for i in range(args.rounds):
            for page in pages:
                for what, path in zip(("bare", "page"), paths[page.name], strict=True):
                    r = wrk(binary, server.url(path), cookies[page.user], args, args.duration)
                    r["settle_s"] = round(server.settle(), 2)
                    runs[page.name][what].append(r)
                    log(f"[{name}] round {i + 1}/{args.rounds} {page.name:<18} {what:<5} {r['req_per_s']:8.1f} req/s  "
                        f"p50 {r.get('p50_ms', 0):7.1f} ms  p99 {r.get('p99_ms', 0):7.1f} ms"
                        + (f"  non-2xx {r['non_2xx']}" if r["non_2xx"] else ""))
    finally:
        server.stop()
    gunicorn_log = server.log_text()
    result = {}
    for page in pages:
        bare, measured = runs[page.name]["bare"], runs[page.name]["page"]
        med = {what: {"req_per_s": round(statistics.median(r["req_per_s"] for r in rs), 1),
                      "p50_ms": round(statistics.median(r.get("p50_ms", 0) for r in rs), 2),
                      "p99_ms": round(statistics.median(r.get("p99_ms", 0) for r in rs), 2),
                      "non_2xx": sum(r["non_2xx"] for r in rs),
                      "socket_errors": sum(sum(r["socket_errors"].values()) for r in rs)}
               for what, rs in (("bare", bare), ("page", measured))}
        ratio = med["page"]["req_per_s"] / med["bare"]["req_per_s"]
        result[page.name] = {**med, "ratio": round(ratio, 3),
                             "ratio_per_round": [round(m["req_per_s"] / b["req_per_s"], 3)
                                                 for b, m in zip(bare, measured, strict=True)]}
    result["errors"] = {"tracebacks": gunicorn_log.count("Traceback"),
                        "worker_timeouts": gunicorn_log.count("WORKER TIMEOUT")}
    return result


# --- one engine ----------------------------------------------------------------------------


def run_engine(name: str, url: str, instance: Path, binary: str, pages: list[Page], args: argparse.Namespace) -> dict:
    env = app_env(url, instance)
    log(f"[{name}] migrate")
    migrate(env)
    log(f"[{name}] build: {args.brands:,} brands, {args.licences:,} licences, {args.batches:,} batches")
    registry = build_registry(url, args)
    built = {**registry.summary, "database_bytes": database_size(url)}
    ctx = context(url, registry)
    create_users(url, instance, ctx)
    log(f"[{name}] built in {built['seconds']} s; {built['database_bytes'] / 2**20:.0f} MiB; context {ctx}")
    log(f"[{name}] in-process, {args.repeat} renders per page")
    inproc = in_process(url, instance, pages, ctx, args.repeat)
    for page_name, p in inproc.items():
        log(f"[{name}]   {page_name:<18} {p['bytes']:>7} bytes  median {p['median_ms']:7.1f} ms  "
            f"p99 {p['p99_ms']:7.1f} ms  {p['statements']} statements, {p['sql_ms']} ms SQL")
    served = under_wrk(env, instance, name, binary, pages, ctx, {n: p["bytes"] for n, p in inproc.items()}, args)
    result = {"build": built, "context": ctx, "pages": {}}
    for page in pages:
        i, w = inproc[page.name], served[page.name]
        result["pages"][page.name] = {
            "in_process": i, "wrk": w,
            "met": i["median_ms"] <= TARGET_MEDIAN_MS and i["p99_ms"] <= TARGET_P99_MS and w["ratio"] >= TARGET_RATIO}
    result["errors"] = served["errors"]
    return result


def table(results: dict) -> str:
    lines = [f"{'engine':<11}{'page':<19}{'bytes':>7}{'median ms':>11}{'p99 ms':>9}{'req/s':>9}{'bare req/s':>12}"
             f"{'vs bare':>9}{'met':>5}"]
    for engine, r in results.items():
        for page_name, p in r["pages"].items():
            i, w = p["in_process"], p["wrk"]
            lines.append(f"{engine:<11}{page_name:<19}{i['bytes']:>7}{i['median_ms']:>11.1f}{i['p99_ms']:>9.1f}"
                         f"{w['page']['req_per_s']:>9.1f}{w['bare']['req_per_s']:>12.1f}{w['ratio']:>9.3f}"
                         f"{yes(p['met']):>5}")
    lines.append(f"targets: in-process median <= {TARGET_MEDIAN_MS:g} ms and p99 <= {TARGET_P99_MS:g} ms; "
                 f"under wrk >= {TARGET_RATIO} of a bare page of the same size")
    for engine, r in results.items():
        b = r["build"]
        lines.append(f"{engine}: {b['batches']:,} batches, {b['brands']:,} brands, {b['licences']:,} licences, "
                     f"{b['organizations']:,} organizations, built in {b['seconds']} s "
                     f"({b['database_bytes'] / 2**20:.0f} MiB)")
        for page_name, p in r["pages"].items():
            top = p["in_process"]["top"][0] if p["in_process"]["top"] else {"ms": 0, "sql": ""}
            i = p["in_process"]
            lines.append(f"{engine}: {page_name} {i['path']}: {i['statements']} statements, "
                         f"{i['sql_ms']} ms SQL; costliest {top['ms']} ms {top['sql'][:90]}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Signed-in pages against a bare page of the same size "
                                                 "(see the module docstring).")
    parser.add_argument("--postgres", metavar="URL",
                        help="also run on PostgreSQL: a fresh database is created on this URL's server")
    parser.add_argument("--only", action="append", choices=[p.name for p in PAGES], help="measure only these pages")
    parser.add_argument("--batches", type=int, default=1_000_000, help="batches in the registry (default 1,000,000)")
    parser.add_argument("--licences", type=int, default=20_000, help="licences (default 20,000)")
    parser.add_argument("--brands", type=int, default=1000, help="brands, and brand owners (default 1,000)")
    parser.add_argument("--producers", type=int, default=2000, help="producer organizations (default 2,000)")
    parser.add_argument("--chunk", type=int, default=50_000, help="rows per executemany (default 50,000)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the registry (default 2026)")
    parser.add_argument("--repeat", type=int, default=200, help="in-process renders per page (default 200)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of bare page and page (default 3)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of wrk per URL before the rounds (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--skip-sqlite", action="store_true", help="with --postgres, measure PostgreSQL only")
    parser.add_argument("--db-prefix", default="traceapp_bench_pages",
                        help="name prefix of the PostgreSQL database (the process id is appended)")
    parser.add_argument("--quick", action="store_true", help=QUICK_HELP)
    args = apply_quick(parser, parser.parse_args(argv), batches=2000, licences=200, brands=50, producers=50,
                       rounds=1, duration=1, warmup=1, repeat=3)
    if min(args.batches, args.licences, args.brands, args.producers, args.chunk, args.rounds, args.workers,
           args.connections, args.threads, args.repeat) < 1 or args.duration <= 0 or args.warmup <= 0:
        parser.error("counts, --duration and --warmup must be positive")
    if args.licences < args.brands:
        parser.error("--licences must be at least --brands")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    pages = [p for p in PAGES if not args.only or p.name in args.only]
    binary = ensure_wrk()
    start = time.perf_counter()
    engines = [] if args.skip_sqlite and args.postgres else [("sqlite", lambda: sqlite_database(NAME))]
    if args.postgres:
        engines.append(("postgresql", lambda: postgres_database(args.postgres, args.db_prefix)))
    results: dict = {}
    for name, database in engines:
        with database() as (url, instance):
            results[name] = run_engine(name, url, instance, binary, pages, args)
    run = {"seconds": round(time.perf_counter() - start, 1), "duration_s": args.duration, "rounds": args.rounds,
           "connections": args.connections, "threads": args.threads, "workers": args.workers,
           "repeat": args.repeat, "python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version,
           "cpus": os.cpu_count()}
    print(table(results))
    print(json.dumps({**results, "run": run}, ensure_ascii=False, default=str))
    if any(any(r["errors"].values()) for r in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()

"""How fast the pickers answer on a large registry, in-process (Flask test client, signed in).

    .venv/bin/python bench/pickers.py [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Builds the registry of ``bench/registry.py`` (1,000,000 batches by default) in a throwaway SQLite file
(and PostgreSQL database), signs in a regulator and the producer holding the most licences valid today,
then asks each type-ahead ``--repeat`` times and renders the batch form (whose brand picker computes
this year's use of each licensed brand) and prints the median and p99 of each, in milliseconds.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import (  # noqa: E402
    QUICK_HELP,
    app_env,
    apply_quick,
    log,
    migrate,
    postgres_database,
    sqlite_database,
)
from bench.registry import build  # noqa: E402

QUERIES = {
    "regions, pinyin": "/pickers/regions?q=yanling",
    "regions, name": "/pickers/regions?q=株洲",
    "regions, children": "/pickers/regions?parent=430200",
    "organizations, name": "/pickers/organizations?q=合作社",
    "organizations, code": "/pickers/organizations?q=93",
    "brands, initials": "/pickers/brands?q=yl",
}


def timed(client, path: str, repeat: int) -> dict:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}: {response.get_data(as_text=True)[:500]}")
    times.sort()
    return {"median": round(statistics.median(times), 1), "p99": round(times[min(len(times) - 1,
                                                                                int(len(times) * 0.99))], 1)}


def run_engine(name: str, url: str, instance: Path, args: argparse.Namespace) -> dict:
    import os

    env = app_env(url, instance)
    migrate(env)
    log(f"[{name}] build: {args.batches:,} batches, {args.producers:,} producers")
    build(url, args)
    os.environ.update({k: v for k, v in env.items() if k in ("DATABASE_URL", "TRACEAPP_INSTANCE_PATH")})
    from sqlalchemy import func, select

    from traceapp import create_app, db
    from traceapp.auth.services import create_user
    from traceapp.brands.models import License

    app = create_app()
    today = date.today()
    with app.app_context(), db.write_session() as session:
        producer = session.scalar(
            select(License.licensee_id).where(License.revoked_on.is_(None), License.valid_from <= today,
                                              License.valid_to >= today)
            .group_by(License.licensee_id).order_by(func.count().desc()).limit(1))
        create_user(session, "bench-regulator", "regulator", None, "bench-password")
        create_user(session, "bench-producer", "producer", producer, "bench-password")
    results = {}
    for who, paths in (("bench-regulator", QUERIES), ("bench-producer", {"batch form": "/batches/new"})):
        client = app.test_client()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").text).group(1)
        signed = client.post("/login", data={"csrf_token": token, "username": who, "password": "bench-password"})
        if signed.status_code != 302:
            raise SystemExit(f"signing in {who} failed: {signed.status_code}")
        for label, path in paths.items():
            timed(client, path, 3)  # warm the caches a worker keeps
            results[label] = timed(client, path, args.repeat)
            log(f"[{name}] {label:<22} median {results[label]['median']:6.1f} ms  p99 {results[label]['p99']:6.1f} ms")
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", metavar="URL", help="also run on PostgreSQL (a fresh database on this server)")
    parser.add_argument("--batches", type=int, default=1_000_000)
    parser.add_argument("--licences", type=int, default=20_000)
    parser.add_argument("--brands", type=int, default=1000)
    parser.add_argument("--producers", type=int, default=2000)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=200, help="requests per query (default 200)")
    parser.add_argument("--quick", action="store_true", help=QUICK_HELP)
    args = apply_quick(parser, parser.parse_args(argv), batches=2000, licences=200, brands=50, producers=50, repeat=3)
    engines = [("sqlite", lambda: sqlite_database("pickers"))]
    if args.postgres:
        engines.append(("postgresql", lambda: postgres_database(args.postgres, "traceapp_bench_pickers")))
    table = {}
    for name, database in engines:
        with database() as (url, instance):
            table[name] = run_engine(name, url, instance, args)
    print(f"\n{args.batches:,} batches, {args.producers:,} producers; {args.repeat} requests each, in-process")
    print("| query | " + " | ".join(f"{n} median / p99 (ms)" for n in table) + " |")
    print("| --- | " + " | ".join("---" for _ in table) + " |")
    for label in next(iter(table.values())):
        print(f"| {label} | " + " | ".join(f"{r[label]['median']} / {r[label]['p99']}" for r in table.values()) + " |")


if __name__ == "__main__":
    main()

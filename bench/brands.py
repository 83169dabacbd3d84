"""Brand pages benchmark: the public search and brand page on a big registry, beside a bare Flask
page of the same size served by the same gunicorn in the same run.

    .venv/bin/python bench/brands.py                                    # SQLite, 1,000,000 batches
    .venv/bin/python bench/brands.py --batches 20000                    # a quick run
    .venv/bin/python bench/brands.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Per engine (SQLite: a fresh file in a temporary folder; with ``--postgres``: also a fresh
database created on that URL's server and dropped at the end) it:

1. migrates (``flask --app traceapp db upgrade``) and bulk-inserts a registry straight into
   the projection tables with SQLAlchemy Core (``executemany`` in chunks of ``--chunk`` rows,
   one transaction): 1,000 brand owners, ``--producers`` producers (cooperatives, companies,
   family farms, individuals) and a few inspection bodies; ``--brands`` brands named after
   real county-level divisions and a product (``search_text`` from ``traceapp.brands.search``);
   ``--licences`` licences and ``--batches`` batches (13-character codes, harvests over the
   last three years, 10 % without a brand) spread over brands by a skewed weight
   1/(rank + 20), so the biggest brand holds ~1.3 % of licences and batches and the smallest a
   few; about 2 % of batches have an inspection. Then ``ANALYZE`` (PostgreSQL: ``VACUUM
   ANALYZE``), as a live database would have statistics. The build time is printed.

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
   ``wrk -t2 -c32 -d10s --latency`` interleaved, ``--rounds`` times: bare, search, page:

   - bare:   ``/bench/bare``;
   - search: ``/brands/?q=<pinyin initials matching a few brands>`` (chosen after the build);
   - page:   ``/brands/<slug>`` of the brand with the most licences and batches.

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
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from benchlib import Gunicorn, log, postgres_database, sqlite_database, yes  # bench/ is the script's folder
from sqlalchemy import create_engine, event, insert, make_url, text

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make ``traceapp`` importable from the checkout
    sys.path.insert(0, str(ROOT))

from traceapp.brands.models import Brand, License  # noqa: E402
from traceapp.brands.search import matches, search_text, slug_for, syllables  # noqa: E402
from traceapp.records import regions  # noqa: E402
from traceapp.records.codes import ALPHABET, CODE_LENGTH  # noqa: E402
from traceapp.records.models import Batch, Inspection, Organization  # noqa: E402
from traceapp.records.uscc import compose  # noqa: E402

APP = "bench.brands_app:app"
PUBLIC_URL = "http://bench.traceapp.test"
ORIGIN = "bench.traceapp.test/ledger"
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
KINDS = ("bare", "search", "page")
SKEW = 20  # brand weight 1 / (rank + SKEW)
UNBRANDED = 0.10  # share of batches without a brand
INSPECTED = 0.02  # share of batches with an inspection
INSPECTION_BODIES = 20

PRODUCTS = {
    "fruit": ["黄桃", "脐橙", "猕猴桃", "蜜柚", "苹果", "雪梨", "葡萄", "杨梅", "荔枝", "冰糖橙", "蜜桔", "樱桃"],
    "vegetable": ["辣椒", "山药", "莲藕", "白菜", "萝卜", "生姜", "大蒜", "芦笋", "竹笋"],
    "tea": ["绿茶", "红茶", "黑茶", "白茶", "毛尖", "银针", "莓茶"],
    "grain": ["大米", "小米", "香米", "糯米", "荞麦"],
    "edible_fungi": ["香菇", "木耳", "灵芝", "茶树菇", "竹荪"],
    "livestock": ["黑猪", "黄牛", "山羊", "牦牛"],
    "poultry": ["土鸡", "麻鸭", "鸡蛋", "皮蛋", "白鹅"],
    "aquatic": ["小龙虾", "大闸蟹", "鳜鱼", "甲鱼", "草鱼"],
    "oil_crop": ["茶油", "菜籽油", "花生", "芝麻"],
    "medicinal_herb": ["黄精", "天麻", "杜仲", "金银花", "百合"],
    "processed": ["腊肉", "豆腐", "辣椒酱", "米粉", "酱菜", "粉丝"],
    "other": ["蜂蜜", "核桃", "板栗", "油茶籽"],
}
CATEGORY_WEIGHTS = {"fruit": 30, "vegetable": 14, "tea": 14, "grain": 10, "edible_fungi": 6, "livestock": 5,
                    "poultry": 5, "aquatic": 5, "oil_crop": 4, "medicinal_herb": 4, "processed": 6, "other": 4}
WORDS = ("金山", "绿源", "丰收", "富民", "兴农", "青山", "碧水", "福瑞", "康达", "鑫源", "田园", "山泉", "红星", "新农",
         "惠农", "佳禾", "润丰", "恒昌", "天禾", "瑞丰", "春晖", "龙泉", "百川", "禾润")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
PRODUCER_KINDS = (("cooperative", "专业合作社", "93"), ("enterprise", "农业发展有限公司", "91"),
                  ("family_farm", "家庭农场", "92"), ("individual", "", None))
UNITS = (("kg", Decimal(1)), ("斤", Decimal("0.5")), ("t", Decimal(1000)))  # licence unit, kg per unit
SUFFIXES = ("自治县", "自治旗", "林区", "特区", "县", "市", "区", "旗")


# --- the registry --------------------------------------------------------------------------


NAME = "brands"


def short_name(name: str) -> str:
    """炎陵县 -> 炎陵, 北京市朝阳区 stays 朝阳 (no suffix dropped if fewer than two characters remain)."""
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def initials(name: str) -> str:
    return "".join(s[0] for s in syllables(name))


def code_of(n: int) -> str:
    """Return a distinct 13-character batch code for each n < 29**13 (a bijection that scrambles n)."""
    x = (n * 6364136223846793005 + 1442695040888963407) % (len(ALPHABET) ** CODE_LENGTH)
    out = []
    for _ in range(CODE_LENGTH):
        x, digit = divmod(x, len(ALPHABET))
        out.append(ALPHABET[digit])
    return "".join(out)


def shares(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainders), at least 1 each when possible."""
    s = sum(weights)
    exact = [total * w / s for w in weights]
    counts = [max(1, int(x)) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - int(exact[i]), reverse=True)
    i = 0
    while sum(counts) < total:
        counts[order[i % len(order)]] += 1
        i += 1
    while sum(counts) > total:
        j = max(range(len(counts)), key=lambda k: counts[k])
        counts[j] -= 1
    return counts


def build_engine(url: str):
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _fast(dbapi_connection, _record):  # a throw-away file: no fsync, a big page cache
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-262144")
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()
    return engine


def build(url: str, args: argparse.Namespace) -> dict:
    """Bulk-insert the registry into a migrated, empty database; return what was built and how long it took."""
    rng = random.Random(args.seed)
    today = date.today()
    year = today.year
    timings: dict[str, float] = {}
    start = time.perf_counter()
    seq = iter(range(1, 10**9))  # made-up ledger_seq values: there is no ledger behind these rows

    counties = [r for r in regions.all_regions() if r.level == "county"]
    counties_of_city: dict[str, list[str]] = defaultdict(list)
    for r in counties:
        counties_of_city[r.parent].append(r.code)
    if args.brands > len(counties):
        raise SystemExit(f"--brands may be at most {len(counties)} (one county-level division each)")

    # Brands: one per county-level division; one in ten a city-level brand named after its city.
    brands, names, slugs = [], set(), set()
    categories, cat_weights = list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values())
    for county in rng.sample(counties, args.brands):
        city = regions.get(county.parent) if county.parent else None
        city_level = city is not None and city.level == "city" and rng.random() < 0.1
        place = city if city_level else county
        while True:
            category = rng.choices(categories, cat_weights)[0]
            product = rng.choice(PRODUCTS[category])
            name = short_name(place.name) + product
            if name not in names:
                break
        names.add(name)
        slug = base = slug_for(name)
        n = 2
        while slug in slugs:
            slug, n = f"{base}-{n}", n + 1
        slugs.add(slug)
        products = [product] + ([rng.choice([p for p in PRODUCTS[category] if p != product])]
                                if rng.random() < 0.2 else [])
        aliases = [place.name + product] if place.name != short_name(place.name) and rng.random() < 0.3 else []
        area = [place.code]
        brands.append({"name": name, "aliases": aliases, "slug": slug, "category": category,
                       "level": "city" if city_level else "county", "area": area, "products": products,
                       "origins": counties_of_city[place.code] if city_level else [place.code],
                       "search_text": search_text(name, aliases, area)})
    rng.shuffle(brands)  # brand i has weight rank i (0 = the biggest); ids follow the shuffled order
    for i, b in enumerate(brands):
        b["id"] = i + 1
        b["owner_id"] = i + 1
    timings["brands_prepared"] = time.perf_counter() - start

    # Organizations: brand owners 1..B, producers B+1..B+P, inspection bodies after them.
    orgs = []
    for b in brands:
        region = b["area"][0]
        orgs.append({"id": b["owner_id"], "name": f"{regions.full_name(region)}{b['products'][0]}产业协会",
                     "kind": "brand_owner", "uscc": compose("51" + region, f"B{b['id']:07d}"), "region": region,
                     "address": f"{regions.full_name(region)}人民路{rng.randint(1, 300)}号", "contact": "",
                     "demo": False, "ledger_seq": next(seq)})
    producer_ids, producer_region = [], {}
    for i in range(args.producers):
        b = rng.choice(brands)
        region = rng.choice(b["origins"])
        kind, suffix, prefix = rng.choices(PRODUCER_KINDS, (35, 30, 25, 10))[0]
        county = short_name(regions.get(region).name)
        if kind == "individual":
            name = rng.choice(SURNAMES) + rng.choice(WORDS)[0] + rng.choice("明华军平芳英强伟")
        else:
            name = county + rng.choice(WORDS) + (b["products"][0] if kind == "cooperative" else "") + suffix
        org_id = len(brands) + i + 1
        orgs.append({"id": org_id, "name": name, "kind": kind,
                     "uscc": compose(prefix + region, f"P{i:07d}") if prefix else None, "region": region,
                     "address": f"{regions.full_name(region)}{rng.choice(WORDS)}村", "contact": "",
                     "demo": False, "ledger_seq": next(seq)})
        producer_ids.append(org_id)
        producer_region[org_id] = region
    body_ids = []
    for i in range(INSPECTION_BODIES):
        region = rng.choice(brands)["area"][0]
        province = regions.ancestors(region)[0] if regions.ancestors(region) else regions.get(region)
        org_id = len(brands) + args.producers + i + 1
        orgs.append({"id": org_id, "name": f"{province.name}农产品质量安全检测中心（{i + 1}）",
                     "kind": "inspection_body", "uscc": compose("12" + province.code, f"J{i:07d}"),
                     "region": province.code, "address": "", "contact": "", "demo": False, "ledger_seq": next(seq)})
        body_ids.append(org_id)

    # Licences: counts by brand weight, distinct licensees per brand; some expired, some revoked.
    per_brand = shares(args.licences, [1 / (rank + SKEW) for rank in range(len(brands))])
    licences = []
    for b, n in zip(brands, per_brand, strict=True):
        for licensee in rng.sample(producer_ids, min(n, len(producer_ids))):
            unit, kg = rng.choices(UNITS, (80, 10, 10))[0]
            r = rng.random()
            valid_from = date(year - rng.randint(1, 3), rng.choice((1, 3, 7)), 1)
            valid_to = date(year + rng.randint(0, 2), 12, 31) if r >= 0.08 else date(year - 1, 12, 31)
            revoked = date(year, rng.randint(1, max(1, today.month)), 1) if 0.08 <= r < 0.12 else None
            licences.append({"id": len(licences) + 1, "brand_id": b["id"], "licensee_id": licensee,
                             "products": b["products"], "valid_from": valid_from, "valid_to": valid_to,
                             "quantity": None, "unit": unit, "kg": kg,
                             "bases": [f"{short_name(regions.get(producer_region[licensee]).name)}"
                                       f"{rng.choice(WORDS)}基地"],
                             "granted_by": f"owner{b['owner_id']}", "ledger_seq": next(seq),
                             "revoked_on": revoked, "revoke_reason": "抽检不合格，停止使用品牌" if revoked else None,
                             "revoke_seq": next(seq) if revoked else None})
    timings["organizations_licences_prepared"] = time.perf_counter() - start - sum(timings.values())

    engine = build_engine(url)
    t_org, t_brand, t_lic, t_batch, t_insp = (m.__table__ for m in (Organization, Brand, License, Batch, Inspection))
    chunk = args.chunk
    first_day = date(year - 2, 1, 1)
    span = (today - first_day).days + 1
    used_kg: dict[int, Decimal] = defaultdict(Decimal)  # this year's quantity per licence, in kg
    brand_of = {b["id"]: b for b in brands}
    inspections = 0
    try:
        with engine.begin() as conn:
            t0 = time.perf_counter()
            conn.execute(insert(t_org), orgs)
            conn.execute(insert(t_brand), [
                {k: b[k] for k in ("id", "slug", "name", "aliases", "category", "level", "owner_id", "area",
                                   "products", "search_text")}
                | {"parent_id": None, "gi_number": f"AGI{rng.randint(0, 99999):05d}" if rng.random() < 0.4 else None,
                   "standard": None, "retired_on": None, "ledger_seq": next(seq),
                   "description": f"{regions.full_name(b['area'][0])}出产的{'、'.join(b['products'])}，"
                                  f"按品牌标准生产、检测和包装，经品牌主体许可使用“{b['name']}”品牌。"}
                for b in brands])
            timings["insert_organizations_brands"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            batch_rows, insp_rows = [], []
            units_kg = dict(UNITS)
            for n in range(1, args.batches + 1):
                lic = None if rng.random() < UNBRANDED else licences[rng.randrange(len(licences))]
                harvest = first_day + timedelta(days=rng.randrange(span))
                if lic is None:
                    org = rng.choice(producer_ids)
                    b = None
                    category = rng.choices(categories, cat_weights)[0]
                    product, unit, origin = rng.choice(PRODUCTS[category]), "kg", producer_region[org]
                else:
                    org, b = lic["licensee_id"], brand_of[lic["brand_id"]]
                    category, product, unit = b["category"], rng.choice(b["products"]), lic["unit"]
                    origin = rng.choice(b["origins"])
                quantity = Decimal(rng.randint(50, 5000)) if unit != "t" else Decimal(rng.randint(1, 50)) / 10
                if lic is not None and harvest.year == year:
                    used_kg[lic["id"]] += quantity * units_kg[unit]
                batch_rows.append({"id": n, "code": code_of(n), "organization_id": org, "product": product,
                                   "category": category, "brand": b["slug"] if b else None, "quantity": quantity,
                                   "unit": unit, "harvest_date": harvest,
                                   "pack_date": harvest + timedelta(days=rng.randint(0, 3)), "origin_region": origin,
                                   "base": f"{rng.choice(WORDS)}基地", "gtin": None, "lot": None,
                                   "registered_by": f"producer{org}", "ledger_seq": next(seq)})
                if rng.random() < INSPECTED:
                    inspections += 1
                    verdict = "fail" if rng.random() < 0.03 else "pass"
                    insp_rows.append({"id": inspections, "batch_id": n,
                                      "inspected_on": harvest + timedelta(days=rng.randint(1, 5)),
                                      "body_id": rng.choice(body_ids), "report_no": f"JC{year}{inspections:08d}",
                                      "items": [{"item": "毒死蜱", "value": "0.01" if verdict == "pass" else "0.3",
                                                 "limit": "0.1", "unit": "mg/kg"}],
                                      "verdict": verdict, "recorded_by": "lab", "ledger_seq": next(seq)})
                if len(batch_rows) >= chunk:
                    conn.execute(insert(t_batch), batch_rows)
                    batch_rows = []
                    if n % (5 * chunk) < chunk:
                        log(f"  batches: {n:,} of {args.batches:,} ({time.perf_counter() - t0:.0f} s)")
            if batch_rows:
                conn.execute(insert(t_batch), batch_rows)
            timings["insert_batches"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            for i in range(0, len(insp_rows), chunk):
                conn.execute(insert(t_insp), insp_rows[i:i + chunk])
            for lic in licences:  # a cap above this year's use (x1.1-2.5), in the licence's unit
                used = used_kg[lic["id"]] / lic["kg"]
                cap = (used * Decimal(rng.uniform(1.1, 2.5)) / 1000).to_integral() * 1000
                lic["quantity"] = max(Decimal(1000), cap)
            keys = [c.name for c in t_lic.columns]
            for i in range(0, len(licences), chunk):
                conn.execute(insert(t_lic), [{k: lic[k] for k in keys} for lic in licences[i:i + chunk]])
            if engine.dialect.name == "postgresql":  # keep the id sequences ahead of the rows inserted with ids
                for table in ("organizations", "brands", "licenses", "batches", "inspections"):
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                      f"(SELECT max(id) FROM {table}))"))
            timings["insert_inspections_licences"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
        timings["analyze"] = time.perf_counter() - t0
    finally:
        engine.dispose()

    seconds = time.perf_counter() - start
    target = brands[0]
    query, query_matches = choose_query(brands, args.query)
    return {"seconds": round(seconds, 1), "steps": {k: round(v, 1) for k, v in timings.items()},
            "organizations": len(orgs), "brands": len(brands), "licences": len(licences), "batches": args.batches,
            "inspections": inspections, "page_slug": target["slug"], "page_name": target["name"],
            "page_licences": per_brand[0],
            "query": query, "query_matches": query_matches}


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


# --- databases -----------------------------------------------------------------------------


def database_size(url: str) -> int:
    if url.startswith("sqlite"):
        path = Path(make_url(url).database)
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    finally:
        engine.dispose()


# --- the app -------------------------------------------------------------------------------


def app_env(url: str, instance: Path) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "TRACEAPP_INSTANCE_PATH": str(instance),
           "TRACEAPP_PUBLIC_URL": PUBLIC_URL, "TRACEAPP_LEDGER_ORIGIN": ORIGIN}
    for key in ("SECRET_KEY", "TRACEAPP_ENV", "BENCH_BARE_BYTES"):
        env.pop(key, None)
    return env


def migrate(env: dict) -> None:
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "traceapp", "db", "upgrade"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"flask db upgrade failed ({out.returncode}):\n{out.stdout}{out.stderr}")


def profile(url: str, instance: Path, paths: dict[str, str], repeat: int) -> dict:
    """Render each path ``repeat`` times in-process with every SQL statement timed; return per path the
    size, status, statements, SQL and total milliseconds (medians) and the costliest statements of the last run."""
    from traceapp import create_app

    app = create_app({"DATABASE_URL": url, "TRACEAPP_INSTANCE_PATH": str(instance), "TRACEAPP_PUBLIC_URL": PUBLIC_URL,
                      "TRACEAPP_LEDGER_ORIGIN": ORIGIN, "PAGE_CACHE": False})
    engine = app.extensions["traceapp.db"].engine
    statements: list[tuple[str, float]] = []
    started: list[float] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _before(*_args):
        started.append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(_conn, _cursor, statement, *_args):
        statements.append((" ".join(statement.split()), time.perf_counter() - started.pop()))

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
                "top": [{"sql": s[:160], "calls": len(t), "ms": round(1000 * sum(t), 1)} for s, t in top],
                "body": response.get_data(as_text=True)}
    finally:
        engine.dispose()
    return result


class Server(Gunicorn):
    """gunicorn serving the bench app (brands_app: the app plus the bare baseline page)."""

    def __init__(self, env: dict, workers: int, log_path: Path):
        super().__init__(APP, ROOT, env, workers, log_path, probe="/bench/bare")

    def settle(self, timeout: float = 120) -> float:
        """Wait until the workers have worked off what a finished wrk run left queued (the connections wrk
        closed still hold requests that gunicorn answers): until two probes in a row answer within 100 ms.
        Return the seconds it took."""
        start = time.monotonic()
        quick = 0
        while quick < 2 and time.monotonic() - start < timeout:
            t0 = time.monotonic()
            self.get("/bench/bare")
            quick = quick + 1 if time.monotonic() - t0 < 0.1 else 0
        return time.monotonic() - start


# --- wrk -----------------------------------------------------------------------------------


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
    """Pull requests/s, the latency percentiles, the request count and the errors out of ``wrk --latency``."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if rps is None:
        raise SystemExit(f"could not read wrk's output:\n{output}")
    pct = {f"p{int(p)}_ms": duration_ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.M)}
    total = re.search(r"^\s+(\d+) requests in", output, re.M)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = dict(zip(("connect", "read", "write", "timeout"), map(int, socket_errors.groups()), strict=True)) \
        if socket_errors else {}
    return {"req_per_s": float(rps.group(1)), **pct, "requests": int(total.group(1)) if total else 0,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors}


def run_wrk(wrk: str, url: str, args: argparse.Namespace, seconds: int) -> dict:
    cmd = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--timeout", "30s", "--latency", url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}{out.stderr}")
    return parse_wrk(out.stdout)


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

    log(f"[{name}] profile an uncached render of each page in-process")
    prof = profile(url, instance, {k: v for k, v in paths.items() if k != "bare"}, args.profile_repeat)
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
            run_wrk(wrk, server.url(paths[what]), args, args.warmup)
            server.settle()
        for i in range(args.rounds):
            for what in KINDS:
                r = run_wrk(wrk, server.url(paths[what]), args, args.duration)
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
        result[what] = {"path": paths[what], "bytes": bare_bytes if what == "bare" else prof[what]["bytes"],
                        "req_per_s": round(statistics.median(r["req_per_s"] for r in rs), 1),
                        "p50_ms": round(statistics.median(r["p50_ms"] for r in rs), 2),
                        "p99_ms": round(statistics.median(r["p99_ms"] for r in rs), 2),
                        "rounds": [{k: r[k] for k in ("req_per_s", "p50_ms", "p99_ms", "requests", "non_2xx",
                                                      "settle_s")}
                                   | ({"socket_errors": r["socket_errors"]} if any(r["socket_errors"].values())
                                      else {}) for r in rs]}
    for what in ("search", "page"):
        r = result[what]
        r["ratio"] = round(r["req_per_s"] / result["bare"]["req_per_s"], 3)
        r["ratio_per_round"] = [round(x["req_per_s"] / b["req_per_s"], 3)
                                for b, x in zip(rounds["bare"], rounds[what], strict=True)]
        r["met"] = r["ratio"] >= TARGET_RATIO and r["p99_ms"] <= TARGET_P99_MS
    result["bare"]["met"] = result["bare"]["p99_ms"] <= TARGET_P99_MS
    result["errors"] = {"non_2xx": sum(r["non_2xx"] for rs in rounds.values() for r in rs),
                        "socket_errors": sum(sum(r["socket_errors"].values()) for rs in rounds.values() for r in rs),
                        "tracebacks": gunicorn_log.count("Traceback"),
                        "worker_timeouts": gunicorn_log.count("WORKER TIMEOUT")}
    return result


# --- report --------------------------------------------------------------------------------


def table(results: dict) -> str:
    head = (f"{'engine':<11}{'what':<7}{'url':<32}{'bytes':>7}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
            f"{'vs bare':>9}{'targets':>20}{'met':>5}")
    lines = [head]
    targets = f">={TARGET_RATIO}, p99<={TARGET_P99_MS:g}ms"
    for name, r in results.items():
        for what in KINDS:
            x = r[what]
            url = x["path"] if len(x["path"]) <= 30 else x["path"][:29] + "…"
            ratio = f"{x['ratio']:.3f}" if "ratio" in x else ""
            target = targets if what != "bare" else f"p99<={TARGET_P99_MS:g}ms"
            lines.append(f"{name if what == 'bare' else '':<11}{what:<7}{url:<32}{x['bytes']:>7}"
                         f"{x['req_per_s']:>9.1f}{x['p50_ms']:>9.1f}{x['p99_ms']:>9.1f}{ratio:>9}{target:>20}"
                         f"{yes(x['met']):>5}")
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
    args = parser.parse_args(argv)
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

"""The registry the read benchmarks run on (``bench/brands.py``, ``bench/public.py``), bulk-inserted
straight into the projection tables of a migrated, empty database with SQLAlchemy Core
(``executemany`` in chunks, one transaction).

``build(url, args, mix)`` makes: 1,000 brand owners, ``args.producers`` producers (cooperatives,
companies, family farms, individuals) and a few inspection bodies; ``args.brands`` brands named after
real county-level divisions and a product (``search_text`` from ``traceapp.brands.search``);
``args.licences`` licences and ``args.batches`` batches (13-character codes, harvests over the last
three years, 10 % without a brand) spread over brands by a skewed weight 1/(rank + 20), so the
biggest brand holds ~1.3 % of licences and batches and the smallest a few. ``Mix`` says which
share of batches also have an inspection (with 3-6 measured items), a 承诺达标合格证, or inputs
(pooled from 2-5 earlier batches of the same producer and product, themselves possibly pooled),
and which share of producers hold a "三品一标" certificate. Then ``ANALYZE`` (PostgreSQL:
``VACUUM ANALYZE`` and a ``CHECKPOINT``), as a live database would have statistics and a settled
disk.

The rows are inserted behind the ledger: there are no ledger entries for them (their
``ledger_seq`` values are made up), so ``flask --app traceapp ledger verify`` would report them.
That does not matter for a read benchmark; the database is thrown away.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from benchlib import log  # bench/ is the script's folder
from sqlalchemy import create_engine, event, insert, text

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make ``traceapp`` importable from the checkout
    sys.path.insert(0, str(ROOT))

from traceapp.brands.models import Brand, License  # noqa: E402
from traceapp.brands.search import search_text, slug_for, syllables  # noqa: E402
from traceapp.records import regions  # noqa: E402
from traceapp.records.codes import ALPHABET, CODE_LENGTH  # noqa: E402
from traceapp.records.models import (  # noqa: E402
    Batch,
    BatchInput,
    Certification,
    ComplianceCertificate,
    Inspection,
    Organization,
)
from traceapp.records.uscc import compose  # noqa: E402

SKEW = 20  # brand weight 1 / (rank + SKEW)
UNBRANDED = 0.10  # share of batches without a brand
INSPECTION_BODIES = 20
COMPLIANCE_CODES = 29**12  # 合格证 codes are code_of(COMPLIANCE_CODES + n): never a batch's code

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
# (name, method, limit in mg/kg): pesticide residues as GB 2763 lists them
RESIDUES = (("毒死蜱", "GB 23200.113-2018", "0.02"), ("氧乐果", "GB 23200.113-2018", "0.02"),
            ("克百威", "GB 23200.112-2018", "0.02"), ("甲胺磷", "GB 23200.113-2018", "0.05"),
            ("多菌灵", "GB/T 20769-2008", "0.5"), ("吡虫啉", "GB/T 20769-2008", "0.5"),
            ("阿维菌素", "GB 23200.20-2016", "0.01"), ("氯氰菊酯", "GB 23200.113-2018", "1"),
            ("铅（以Pb计）", "GB 5009.12-2017", "0.1"), ("镉（以Cd计）", "GB 5009.15-2023", "0.05"))
CERTIFIERS = {"pollution_free": "农业农村部农产品质量安全中心", "green_food": "中国绿色食品发展中心",
              "organic": "中绿华夏有机产品认证中心", "geographical_indication": "农业农村部农产品质量安全中心"}


@dataclass(frozen=True)
class Mix:
    """Shares of batches with an inspection, a 合格证 and inputs (pooled), and of producers with a certificate."""

    inspected: float = 0.02
    compliance: float = 0.0
    pooled: float = 0.0
    certified_producers: float = 0.0


@dataclass
class Registry:
    """What ``build`` made: ``summary`` (counts and timings, for the report), the brand dicts (biggest
    first, each with its licence count) and the ids of batches with inspections, 合格证 or inputs."""

    summary: dict
    brands: list[dict]
    inspected: set[int] = field(default_factory=set)
    compliance: set[int] = field(default_factory=set)
    pooled: set[int] = field(default_factory=set)


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


def inspection_items(rng: random.Random, verdict: str) -> list[dict]:
    """Return 3-6 measured residues; one over its limit when the verdict is a fail."""
    items = []
    for k, (name, method, limit) in enumerate(rng.sample(RESIDUES, rng.randint(3, 6))):
        failed = verdict == "fail" and k == 0
        value = Decimal(limit) * (Decimal(rng.randint(12, 40)) / 10 if failed else Decimal(rng.randint(0, 60)) / 100)
        items.append({"name": name, "method": method, "value": "未检出" if value == 0 else f"{value.normalize():f}",
                      "limit": limit, "unit": "mg/kg", "verdict": "fail" if failed else "pass"})
    return items


def build(url: str, args: argparse.Namespace, mix: Mix = Mix()) -> Registry:  # noqa: B008 - a frozen dataclass
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
        b["licences"] = n
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
    certifications = certificates(rng, mix, licences, brands, seq, year) if mix.certified_producers else []
    timings["organizations_licences_prepared"] = time.perf_counter() - start - sum(timings.values())

    engine = build_engine(url)
    t_org, t_brand, t_lic, t_batch, t_insp, t_input, t_cert, t_cc = (
        m.__table__ for m in (Organization, Brand, License, Batch, Inspection, BatchInput, Certification,
                              ComplianceCertificate))
    chunk = args.chunk
    first_day = date(year - 2, 1, 1)
    span = (today - first_day).days + 1
    used_kg: dict[int, Decimal] = defaultdict(Decimal)  # this year's quantity per licence, in kg
    brand_of = {b["id"]: b for b in brands}
    registry = Registry({}, brands)
    # the latest batches of each producer and product: (id, quantity), what a pooled batch draws on
    recent: dict[tuple[int, str], deque] = defaultdict(lambda: deque(maxlen=20))
    counts = {"inspections": 0, "compliance_certificates": 0, "batch_inputs": 0}
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
            if certifications:
                conn.execute(insert(t_cert), certifications)
            timings["insert_organizations_brands"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            rows: dict[str, list[dict]] = {"batches": [], "inspections": [], "inputs": [], "compliance": []}
            units_kg = dict(UNITS)

            def flush_rows() -> None:
                # batches first: the other rows point at them
                for key, table in (("batches", t_batch), ("inspections", t_insp), ("inputs", t_input),
                                   ("compliance", t_cc)):
                    if rows[key]:
                        conn.execute(insert(table), rows[key])
                        rows[key] = []

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
                earlier = recent[(org, product)]
                if mix.pooled and len(earlier) >= 2 and rng.random() < mix.pooled:
                    quantity = Decimal(0)
                    for source, source_quantity in rng.sample(list(earlier), min(len(earlier), rng.randint(2, 5))):
                        taken = (source_quantity * Decimal(rng.randint(20, 100)) / 100).quantize(Decimal("0.1"))
                        quantity += taken
                        rows["inputs"].append({"batch_id": n, "input_id": source, "quantity": taken})
                        counts["batch_inputs"] += 1
                    registry.pooled.add(n)
                earlier.append((n, quantity))
                if lic is not None and harvest.year == year:
                    used_kg[lic["id"]] += quantity * units_kg[unit]
                pack_date = harvest + timedelta(days=rng.randint(0, 3))
                rows["batches"].append({"id": n, "code": code_of(n), "organization_id": org, "product": product,
                                        "category": category, "brand": b["slug"] if b else None,
                                        "quantity": quantity, "unit": unit, "harvest_date": harvest,
                                        "pack_date": pack_date, "origin_region": origin,
                                        "base": f"{rng.choice(WORDS)}基地", "gtin": None, "lot": None,
                                        "registered_by": f"producer{org}", "ledger_seq": next(seq)})
                inspection_id = None
                if rng.random() < mix.inspected:
                    counts["inspections"] += 1
                    inspection_id = counts["inspections"]
                    verdict = "fail" if rng.random() < 0.03 else "pass"
                    rows["inspections"].append({"id": inspection_id, "batch_id": n,
                                                "inspected_on": harvest + timedelta(days=rng.randint(1, 5)),
                                                "body_id": rng.choice(body_ids),
                                                "report_no": f"JC{year}{inspection_id:08d}",
                                                "items": inspection_items(rng, verdict), "verdict": verdict,
                                                "recorded_by": "lab", "ledger_seq": next(seq)})
                    registry.inspected.add(n)
                    if verdict == "fail":
                        inspection_id = None  # no 合格证 rests on a failed inspection
                if mix.compliance and rng.random() < mix.compliance:
                    registry.compliance.add(n)
                    parts = 2 if rng.random() < 0.1 else 1
                    for part in range(parts):
                        counts["compliance_certificates"] += 1
                        k = counts["compliance_certificates"]
                        voided = rng.random() < 0.02
                        basis = rng.choice(("self_test", "commissioned_test")) if inspection_id else "quality_control"
                        rows["compliance"].append({
                            "id": k, "code": code_of(COMPLIANCE_CODES + k), "batch_id": n, "basis": basis,
                            "inspection_id": inspection_id if basis != "quality_control" else None,
                            "quantity": (quantity / parts).quantize(Decimal("0.001")),
                            "issued_on": pack_date + timedelta(days=part), "promiser": "producer",
                            "contact": f"13{rng.randint(100000000, 999999999)}", "issued_by": f"producer{org}",
                            "ledger_seq": next(seq), "voided_on": pack_date + timedelta(days=5) if voided else None,
                            "void_reason": "数量填写错误，已重新开具" if voided else None,
                            "void_seq": next(seq) if voided else None})
                if len(rows["batches"]) >= chunk:
                    flush_rows()
                    if n % (5 * chunk) < chunk:
                        log(f"  batches: {n:,} of {args.batches:,} ({time.perf_counter() - t0:.0f} s)")
            flush_rows()
            timings["insert_batches"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            for lic in licences:  # a cap above this year's use (x1.1-2.5), in the licence's unit
                used = used_kg[lic["id"]] / lic["kg"]
                cap = (used * Decimal(rng.uniform(1.1, 2.5)) / 1000).to_integral() * 1000
                lic["quantity"] = max(Decimal(1000), cap)
            keys = [c.name for c in t_lic.columns if c.name in licences[0]]
            for i in range(0, len(licences), chunk):
                conn.execute(insert(t_lic), [{k: lic[k] for k in keys} for lic in licences[i:i + chunk]])
            if engine.dialect.name == "postgresql":  # keep the id sequences ahead of the rows inserted with ids
                for table in ("organizations", "brands", "licenses", "batches", "inspections", "certifications",
                              "compliance_certificates"):
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                      f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"))
            timings["insert_licences"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("VACUUM ANALYZE"))
                conn.execute(text("CHECKPOINT"))  # write the load out now, not during the measurements
            else:
                conn.execute(text("ANALYZE"))
        timings["analyze"] = time.perf_counter() - t0
    finally:
        engine.dispose()

    registry.summary = {"seconds": round(time.perf_counter() - start, 1),
                        "steps": {k: round(v, 1) for k, v in timings.items()},
                        "organizations": len(orgs), "brands": len(brands), "licences": len(licences),
                        "batches": args.batches, **counts, "certifications": len(certifications)}
    return registry


def certificates(rng: random.Random, mix: Mix, licences: list[dict], brands: list[dict], seq, year: int
                 ) -> list[dict]:
    """Return "三品一标" certificates for a share of the licensed producers, covering their brands' products
    over the harvest years; a few revoked."""
    products_of: dict[int, list[str]] = defaultdict(list)
    brand_of = {b["id"]: b for b in brands}
    for lic in licences:
        products_of[lic["licensee_id"]].extend(p for p in brand_of[lic["brand_id"]]["products"]
                                               if p not in products_of[lic["licensee_id"]])
    rows = []
    for holder in sorted(products_of):
        if rng.random() >= mix.certified_producers:
            continue
        kind = rng.choices(("pollution_free", "green_food", "organic", "geographical_indication"), (3, 4, 1, 2))[0]
        revoked = rng.random() < 0.03
        rows.append({"id": len(rows) + 1, "kind": kind, "number": f"{kind[:2].upper()}{year}{len(rows) + 1:07d}",
                     "holder_id": holder, "products": products_of[holder][:4],
                     "valid_from": date(year - 3, 1, 1), "valid_to": date(year + rng.randint(0, 2), 12, 31),
                     "issuer": CERTIFIERS[kind], "recorded_by": "certifier", "ledger_seq": next(seq),
                     "revoked_on": date(year, 1, 15) if revoked else None,
                     "revoke_reason": "年度监督抽检不合格" if revoked else None,
                     "revoke_seq": next(seq) if revoked else None})
    return rows

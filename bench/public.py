"""Consumer page benchmark: ``GET /t/<code>`` rendered on every request and ``POST /t/<code>/scans``
for random codes, a cached ``/qr/<code>.png``, and the pages through nginx's cache (deploy/nginx.conf)
with codes drawn from a Zipf distribution, each beside a bare Flask page of the consumer page's size
served the same way in the same run; plus a first-time QR render and a 100-label PDF, in-process.

    .venv/bin/python bench/public.py                                    # SQLite, 1,000,000 batches
    .venv/bin/python bench/public.py --batches 20000 --rounds 1         # a smaller run
    .venv/bin/python bench/public.py --quick                            # a smoke run (make test)
    .venv/bin/python bench/public.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Per engine (SQLite: a fresh file in a temporary folder; with ``--postgres``: also a fresh
database created on that URL's server and dropped at the end) it:

1. migrates and bulk-inserts the registry of ``bench/registry.py`` (1,000 brands, 20,000 licences,
   ``--batches`` batches, 90 % claiming a brand), with more of what a consumer page shows than the
   brand benchmark needs: ``--inspected`` of the batches have an inspection (3-6 measured items),
   ``--compliance`` a 承诺达标合格证, ``--pooled`` are pooled from 2-5 earlier batches of the same
   producer and product, and ``--certified`` of the licensed producers hold a "三品一标"
   certificate. The database's size is taken then (nothing is stored per page any more). It
   samples ``--codes`` codes of the batches into a file (their shares of inspected, 合格证 and
   pooled batches are printed) and records a label sheet for each of them (a scan counts only once
   its batch's labels were printed).

2. renders ``--profile-codes`` of the sampled pages in-process (Flask test client, page cache off,
   ``--profile-repeat`` times each) with every SQL statement timed: page size, statements, time in
   SQL and in all (medians over the pages), and the costliest statements summed over all of them.
   The median page size becomes the bare page's size (``BENCH_BARE_BYTES``).

3. times ``traceapp.public.qr.render(url, "png", "M", 10)`` cold (its cache cleared) for
   ``--qr-renders`` distinct consumer URLs: the first-time QR render, median and p99.

4. starts ``gunicorn --workers 2`` serving ``bench/public_app.py`` (the app behind a proxy, plus
   ``GET /bench/bare``, which says the consumer page's Cache-Control) and, in front of it, Debian's
   nginx with deploy/nginx.conf (rendered by deploy/nginx.py into the temporary folder, trusting the
   benchmark's X-Forwarded-For as a load balancer's); warms each URL up with ``--warmup`` s of wrk,
   then runs ``wrk -t2 -c32 -d10s --latency`` interleaved, ``--rounds`` times:

   - bare:       ``/bench/bare`` from gunicorn;
   - trace:      ``GET /t/<code>`` from gunicorn, a random sampled code per request and a random
                 client address in X-Forwarded-For (``bench/public.lua``): every page rendered;
   - scan:       ``POST /t/<code>/scans`` from gunicorn, likewise: a scan recorded per request;
   - qr:         ``/qr/<code>.png`` of one code from gunicorn, rendered once per worker, then kept;
   - edge bare:  ``/bench/bare`` through nginx: its cache's own speed;
   - edge trace: ``GET /t/<code>`` through nginx, the code of rank k among the sampled codes drawn
                 with weight 1/k^s (``--zipf-s``, 1.1; ``bench/public_zipf.lua``): the share of cache
                 hits is printed.

   The scans rows added during each run are counted: GETs must add none. Figures are medians over
   the rounds of wrk's Requests/sec and 99 % latency.

Targets (from the issues): trace >= 0.5 of the bare page with p99 <= 50 ms; scan >= 0.5 of the bare
page; edge trace >= 0.9 of edge bare; qr >= 0.8 with p99 <= 50 ms; a first-time QR render <= 10 ms
(median); a 100-label PDF <= 1 s (timed once, not per engine, with ``bench/labels.py``'s pieces).

wrk and nginx are Debian's packages (installed with apt-get when missing and we are root). wrk,
nginx, gunicorn and the database share the machine's CPUs. Prints a table, then one JSON object with
every figure as the last line.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from benchlib import (  # bench/ is the script's folder
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
    postgres_database,
    profile,
    run_wrk,
    sqlite_database,
    yes,
)
from registry import Mix, build, code_of
from sqlalchemy import create_engine, insert, inspect, text

if str(ROOT) not in sys.path:  # run as a script: make ``traceapp`` importable from the checkout
    sys.path.insert(0, str(ROOT))

APP = "bench.public_app:app"
SCRIPT = Path(__file__).with_name("public.lua")
ZIPF_SCRIPT = Path(__file__).with_name("public_zipf.lua")
NAME = "public"
KINDS = ("bare", "trace", "scan", "qr", "edge_bare", "edge_trace")
BASELINE = {"trace": "bare", "scan": "bare", "qr": "bare", "edge_trace": "edge_bare"}
TARGET_RATIO = {"trace": 0.5, "scan": 0.5, "qr": 0.8, "edge_trace": 0.9}
TARGET_P99 = ("bare", "trace", "qr")  # the runs with a p99 target
TARGET_P99_MS = 50.0
TARGET_QR_FIRST_MS = 10.0
TARGET_PDF_S = 1.0
# In-process, every request comes from one test client: lift the per-client scan rate limit there.
PROFILE_CONFIG = {"SCAN_RATE_LIMIT": 10**9}


class Server(Gunicorn):
    """gunicorn serving the bench app (public_app: the app behind a proxy plus the bare baseline page)."""

    def __init__(self, env: dict, workers: int, log_path: Path):
        super().__init__(APP, ROOT, env, workers, log_path, probe="/bench/bare")


def _deploy_nginx():
    """deploy/nginx.py, which renders and runs deploy/nginx.conf (not a package: loaded from its file)."""
    spec = importlib.util.spec_from_file_location("deploy_nginx", ROOT / "deploy" / "nginx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ensure_nginx() -> str:
    """Return the path of Debian's nginx, installing the package first if it is missing (as root)."""
    deploy = _deploy_nginx()
    found = deploy.nginx_binary()
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("nginx is missing: install it with `apt-get install -y nginx` (as root)")
    log("nginx is missing: apt-get install -y nginx")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
    out = subprocess.run(["apt-get", "install", "-y", "-qq", "nginx"], env=env, capture_output=True, text=True)
    if out.returncode != 0 or not deploy.nginx_binary():
        raise SystemExit(f"apt-get install -y nginx failed:\n{out.stdout}{out.stderr}")
    return deploy.nginx_binary()


class Nginx:
    """nginx with deploy/nginx.conf in front of ``upstream``, on a port chosen here, from ``prefix``; it trusts
    X-Forwarded-For from 127.0.0.1 (wrk's random client addresses), as it would a load balancer's."""

    def __init__(self, binary: str, upstream: Gunicorn, prefix: Path):
        deploy = _deploy_nginx()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        prefix.mkdir(parents=True, exist_ok=True)
        prefix.chmod(0o755)  # its workers run as www-data when we are root
        for parent in prefix.parents:  # ... and must reach the cache folder
            if parent == Path(tempfile.gettempdir()):
                break
            parent.chmod(parent.stat().st_mode | 0o055)
        deploy.render(prefix, f"127.0.0.1:{self.port}", f"{upstream.host}:{upstream.port}",
                      real_ip_from=("127.0.0.1",))
        self.prefix = prefix
        self._out = open(prefix / "logs" / "output.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(deploy.command(prefix, binary), stdout=self._out, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"nginx exited with {self.proc.returncode}:\n"
                                 f"{(self.prefix / 'logs' / 'output.log').read_text(errors='replace')}\n"
                                 f"{(self.prefix / 'logs' / 'error.log').read_text(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self._out.close()


# --- the codes -----------------------------------------------------------------------------


def sample_codes(registry, args: argparse.Namespace) -> tuple[list[int], dict]:
    """Return the ids of ``--codes`` random batches and the shares of them with an inspection, 合格证, inputs."""
    rng = random.Random(args.seed + 1)
    ids = rng.sample(range(1, args.batches + 1), min(args.codes, args.batches))
    shares = {what: round(sum(i in found for i in ids) / len(ids), 3)
              for what, found in (("inspected", registry.inspected), ("compliance", registry.compliance),
                                  ("pooled", registry.pooled))}
    return ids, shares


def profiled_ids(ids: list[int], pooled: set[int], n: int) -> list[int]:
    """Return the first ``n`` sampled ids, with at least a fifth of them pooled when the sample has that many."""
    chosen = ids[:n]
    want = max(1, n // 5)
    have = sum(i in pooled for i in chosen)
    extra = [i for i in ids[n:] if i in pooled][:max(0, want - have)]
    plain = [k for k, i in enumerate(chosen) if i not in pooled]
    for k, i in zip(reversed(plain), extra, strict=False):
        chosen[k] = i
    return chosen


# --- measurements --------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def profile_pages(url: str, instance: Path, ids: list[int], pooled: set[int], args: argparse.Namespace) -> dict:
    """Profile the consumer pages of ``ids`` and the QR image of the first; return the summary figures."""
    paths = {code_of(i): f"/t/{code_of(i)}" for i in ids}
    paths["qr"] = f"/qr/{code_of(ids[0])}.png"
    prof = profile(url, instance, paths, args.profile_repeat, PROFILE_CONFIG, keep_statements=True)
    pages = []
    for i in ids:
        code = code_of(i)
        p = prof[code]
        body = p.pop("body")
        if p["status"] != 200 or code not in body:
            raise SystemExit(f"/t/{code} answered {p['status']}:\n{body[:2000]}")
        p["pooled"] = i in pooled
        pages.append(p)
    qr = prof["qr"]
    qr.pop("body")
    qr.pop("log")
    if qr["status"] != 200:
        raise SystemExit(f"{qr['path']} answered {qr['status']}")

    by_text: dict[str, list[float]] = defaultdict(list)
    for p in pages:
        for statement, seconds in p.pop("log"):
            by_text[statement].append(seconds)
    top = sorted(by_text.items(), key=lambda kv: sum(kv[1]), reverse=True)[:6]

    def summary(group: list[dict]) -> dict:
        if not group:
            return {}
        return {"pages": len(group), "bytes": int(statistics.median(p["bytes"] for p in group)),
                "statements": statistics.median(p["statements"] for p in group),
                "statements_max": max(p["statements"] for p in group),
                "sql_ms": round(statistics.median(p["sql_ms"] for p in group), 1),
                "total_ms": round(statistics.median(p["total_ms"] for p in group), 1),
                "total_ms_max": max(p["total_ms"] for p in group),
                "first_total_ms": round(statistics.median(p["first_total_ms"] for p in group), 1),
                "first_statements": statistics.median(p["first_statements"] for p in group)}

    return {"all": summary(pages), "plain": summary([p for p in pages if not p["pooled"]]),
            "pooled": summary([p for p in pages if p["pooled"]]), "repeat": args.profile_repeat,
            "top": [{"sql": s[:160], "calls": len(t), "ms": round(1000 * sum(t), 1),
                     "calls_per_page": round(len(t) / len(pages), 2)} for s, t in top],
            "qr": {k: qr[k] for k in ("path", "bytes", "statements", "sql_ms", "total_ms", "first_total_ms")},
            "pages": [{k: p[k] for k in ("path", "bytes", "statements", "sql_ms", "total_ms", "pooled")}
                      for p in pages]}


def first_qr_renders(ids: list[int], n: int) -> dict:
    """Time ``qr.render`` of ``n`` distinct consumer URLs, its cache cleared first: a first-time render each."""
    from traceapp.public import qr

    qr.render.cache_clear()
    qr.render(f"{PUBLIC_URL}/t/{code_of(0)}", "png", "M", 10)  # import-time work (qrcode, png) off the clock
    times = []
    for i in ids[:n]:
        url = f"{PUBLIC_URL}/t/{code_of(i)}"
        t0 = time.perf_counter()
        qr.render(url, "png", "M", 10)
        times.append(1000 * (time.perf_counter() - t0))
    qr.render.cache_clear()
    median = statistics.median(times)
    return {"renders": len(times), "median_ms": round(median, 2), "p99_ms": round(percentile(times, 99), 2),
            "max_ms": round(max(times), 2), "met": median <= TARGET_QR_FIRST_MS}


def label_pdf(runs: int) -> dict:
    """Time a 100-label PDF on each layout with bench/labels.py's pieces (a new code each run); the figure is
    the slowest layout's median. Missing (with the reason) when bench/labels.py is not there."""
    try:
        import labels
    except ImportError as exc:
        return {"missing": f"bench/labels.py cannot be imported: {exc}"}
    if not all(hasattr(labels, k) for k in ("content", "render_pdf", "LAYOUTS")):
        return {"missing": "bench/labels.py no longer has content, render_pdf and LAYOUTS"}
    layouts = {}
    serial = 10**6
    for name, layout in labels.LAYOUTS.items():
        times = []
        for _ in range(runs):
            serial += 1
            t0 = time.perf_counter()
            labels.render_pdf(labels.content(serial), layout, 100)
            times.append(time.perf_counter() - t0)
        layouts[name] = round(statistics.median(times), 3)
    worst = max(layouts.values())
    return {"labels": 100, "runs": runs, "median_s_by_layout": layouts, "seconds": worst,
            "met": worst <= TARGET_PDF_S}


def print_labels(url: str, ids: list[int]) -> None:
    """Record a label sheet for each of ``ids``, as a registry has for the batches on sale: a scan counts
    only once its batch's labels were printed (``scan_rules``), so without these POSTs would write nothing.
    Made-up ledger_seq values, as the rest of the registry's rows have."""
    from traceapp.records.models import LabelPrint

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(LabelPrint), [{"batch_id": i, "labels": 24, "package_quantity": 5, "layout": "a4-24",
                                               "printed_by": "bench", "ledger_seq": 10**9 + i} for i in ids])
    finally:
        engine.dispose()


def scan_rows(url: str) -> dict:
    """Return the rows in ``scans`` and ``first_scans`` (None for a table the schema does not have)."""
    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() if t in tables else None
                    for t in ("scans", "first_scans")}
    finally:
        engine.dispose()


# --- one engine ----------------------------------------------------------------------------


def run_engine(name: str, url: str, instance: Path, wrk: str, nginx: str, args: argparse.Namespace) -> dict:
    env = app_env(url, instance)
    log(f"[{name}] migrate")
    migrate(env)
    mix = Mix(inspected=args.inspected, compliance=args.compliance, pooled=args.pooled,
              certified_producers=args.certified)
    log(f"[{name}] build: {args.brands:,} brands, {args.licences:,} licences, {args.batches:,} batches, {mix}")
    registry = build(url, args, mix)
    built = {**registry.summary, "database_bytes": database_size(url)}
    ids, sample_shares = sample_codes(registry, args)
    codes_file = instance.parent / "codes.txt"
    codes_file.write_text("".join(code_of(i) + "\n" for i in ids))
    print_labels(url, ids)  # after the size is taken: the registry it compares with had none either
    built["codes"] = len(ids)
    built["codes_shares"] = sample_shares
    log(f"[{name}] built in {built['seconds']} s {built['steps']}; {built['database_bytes'] / 2**20:.0f} MiB; "
        f"{built['inspections']:,} inspections, {built['compliance_certificates']:,} 合格证, "
        f"{built['batch_inputs']:,} inputs, {built['certifications']:,} certificates; "
        f"{len(ids):,} codes sampled, shares {sample_shares}")

    log(f"[{name}] profile {args.profile_codes} consumer pages in-process ({args.profile_repeat} renders each)")
    prof = profile_pages(url, instance, profiled_ids(ids, registry.pooled, args.profile_codes), registry.pooled,
                         args)
    for what in ("all", "plain", "pooled"):
        p = prof[what]
        if p:
            log(f"[{name}]   {what:<6} {p['pages']:>3} pages  {p['bytes']:>6} bytes  {p['statements']:>4} statements  "
                f"SQL {p['sql_ms']:6.1f} ms  total {p['total_ms']:6.1f} ms (max {p['total_ms_max']:.1f}; "
                f"first render {p['first_total_ms']:.1f} ms, {p['first_statements']} statements)")
    for t in prof["top"][:4]:
        log(f"[{name}]          {t['calls_per_page']:>5}/page {t['ms']:8.1f} ms  {t['sql'][:100]}")
    q = prof["qr"]
    log(f"[{name}]   qr     {q['bytes']} bytes  {q['statements']} statements  total {q['total_ms']} ms")

    log(f"[{name}] first-time QR renders in-process")
    qr_first = first_qr_renders(ids, args.qr_renders)
    log(f"[{name}]   {qr_first['renders']} renders: median {qr_first['median_ms']} ms, p99 {qr_first['p99_ms']} ms")

    paths = {"bare": "/bench/bare", "trace": "/t/<random code>", "scan": "/t/<random code>/scans",
             "qr": prof["qr"]["path"], "edge_bare": "/bench/bare", "edge_trace": f"/t/<zipf s={args.zipf_s} code>"}
    env["BENCH_BARE_BYTES"] = str(prof["all"]["bytes"])
    scans_before = scan_rows(url)
    server = Server(env, args.workers, instance.parent / f"gunicorn-{name}.log")
    edge = Nginx(nginx, server, instance.parent / f"nginx-{name}")
    rounds: dict[str, list[dict]] = {k: [] for k in KINDS}
    added: dict[str, int] = {k: 0 for k in KINDS}  # scans rows added during each kind's runs
    requests: dict[str, int] = {k: 0 for k in KINDS}

    def measure(what: str, seconds: int) -> dict:
        before = scan_rows(url)["scans"]
        if what in ("trace", "scan"):
            r = run_wrk(wrk, server.url("/"), args, seconds, SCRIPT, (str(codes_file), "get" if what == "trace"
                                                                      else "post"))
        elif what == "edge_trace":
            r = run_wrk(wrk, edge.url("/"), args, seconds, ZIPF_SCRIPT, (str(codes_file), str(args.zipf_s)))
        elif what == "edge_bare":
            r = run_wrk(wrk, edge.url(paths[what]), args, seconds)
        else:
            r = run_wrk(wrk, server.url(paths[what]), args, seconds)
        r["settle_s"] = round(server.settle(), 2)
        r["scans_added"] = scan_rows(url)["scans"] - before
        added[what] += r["scans_added"]
        requests[what] += r["requests"]
        return r

    try:
        server.wait()
        edge.wait()
        status, body = server.get(paths["bare"])
        bare_bytes = len(body)
        if status != 200:
            raise SystemExit(f"/bench/bare answered {status}")
        log(f"[{name}] warm-up ({args.warmup} s of wrk per URL)")
        for what in KINDS:
            measure(what, args.warmup)
        for i in range(args.rounds):
            for what in KINDS:
                r = measure(what, args.duration)
                rounds[what].append(r)
                problems = (f"  non-2xx {r['non_2xx']}" if r["non_2xx"] else "") + \
                    (f"  socket errors {r['socket_errors']}" if any(r["socket_errors"].values()) else "")
                cache = f"  cache {r['cache_status']}" if "cache_status" in r else ""
                log(f"[{name}] round {i + 1}/{args.rounds} {what:<10} {r['req_per_s']:8.1f} req/s  "
                    f"p50 {r.get('p50_ms', 0):7.1f} ms  p99 {r.get('p99_ms', 0):7.1f} ms  "
                    f"+{r['scans_added']} scans{cache}{problems}")
    finally:
        edge.stop()
        server.stop()
    gunicorn_log = server.log_text()
    if "Traceback" in gunicorn_log or "WORKER TIMEOUT" in gunicorn_log:
        log(f"[{name}] the gunicorn log shows errors; its end:\n{gunicorn_log[-4000:]}")
    scans_after = scan_rows(url)
    scans = {"requests": requests, "rows_added": added, "before": scans_before, "after": scans_after}
    log(f"[{name}] scans: {scans}")

    result: dict = {"build": built, "profile": prof, "qr_first": qr_first, "scans": scans}
    for what in KINDS:
        rs = rounds[what]
        result[what] = {"path": paths[what],
                        "bytes": {"bare": bare_bytes, "trace": prof["all"]["bytes"], "scan": None,
                                  "qr": prof["qr"]["bytes"], "edge_bare": bare_bytes,
                                  "edge_trace": prof["all"]["bytes"]}[what],
                        "req_per_s": round(statistics.median(r["req_per_s"] for r in rs), 1),
                        "p50_ms": round(statistics.median(r["p50_ms"] for r in rs), 2),
                        "p99_ms": round(statistics.median(r["p99_ms"] for r in rs), 2),
                        "rounds": [{k: r[k] for k in ("req_per_s", "p50_ms", "p99_ms", "requests", "non_2xx",
                                                      "settle_s", "scans_added", "cache_status") if k in r}
                                   | ({"socket_errors": r["socket_errors"]} if any(r["socket_errors"].values())
                                      else {}) for r in rs]}
    for what, baseline in BASELINE.items():
        r = result[what]
        r["ratio"] = round(r["req_per_s"] / result[baseline]["req_per_s"], 3)
        r["ratio_per_round"] = [round(x["req_per_s"] / b["req_per_s"], 3)
                                for b, x in zip(rounds[baseline], rounds[what], strict=True)]
        r["met"] = r["ratio"] >= TARGET_RATIO[what] and (what not in TARGET_P99 or r["p99_ms"] <= TARGET_P99_MS)
    result["bare"]["met"] = result["bare"]["p99_ms"] <= TARGET_P99_MS
    result["edge_bare"]["met"] = True
    statuses: dict[str, int] = defaultdict(int)
    for r in rounds["edge_trace"]:
        for key, n in r.get("cache_status", {}).items():
            statuses[key] += n
    result["edge_trace"]["cache_status"] = dict(statuses)
    result["edge_trace"]["hit_share"] = round(statuses.get("HIT", 0) / max(1, sum(statuses.values())), 3)
    result["gets_wrote"] = added["trace"] + added["edge_trace"]
    result["errors"] = {"non_2xx": sum(r["non_2xx"] for rs in rounds.values() for r in rs),
                        "socket_errors": sum(sum(r["socket_errors"].values()) for rs in rounds.values() for r in rs),
                        "gets_wrote_scans": result["gets_wrote"],
                        "tracebacks": gunicorn_log.count("Traceback"),
                        "worker_timeouts": gunicorn_log.count("WORKER TIMEOUT")}
    return result


# --- report --------------------------------------------------------------------------------


def table(results: dict, pdf: dict) -> str:
    head = (f"{'engine':<11}{'what':<11}{'url':<32}{'bytes':>7}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
            f"{'vs base':>9}{'targets':>20}{'met':>5}")
    lines = [head]
    for name, r in results.items():
        for what in KINDS:
            x = r[what]
            url = x["path"] if len(x["path"]) <= 30 else x["path"][:29] + "…"
            ratio = f"{x['ratio']:.3f}" if "ratio" in x else ""
            target = ", ".join(([f">={TARGET_RATIO[what]}"] if what in TARGET_RATIO else [])
                               + ([f"p99<={TARGET_P99_MS:g}ms"] if what in TARGET_P99 else []))
            lines.append(f"{name if what == 'bare' else '':<11}{what.replace('_', ' '):<11}{url:<32}"
                         f"{x['bytes'] or '':>7}{x['req_per_s']:>9.1f}{x['p50_ms']:>9.1f}{x['p99_ms']:>9.1f}"
                         f"{ratio:>9}{target:>20}{yes(x['met']):>5}")
        q = r["qr_first"]
        lines.append(f"{'':<11}{'qr new':<11}{'qr.render(url, png, M, 10)':<32}{'':>7}{'':>9}"
                     f"{q['median_ms']:>9.2f}{q['p99_ms']:>9.2f}{'':>9}{f'median<={TARGET_QR_FIRST_MS:g}ms':>20}"
                     f"{yes(q['met']):>5}")
    if "missing" in pdf:
        lines.append(f"{'':<11}{'pdf':<11}{'100-label PDF':<32}  MISSING: {pdf['missing']}")
    else:
        lines.append(f"{'':<11}{'pdf':<11}{'100-label PDF, slowest layout':<32}{'':>7}{'':>9}"
                     f"{1000 * pdf['seconds']:>9.0f}{'':>9}{'':>9}{f'<={TARGET_PDF_S:g}s':>20}{yes(pdf['met']):>5}")
    lines.append("")
    for name, r in results.items():
        b = r["build"]
        lines.append(f"{name}: built {b['organizations']:,} organizations, {b['brands']:,} brands, "
                     f"{b['licences']:,} licences, {b['batches']:,} batches, {b['inspections']:,} inspections, "
                     f"{b['compliance_certificates']:,} 合格证, {b['batch_inputs']:,} batch inputs, "
                     f"{b['certifications']:,} certificates in {b['seconds']} s "
                     f"({b['database_bytes'] / 2**20:.0f} MiB); {b['codes']:,} codes sampled: "
                     + ", ".join(f"{100 * v:.0f} % {k}" for k, v in b["codes_shares"].items()))
        for what in ("all", "plain", "pooled"):
            p = r["profile"][what]
            if p:
                lines.append(f"{name}: uncached /t/<code> in-process, {what} ({p['pages']} pages, medians): "
                             f"{p['total_ms']} ms, {p['statements']:g} statements, {p['sql_ms']} ms in SQL; "
                             f"slowest {p['total_ms_max']} ms; first render of a code {p['first_total_ms']} ms, "
                             f"{p['first_statements']:g} statements")
        for t in r["profile"]["top"][:3]:
            lines.append(f"{name}:   {t['calls_per_page']:g}/page, {t['ms']} ms over the pages: {t['sql'][:80]}")
        s = r["scans"]
        lines.append(f"{name}: scans rows added by {s['requests']['trace']:,} GETs from gunicorn: "
                     f"{s['rows_added']['trace']}, by {s['requests']['edge_trace']:,} GETs through nginx: "
                     f"{s['rows_added']['edge_trace']}, by {s['requests']['scan']:,} POSTs: {s['rows_added']['scan']} "
                     f"(scans rows {s['before']['scans']:,} -> {s['after']['scans']:,}, first_scans "
                     f"{s['before']['first_scans']:,} -> {s['after']['first_scans']:,})")
        e = r["edge_trace"]
        lines.append(f"{name}: through nginx, {e['path']}: {100 * e['hit_share']:.1f} % cache hits "
                     f"({', '.join(f'{k} {v:,}' for k, v in sorted(e['cache_status'].items()))})")
        e = r["errors"]
        if any(e.values()):
            lines.append(f"{name}: PROBLEMS: {e['non_2xx']} answers not 2xx/3xx, {e['socket_errors']} socket errors, "
                         f"{e['tracebacks']} tracebacks and {e['worker_timeouts']} worker timeouts")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="The consumer page and its QR image against a bare page of the "
                                                 "same size (see the module docstring).")
    parser.add_argument("--postgres", metavar="URL",
                        help="also run on PostgreSQL: a fresh database is created on this URL's server")
    parser.add_argument("--no-sqlite", action="store_true", help="run on PostgreSQL only")
    parser.add_argument("--batches", type=int, default=1_000_000, help="batches in the registry (default 1,000,000)")
    parser.add_argument("--licences", type=int, default=20_000, help="licences (default 20,000)")
    parser.add_argument("--brands", type=int, default=1000, help="brands, and brand owners (default 1,000)")
    parser.add_argument("--producers", type=int, default=2000, help="producer organizations (default 2,000)")
    parser.add_argument("--inspected", type=float, default=0.3, help="share of batches inspected (default 0.3)")
    parser.add_argument("--compliance", type=float, default=0.6, help="share of batches with a 合格证 (default 0.6)")
    parser.add_argument("--pooled", type=float, default=0.05, help="share of batches pooled (default 0.05)")
    parser.add_argument("--certified", type=float, default=0.3,
                        help="share of licensed producers with a certificate (default 0.3)")
    parser.add_argument("--codes", type=int, default=100_000, help="codes sampled for wrk (default 100,000)")
    parser.add_argument("--chunk", type=int, default=50_000, help="rows per executemany (default 50,000)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the registry (default 2026)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of bare/trace/qr, interleaved (default 3)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of wrk per URL before the rounds (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--zipf-s", type=float, default=1.1,
                        help="exponent of the Zipf distribution of codes asked through nginx (default 1.1)")
    parser.add_argument("--profile-codes", type=int, default=30, help="pages profiled in-process (default 30)")
    parser.add_argument("--profile-repeat", type=int, default=3, help="in-process renders per page (default 3)")
    parser.add_argument("--qr-renders", type=int, default=500, help="first-time QR renders timed (default 500)")
    parser.add_argument("--pdf-runs", type=int, default=5, help="100-label PDFs per layout (default 5)")
    parser.add_argument("--db-prefix", default="traceapp_bench_public",
                        help="name prefix of the PostgreSQL database (the process id is appended)")
    parser.add_argument("--quick", action="store_true", help=QUICK_HELP)
    args = apply_quick(parser, parser.parse_args(argv), batches=2000, licences=200, brands=50, producers=50,
                       codes=500, rounds=1, duration=1, warmup=1, profile_codes=3, profile_repeat=1, qr_renders=5,
                       pdf_runs=1)
    if min(args.batches, args.licences, args.brands, args.producers, args.chunk, args.rounds, args.workers,
           args.connections, args.threads, args.profile_repeat, args.profile_codes, args.codes, args.qr_renders,
           args.pdf_runs) < 1 or args.duration <= 0 or args.warmup <= 0:
        parser.error("counts, --duration and --warmup must be positive")
    if args.no_sqlite and not args.postgres:
        parser.error("--no-sqlite needs --postgres")
    if args.licences < args.brands:
        parser.error("--licences must be at least --brands")
    if not all(0 <= x <= 1 for x in (args.inspected, args.compliance, args.pooled, args.certified)):
        parser.error("--inspected, --compliance, --pooled and --certified are shares between 0 and 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    wrk = ensure_wrk()
    nginx = ensure_nginx()
    start = time.perf_counter()
    results: dict = {}
    engines: list[tuple[str, Callable]] = [] if args.no_sqlite else [("sqlite", lambda: sqlite_database(NAME))]
    if args.postgres:
        engines.append(("postgresql", lambda: postgres_database(args.postgres, args.db_prefix)))
    for name, database in engines:
        with database() as (url, instance):
            results[name] = run_engine(name, url, instance, wrk, nginx, args)
    log("100-label PDF in-process")
    pdf = label_pdf(args.pdf_runs)
    log(f"  {pdf}")
    wrk_version = subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout.split("[")[0].strip()
    run = {"seconds": round(time.perf_counter() - start, 1), "duration_s": args.duration,
           "connections": args.connections, "threads": args.threads, "rounds": args.rounds, "workers": args.workers,
           "wrk": wrk_version, "python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version,
           "cpus": os.cpu_count()}
    print(table(results, pdf))
    print(f"\nwrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, {args.rounds} interleaved rounds, "
          f"{args.workers} gunicorn workers, medians over rounds; {os.cpu_count()} CPUs shared by wrk, nginx, "
          f"gunicorn and the database; total run time {run['seconds']} s")
    print(json.dumps({**results, "pdf": pdf, "run": run}, ensure_ascii=False))
    if any(any(r["errors"].values()) for r in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Page widths: crawl a running traceapp with the demo data as every demo role, in Chinese and
English, and print the widest pages at each screen width (the tests' crawler, tests/e2e/crawl.py).

    make run PORT=8202 &   # or any server with `flask seed-demo` loaded
    .venv/bin/python bench/layout_widths.py http://127.0.0.1:8202
    .venv/bin/python bench/layout_widths.py            # serves a fresh demo instance itself
    .venv/bin/python bench/layout_widths.py --quick    # that, crawling a few public pages in Chinese only

Public pages are measured at 360, 768 and 1366 px, staff pages at 768 and 1366 px.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchlib import QUICK_HELP, ROOT, Gunicorn, app_env, migrate  # noqa: E402 - bench/ is the script's folder

from tests.e2e.crawl import LAPTOP, PHONE, ROLES, TABLET, crawl, is_public, log_in  # noqa: E402


def viewports_for(path: str) -> tuple[int, ...]:
    return (PHONE, TABLET, LAPTOP) if is_public(path) else (TABLET, LAPTOP)


def measure(base: str, roles: dict, languages: tuple[str, ...], limit: int) -> None:
    widest: dict[int, list[tuple[int, str, str]]] = {PHONE: [], TABLET: [], LAPTOP: []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        for role, user in roles.items():
            for lang in languages:
                context = browser.new_context(viewport={"width": LAPTOP, "height": 900})
                context.add_cookies([{"name": "lang", "value": lang, "url": base}])
                page = context.new_page()
                started = time.perf_counter()
                if user:
                    log_in(page, base, user)
                result = crawl(page, base, "/home" if user else "/", viewports_for=viewports_for, limit=limit)
                print(f"{role:14} {lang}: {len(result.pages):3} pages in {time.perf_counter() - started:5.1f} s",
                      file=sys.stderr)
                for visited in result.pages:
                    for width, scroll in visited.widths.items():
                        widest[width].append((scroll, visited.url.removeprefix(base), f"{role}/{lang}"))
                context.close()
        browser.close()
    for width, rows in widest.items():
        rows.sort(reverse=True)
        over = {(url, who) for scroll, url, who in rows if scroll > width}
        print(f"\n{width} px: {len(over)} page views wider than the screen; widest:")
        for scroll, url, who in rows[:8]:
            print(f"  {scroll:5} px  {url}  ({who})")


def serve_demo(folder: Path) -> Gunicorn:
    """Serve a fresh SQLite instance with the demo data from ``folder`` (gunicorn, one worker)."""
    env = app_env(f"sqlite:///{folder}/demo.db", folder / "instance")
    migrate(env)
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "traceapp", "seed-demo"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"flask seed-demo failed ({out.returncode}):\n{out.stdout}{out.stderr}")
    server = Gunicorn("wsgi:app", ROOT, env, 1, folder / "gunicorn.log", probe="/")
    server.wait()
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="a running traceapp with the demo data (default: serve one here)")
    parser.add_argument("--quick", action="store_true", help=QUICK_HELP)
    args = parser.parse_args(argv)
    roles = {"anonymous": None} if args.quick else ROLES
    languages = ("zh",) if args.quick else ("zh", "en")
    limit = 3 if args.quick else 60
    if args.url:
        measure(args.url.rstrip("/"), roles, languages, limit)
        return
    with tempfile.TemporaryDirectory(prefix="layout-widths-") as tmp:
        server = serve_demo(Path(tmp))
        try:
            measure(server.url(""), roles, languages, limit)
        finally:
            server.stop()


if __name__ == "__main__":
    main()

"""Page widths: crawl a running traceapp with the demo data as every demo role, in Chinese and
English, and print the widest pages at each screen width (the tests' crawler, tests/e2e/crawl.py).

    make run PORT=8202 &   # or any server with `flask seed-demo` loaded
    .venv/bin/python bench/layout_widths.py http://127.0.0.1:8202

Public pages are measured at 360, 768 and 1366 px, staff pages at 768 and 1366 px.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.e2e.crawl import LAPTOP, PHONE, ROLES, TABLET, crawl, is_public, log_in  # noqa: E402


def viewports_for(path: str) -> tuple[int, ...]:
    return (PHONE, TABLET, LAPTOP) if is_public(path) else (TABLET, LAPTOP)


def main(base: str) -> None:
    widest: dict[int, list[tuple[int, str, str]]] = {PHONE: [], TABLET: [], LAPTOP: []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        for role, user in ROLES.items():
            for lang in ("zh", "en"):
                context = browser.new_context(viewport={"width": LAPTOP, "height": 900})
                context.add_cookies([{"name": "lang", "value": lang, "url": base}])
                page = context.new_page()
                started = time.perf_counter()
                if user:
                    log_in(page, base, user)
                result = crawl(page, base, "/home" if user else "/", viewports_for=viewports_for)
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


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8202")

"""A crawler for the browser tests: from a role's home page, follow every same-origin link and open
every GET form, one representative page per URL pattern, and record what a user would trip over:
server errors, console errors, pages wider than the screen, internal identifiers in visible text.

Used by tests/e2e/test_crawl.py and, to measure page widths, by bench/layout_widths.py.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from traceapp.records.codes import ALPHABET, CODE_LENGTH

PASSWORD = "traceapp-demo"
# The demo account of each role (traceapp/demo.py); None is the anonymous visitor.
ROLES = {"anonymous": None, "producer": "luyuan", "inspector": "inspector", "certifier": "certifier",
         "brand_manager": "brand", "regulator": "regulator", "admin": "admin"}
# Pages a visitor reaches without logging in: they must fit a phone as well as a tablet or laptop.
PUBLIC_PREFIXES = ("/t/", "/T/", "/brands/", "/ledger/", "/login", "/01/")
PHONE, TABLET, LAPTOP = 360, 768, 1366
SKIPPED_TYPES = ("text/csv", "application/vnd.openxmlformats", "application/x-ndjson", "application/pdf",
                 "image/", "application/json", "application/ld+json", "application/jsonl", "application/zip",
                 "text/plain", "application/octet-stream")
_CODE = re.compile(rf"[{ALPHABET}]{{{CODE_LENGTH}}}")
_NUMBERED = re.compile(r"[0-9]+|.*[0-9].*[0-9].*[0-9].*[0-9].*")  # ids, and codes with four or more digits


def is_public(path: str) -> bool:
    """Return whether a path is one of the pages anyone may open."""
    return path == "/" or path.startswith(PUBLIC_PREFIXES)


def pattern(url: str, from_form: bool = False) -> str:
    """Return the URL pattern a page belongs to: numeric ids, batch codes and brand slugs collapsed,
    so one page stands for a thousand batches; a link's query dropped (a filter or page number
    shows the same page), a form's kept by its names (the form's answer is a page of its own)."""
    parts = urlsplit(url)
    segments = []
    for i, segment in enumerate(parts.path.split("/")):
        stem, dot, ext = segment.rpartition(".") if "." in segment else (segment, "", "")
        if _CODE.fullmatch(stem.upper()) or _NUMBERED.fullmatch(stem):
            segment = "{id}" + dot + ext
        elif i == 2 and parts.path.startswith("/brands/") and segment:
            segment = "{slug}"
        segments.append(segment)
    keys = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)}) if from_form else []
    return "/".join(segments) + ("?" + "&".join(keys) if keys else "")


def normalize(base: str, href: str) -> str | None:
    """Return the absolute URL of a same-origin link worth crawling, without its fragment, or None."""
    parts = urlsplit(href)
    if parts.scheme not in ("http", "https") or f"{parts.scheme}://{parts.netloc}" != base:
        return None
    if parts.path.startswith(("/static/", "/api/")) or parts.path == "/logout":
        return None
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k == "lang" for k, _ in query):  # the language switch: each crawl keeps one language
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


@dataclass
class Page:
    url: str
    status: int
    from_form: bool = False
    widths: dict[int, int] = field(default_factory=dict)
    console: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    unlabelled: list[str] = field(default_factory=list)
    lang: str = ""


@dataclass
class Crawl:
    pages: list[Page] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def problems(self, language: str | None = None) -> dict[str, list[str]]:
        """Return the failures by kind, each naming its page: a 5xx answer, or a 4xx to a link (a
        form's 4xx is its answer to the defaults it was sent with); with ``language``, a page whose
        <html lang> is not that language's."""
        found: dict[str, list[str]] = {"status": [], "console": [], "overflow": [], "unlabelled": [], "lang": [],
                                       "identifiers": []}
        for page in self.pages:
            if page.status >= 500 or (page.status >= 400 and not page.from_form):
                found["status"].append(f"{page.url} answered {page.status}")
            found["console"] += [f"{page.url}: {message}" for message in page.console]
            found["overflow"] += [f"{page.url} is {width} px wide at {viewport} px"
                                  for viewport, width in page.widths.items() if width > viewport]
            if page.unlabelled:
                found["unlabelled"].append(f"{page.url}: no label for {', '.join(page.unlabelled)}")
            if language and page.lang != LANG[language]:
                found["lang"].append(f"{page.url} is marked lang={page.lang!r}")
            if page.identifiers:
                found["identifiers"].append(f"{page.url} shows {', '.join(sorted(set(page.identifiers)))}")
        return found


# Links, and the URLs of GET forms (filters, searches) submitted as they stand with their first
# button, when the browser would submit them (no required field left empty); all absolute, each
# with whether it came from a form.
_TARGETS = """() => {
  const found = [...document.querySelectorAll('a[href]')].map(a => [a.href, false]);
  for (const form of document.querySelectorAll('form')) {
    if ((form.getAttribute('method') || 'get').toLowerCase() !== 'get' || !form.checkValidity()) continue;
    const url = new URL(form.action || location.href);
    const button = form.querySelector('button[type=submit][name], button:not([type])[name], input[type=submit][name]');
    url.search = new URLSearchParams(new FormData(form, button)).toString();
    found.push([url.href, true]);
  }
  return found;
}"""
# The page's visible text without the parts that show people's own entries verbatim, which may be
# any word: elements marked translate="no" (user names, entered codes; see templates). Only short
# ones (TRANSLATE_NO_MAX characters) are set aside, so no paragraph can hide behind the mark.
_VISIBLE_TEXT = """(limit) => {
  const kept = [...document.querySelectorAll('[translate="no"]')].map(e => e.innerText);
  let text = document.body.innerText;
  // Longest first: a name inside another (brand in teabrand) must not leave the rest of it behind.
  for (const t of kept.sort((a, b) => b.length - a.length)) if (t && t.length <= limit) text = text.split(t).join(' ');
  return text;
}"""
TRANSLATE_NO_MAX = 80
# Form controls a person uses that have no name a screen reader can announce (a <label>, aria-label
# or aria-labelledby), each shown as its name or id.
_UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => !['hidden', 'submit', 'button', 'reset', 'image'].includes(e.type))
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
  .map(e => e.name || e.id || e.outerHTML.slice(0, 60))"""
LANG = {"zh": "zh-CN", "en": "en"}


def log_in(page, base: str, username: str) -> None:
    """Log the page's context in as a demo user."""
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(base + "/home")


def crawl(page, base: str, start: str, *, viewports_for, find_identifiers=None, limit: int = 60,
          per_pattern: int = 1) -> Crawl:
    """Visit pages breadth-first from ``start``: at most ``per_pattern`` per URL pattern and ``limit``
    in all. ``viewports_for(path)`` lists the widths a page must fit; ``find_identifiers(text)``, when
    given, returns the internal identifiers in a page's visible text."""
    result = Crawl()
    console: list[str] = []

    def on_console(message) -> None:
        # A failed load is reported with its URL by on_response; the console's line has none.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            console.append(message.text)

    def on_response(response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            console.append(f"{response.request.resource_type} {response.url} answered {response.status}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: console.append(str(e)))
    page.on("response", on_response)
    queue, seen, per = deque([(base + start, False)]), {base + start}, {}
    while queue and len(result.pages) < limit:
        url, from_form = queue.popleft()
        key = pattern(url, from_form)
        if per.get(key, 0) >= per_pattern:
            continue
        per[key] = per.get(key, 0) + 1
        console.clear()
        try:
            response = page.goto(url, wait_until="load")
        except Exception as exc:  # noqa: BLE001 - a download: Playwright aborts the navigation
            if "Download is starting" in str(exc):
                result.skipped.append(url)
                continue
            raise
        kind = response.headers.get("content-type", "") if response else ""
        if response is not None and response.status < 500 and kind.startswith(SKIPPED_TYPES):
            result.skipped.append(url)
            continue
        visited = Page(url=url, status=response.status if response else 0, from_form=from_form)
        result.pages.append(visited)
        path = urlsplit(url).path
        original = page.viewport_size
        for width in viewports_for(path):
            page.set_viewport_size({"width": width, "height": original["height"]})
            visited.widths[width] = page.evaluate("document.documentElement.scrollWidth")
        page.set_viewport_size(original)
        visited.unlabelled = page.evaluate(_UNLABELLED)
        visited.lang = page.evaluate("document.documentElement.lang")
        if find_identifiers is not None:
            visited.identifiers = find_identifiers(page.evaluate(_VISIBLE_TEXT, TRANSLATE_NO_MAX))
        for href, form in page.evaluate(_TARGETS):
            target = normalize(base, href)
            if target and target not in seen:
                seen.add(target)
                queue.append((target, form))
        visited.console = list(console)
    return result

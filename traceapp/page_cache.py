"""Rendered public pages kept in each worker while the ledger has not grown.

Every fact a public page shows is a projection of the ledger, so the ledger's size is a
version stamp: a page rendered when the ledger held N entries is still right while it holds
N — and while the day is the same, since "this year" and "active licence" depend on it. The
size is read from the database at most every PAGE_VERSION_SECONDS (and at once after this
process writes), so a hit usually costs no query at all.

Only anonymous requests are served from the cache: a logged-in visitor's navigation carries
their name and a CSRF token.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from flask import Response, current_app, request
from flask_login import current_user
from sqlalchemy import select

from traceapp import clock, db
from traceapp.i18n import current_language
from traceapp.ledger.store import LedgerCheckpoint

CAPACITY = 1024  # pages per worker; a brand page is ~20 KB, so ~20 MB at most


class PageCache:
    def __init__(self, capacity: int = CAPACITY):
        self.capacity = capacity
        self._pages: OrderedDict[tuple, tuple[str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[str, str] | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple, page: tuple[str, str]) -> None:
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.capacity:
                self._pages.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


def ledger_size() -> int:
    """Return the ledger's size, asking the database at most every PAGE_VERSION_SECONDS unless this
    process has written since: other workers' writes show within that time, this one's at once."""
    ledger = db.ledger()
    known = current_app.extensions.get("traceapp.page_cache.size")  # (size, monotonic time read, sealed)
    now = time.monotonic()
    if known is not None and known[2] == ledger.sealed and now - known[1] < current_app.config["PAGE_VERSION_SECONDS"]:
        return known[0]
    sealed = ledger.sealed  # before the query: a write sealed meanwhile makes the next call ask again
    size = db.session().scalar(select(LedgerCheckpoint.size).order_by(LedgerCheckpoint.size.desc()).limit(1)) or 0
    current_app.extensions["traceapp.page_cache.size"] = (size, now, sealed)
    return size


def _cache() -> PageCache:
    return current_app.extensions.setdefault("traceapp.page_cache", PageCache())


def rendered(render: Callable[[], str]) -> tuple[str, str]:
    """Return (html, etag) of this request's page: from the cache for an anonymous visitor
    when the ledger and the day are unchanged, else ``render()``-ed (and kept)."""
    if current_user.is_authenticated or not current_app.config["PAGE_CACHE"]:
        html = render()
        return html, etag_of(html)
    key = (request.full_path, current_language(), clock.today(), ledger_size())
    page = _cache().get(key)
    if page is None:
        html = render()
        page = (html, etag_of(html))
        _cache().put(key, page)
    return page


def etag_of(html: str) -> str:
    return hashlib.sha256(html.encode()).hexdigest()[:32]


def cacheable(render: Callable[[], str], max_age: int) -> Response:
    """Answer with the page, a short public max-age and its ETag (304 when it matches)."""
    html, etag = rendered(render)
    response = Response(html, mimetype="text/html")
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response.make_conditional(request)

"""The dashboards' figures kept in each worker while the ledger has not grown (and the day is the same).

A regulator's overview of a million batches groups hundreds of thousands of rows and runs every dated
risk rule; people open it far more often than the registry changes. Every figure is a count of
projection rows or ledger entries, so the ledger's size (:func:`traceapp.page_cache.ledger_size`) is a
version stamp: figures made at size N are still right while it is N. ``DASHBOARD_CACHE = False`` turns
the cache off (to measure the queries themselves)."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from traceapp import clock
from traceapp.i18n import current_language
from traceapp.page_cache import PageCache, ledger_size

CAPACITY = 256  # dashboards per worker: each is a few dozen rows of text and its SVG


def cached(key: tuple, make: Callable[[], list]) -> list:
    """Return ``make()``'s figures for ``key`` (what the dashboard is of: its name, scope, filters and
    range), made afresh once the ledger has grown, the day has changed or the language differs."""
    if not current_app.config.get("DASHBOARD_CACHE", True):
        return make()
    store = current_app.extensions.setdefault("traceapp.dashboards.cache", PageCache(CAPACITY))
    full = (*key, current_language(), clock.today(), ledger_size())
    found = store.get(full)
    if found is None:
        found = make()
        store.put(full, found)
    return found

"""Keep the cyclic garbage collector off what a serving process builds at start.

A worker holds ~330,000 objects once the app is built (modules, SQLAlchemy's mappers, Jinja's
templates, the region table), and every full collection walked all of them: 110-145 ms with
the worker stopped, about every 10-20 s under load, each one a burst of slow responses. After
``gc.freeze()`` a full collection walks only what was made since: 5-12 ms (gunicorn under wrk,
``bench/public.py``'s registry, 2026-12-03).
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect once, then move every object alive now into the permanent generation, which
    collections skip. Call once the app is built, in the process that serves it."""
    gc.collect()
    gc.freeze()

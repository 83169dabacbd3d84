"""The app as served behind a proxy, plus one bench-only route: ``GET /bench/bare``, the baseline of
``bench/public.py``. Never deploy this module; serve it with

    BENCH_BARE_BYTES=9000 gunicorn --workers 2 bench.public_app:app        # from the checkout

``TRACEAPP_BEHIND_PROXY`` is on, so the consumer page takes the client from the last
X-Forwarded-For hop: wrk's script (``bench/public.lua``) sends a random address per request, as
many phones scanning codes would be, so scans are recorded from many clients and the per-client
rate limit does not turn the benchmark into a stream of 429s.

``GET /bench/bare`` renders a template that extends ``base.html`` (the same layout, nav,
``url_for``, translations and ``current_user`` as the consumer page) with static content in its
``content`` block: rows shaped like the consumer page's inspection items, padded so that the HTML
is ``BENCH_BARE_BYTES`` bytes of UTF-8 (without it, the block is empty). No database, no scan, no
ETag: a bare Flask page of the measured page's size. It says the consumer page's Cache-Control, so
that through the bench's nginx it is the cache's own speed: what the consumer pages are compared with
there. Its template is compiled once per worker and
kept, as Jinja keeps a file template (``render_template_string`` would compile it on every call).
"""

from __future__ import annotations

import os

from flask import Response, render_template, render_template_string

from traceapp import create_app
from traceapp.heap import freeze_startup_objects
from traceapp.public import caching

app = create_app({"TRACEAPP_BEHIND_PROXY": True})
LAYOUT = '{% extends "base.html" %}{% block title %}黄桃 · 产品追溯{% endblock %}{% block content %}@@{% endblock %}'
ROW = ('<tr><td>{name}</td><td>GB 23200.113-2018</td><td>0.0{n:02d} mg/kg</td><td>0.1</td>'
       '<td class="verdict pass">合格</td></tr>\n')
NAMES = ("毒死蜱", "氧乐果", "克百威", "甲胺磷", "多菌灵", "吡虫啉", "阿维菌素", "氯氰菊酯")
_template = None


def filler(size: int) -> str:
    """Return static HTML of exactly ``size`` UTF-8 bytes (a table of inspection-item-like rows, then spaces)."""
    if size <= 0:
        return ""
    head, tail = '<section class="card"><table class="items">\n', "</table></section>\n"
    parts, used = [], len(head.encode()) + len(tail.encode())
    n = 0
    while True:
        row = ROW.format(name=NAMES[n % len(NAMES)], n=n % 100)
        if used + len(row.encode()) > size:
            break
        parts.append(row)
        used += len(row.encode())
        n += 1
    if used > size:  # too small even for the empty table
        return " " * size
    return head + "".join(parts) + " " * (size - used) + tail


def bare_template():
    global _template
    if _template is None:
        target = int(os.environ.get("BENCH_BARE_BYTES") or 0)
        empty = len(render_template_string(LAYOUT.replace("@@", "")).encode())
        _template = app.jinja_env.from_string(LAYOUT.replace("@@", filler(target - empty)))
    return _template


@app.get("/bench/bare")
def bench_bare():
    response = Response(render_template(bare_template()), mimetype="text/html")
    response.cache_control.public = True
    response.cache_control.max_age = caching.MAX_AGE
    response.cache_control.stale_while_revalidate = caching.STALE_WHILE_REVALIDATE
    return response


freeze_startup_objects()  # as wsgi.py does once the app is built

"""The app as served, plus one bench-only route: ``GET /bench/bare``, the baseline of
``bench/brands.py``. Never deploy this module; serve it with

    BENCH_BARE_BYTES=31000 gunicorn --workers 2 bench.brands_app:app        # from the checkout

``GET /bench/bare`` renders a template that extends ``base.html`` (the same layout, nav,
``url_for``, translations and ``current_user`` as the brand pages) with static content in
its ``content`` block: rows shaped like the brand page's licensee table, padded so that the
HTML is ``BENCH_BARE_BYTES`` bytes of UTF-8 (without it, the block is empty). No database,
no ETag: a bare Flask page of the measured page's size.

The template source is built through ``render_template_string`` on a worker's first request
(rendering the empty layout tells how many bytes the filler must add) and then compiled once
and kept, as Jinja keeps a file template: ``render_template_string`` compiles its source on
every call, which the real pages don't, and would make the baseline slower than it should be.
"""

from __future__ import annotations

import os

from flask import render_template, render_template_string

from traceapp import create_app
from traceapp.heap import freeze_startup_objects

app = create_app()
LAYOUT = '{% extends "base.html" %}{% block title %}区域品牌{% endblock %}{% block content %}@@{% endblock %}'
ROW = ('<tr class="active"><td>{name}示范合作社<br><small>93430225MA4Q{n:06d}</small></td>'
       '<td>2025-01-01 – 2027-12-31</td><td class="status">有效</td>'
       '<td>{used} / 50000 kg <meter min="0" max="1" high="0.9" value="0.{n:03d}"></meter></td></tr>\n')
NAMES = ("金山", "绿源", "丰收", "富民", "兴农", "青山", "碧水", "福瑞")
_template = None


def filler(size: int) -> str:
    """Return static HTML of exactly ``size`` UTF-8 bytes (a table of licensee-like rows, then spaces)."""
    if size <= 0:
        return ""
    head, tail = '<section class="card"><table class="items">\n', "</table></section>\n"
    parts, used = [], len(head.encode()) + len(tail.encode())
    n = 0
    while True:
        row = ROW.format(name=NAMES[n % len(NAMES)], n=n % 1000, used=1000 + 37 * n)
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
        source = LAYOUT.replace("@@", filler(target - empty))
        _template = app.jinja_env.from_string(source)
    return _template


@app.get("/bench/bare")
def bench_bare():
    return render_template(bare_template())


freeze_startup_objects()  # as wsgi.py does once the app is built

"""The app as served, plus one bench-only route: ``GET /bench/bare/<bytes>``, the baseline of
``bench/pages.py``. Never deploy this module; serve it with

    gunicorn --workers 2 bench.pages_app:app        # from the checkout

``GET /bench/bare/<bytes>`` renders a template that extends ``base.html`` (the same layout, nav,
translations and ``current_user`` as the measured pages: a signed-in request loads its user) with
static rows shaped like a list page's table, padded so that the HTML is ``<bytes>`` bytes of UTF-8.
No query of its own, no ETag: a bare Flask page of the measured page's size. Each size's template
is built on its first request and then kept, as Jinja keeps a file template.
"""

from __future__ import annotations

from flask import render_template, render_template_string

from traceapp import create_app
from traceapp.heap import freeze_startup_objects

app = create_app()
LAYOUT = '{% extends "base.html" %}{% block title %}批次查询{% endblock %}{% block content %}@@{% endblock %}'
ROW = ('<tr data-code="A{n:012d}"><td data-label="产品"><a href="/batches/A{n:012d}"><strong>黄桃</strong></a></td>'
       '<td data-label="批次码"><code>A{n:012d}</code></td>'
       '<td data-label="采收日期">2026-07-{day:02d}</td>'
       '<td data-label="数量">1,{n:03d}.5 kg</td><td data-label="品牌">炎陵黄桃</td>'
       '<td data-label="产地">湖南省株洲市炎陵县</td>'
       '<td data-label="状态"><span class="state active">正常</span></td></tr>\n')
_templates: dict[int, object] = {}


def filler(size: int) -> str:
    """Return static HTML of exactly ``size`` UTF-8 bytes (a table of batch-like rows, then spaces)."""
    if size <= 0:
        return ""
    head, tail = '<div class="table-wrap"><table class="items stack">\n', "</table></div>\n"
    parts, used, n = [], len(head.encode()) + len(tail.encode()), 0
    while True:
        row = ROW.format(n=n % 1000, day=1 + n % 28)
        if used + len(row.encode()) > size:
            break
        parts.append(row)
        used += len(row.encode())
        n += 1
    if used > size:
        return " " * size
    return head + "".join(parts) + " " * (size - used) + tail


@app.get("/bench/bare/<int:size>")
def bench_bare(size: int):
    template = _templates.get(size)
    if template is None:
        empty = len(render_template_string(LAYOUT.replace("@@", "")).encode())
        template = _templates[size] = app.jinja_env.from_string(LAYOUT.replace("@@", filler(size - empty)))
    return render_template(template)


freeze_startup_objects()  # as wsgi.py does once the app is built

"""Charts drawn on the server as inline SVG: no script, no library, nothing fetched. Each chart is an
``<svg role="img">`` named by its ``<title>`` and summed up by its ``<desc>``; every bar carries its own
``<title>`` (its label and figure), and the page shows the same figures as a table beside it, which is
what a screen reader reads. Colours come from classes (static/dashboards.css), because the content
security policy refuses inline styles; the drawing scales with its box (a viewBox, no fixed size), so
it never pushes a page sideways and prints as sharp as the screen."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 28, 44  # room for the value axis, the legend and the x labels
MAX_X_LABELS = 12  # more and they overlap: every n-th label is written


def _number(value: float) -> str:
    """Return an axis or bar figure as people read it: no trailing zeros, thousands separated."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _nice_top(largest: float) -> float:
    """Return an axis maximum at or above ``largest`` whose four gridline steps are whole, round
    numbers (a step of 1, 2 or 5 times a power of ten, at least 1): counts never get a 0.5 tick."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if 4 * step * factor >= largest:
                return float(4 * step * factor)
        step *= 10


def _open(chart_id: str, title: str, desc: str) -> list[str]:
    return [f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
            f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
            f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
            f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>']


def _legend(names: Sequence[str]) -> list[str]:
    if len(names) < 2:
        return []
    parts, x = ['<g class="legend" aria-hidden="true">'], LEFT
    for n, name in enumerate(names):
        parts.append(f'<rect class="series-{n}" x="{x}" y="6" width="12" height="12"/>'
                     f'<text x="{x + 16}" y="16">{escape(name)}</text>')
        x += 28 + 14 * len(name)
    parts.append("</g>")
    return parts


def columns(chart_id: str, title: str, desc: str, labels: Sequence[str],
            series: Sequence[tuple[str, Sequence[float | int | Decimal | None]]], *, percent: bool = False) -> Markup:
    """Return a column chart: one group of bars per label (a month, a product), one bar per series.

    ``series`` is ``[(name, values)]`` with one value per label (None: no figure, no bar). With ``percent``
    the values are shares from 0 to 100 and the axis ends at 100 %."""
    values = [float(v) for _name, vs in series for v in vs if v is not None]
    top = 100.0 if percent else _nice_top(max(values, default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = _open(chart_id, title, desc)
    parts.append('<g class="axis" aria-hidden="true">')
    for step in range(5):  # gridlines at 0, ¼, ½, ¾ and the top
        level = top * step / 4
        y = TOP + plot_h - plot_h * step / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{_number(level)}{"%" if percent else ""}</text>')
    parts.append("</g>")
    parts.extend(_legend([name for name, _vs in series]))
    count = max(len(labels), 1)
    slot = plot_w / count
    bar_w = max(slot * 0.8 / max(len(series), 1), 1.0)
    every = -(-count // MAX_X_LABELS)
    written = _axis_labels(labels, every)
    for i, label in enumerate(labels):
        x0 = LEFT + slot * i + slot * 0.1
        for n, (name, vs) in enumerate(series):
            value = vs[i]
            if value is None:
                continue
            h = plot_h * min(float(value), top) / top
            shown = _number(float(value)) + ("%" if percent else "")
            parts.append(f'<rect class="bar series-{n}" x="{x0 + bar_w * n:.1f}" y="{TOP + plot_h - h:.1f}" '
                         f'width="{bar_w:.1f}" height="{h:.1f}"><title>{escape(label)} · {escape(name)}: '
                         f'{escape(shown)}</title></rect>')
        if i % every == 0:
            parts.append(f'<text class="label" x="{LEFT + slot * i + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                         f'text-anchor="middle" aria-hidden="true">{escape(written[i])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def meters(chart_id: str, title: str, desc: str, rows: Sequence[tuple[str, float]]) -> Markup:
    """Return horizontal bars of shares (1.0 = the whole): one per row, with a line at 100 %, so a row
    past its cap shows at a glance. Bars stop at 150 %; their titles carry the exact share."""
    height = TOP + 26 * max(len(rows), 1) + 24
    left, plot_w = 200, WIDTH - 200 - RIGHT - 40
    scale = 1.5
    parts = [f'<svg class="chart meters" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
             f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
             f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>']
    full = left + plot_w / scale
    for i, (label, share) in enumerate(rows):
        y = TOP + 26 * i
        w = plot_w * min(max(share, 0.0), scale) / scale
        state = "over" if share > 1 else "near" if share >= 0.9 else "ok"
        parts.append(f'<text class="label" x="{left - 8}" y="{y + 14}" text-anchor="end" aria-hidden="true">'
                     f'{escape(_short(label, 14))}</text>'
                     f'<rect class="track" x="{left}" y="{y}" width="{plot_w}" height="18"/>'
                     f'<rect class="bar {state}" x="{left}" y="{y}" width="{w:.1f}" height="18">'
                     f'<title>{escape(label)}: {share * 100:.1f}%</title></rect>'
                     f'<text class="tick" x="{left + w + 4:.1f}" y="{y + 14}" aria-hidden="true">'
                     f'{share * 100:.0f}%</text>')
    bottom = TOP + 26 * max(len(rows), 1)
    parts.append(f'<line class="cap" x1="{full:.1f}" x2="{full:.1f}" y1="{TOP - 6}" y2="{bottom}" aria-hidden="true"/>'
                 f'<text class="tick" x="{full:.1f}" y="{bottom + 16}" text-anchor="middle" aria-hidden="true">'
                 f'100%</text></svg>')
    return Markup("".join(parts))


def _axis_labels(labels: Sequence[str], every: int) -> list[str]:
    """Return what is written under each slot (only every ``every``-th is written). Twelve months written
    in full ("2026-01") run into each other, so a month is written as its number alone, with the year on
    the first written label of each year."""
    if not labels or not all(_MONTH.fullmatch(label) for label in labels):
        return [_short(label) for label in labels]
    written, year = [], None
    for i, label in enumerate(labels):
        if i % every == 0 and label[:4] != year:
            year = label[:4]
            written.append(label)
        else:
            written.append(label[5:])
    return written


_MONTH = re.compile(r"\d{4}-\d{2}")


def _short(label: str, limit: int = 10) -> str:
    """Return a label that fits under its bar; the full text stays in the bar's title and the table."""
    return label if len(label) <= limit else label[:limit - 1] + "…"

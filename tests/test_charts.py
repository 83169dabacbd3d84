"""The server-drawn charts: labels under a column chart never run into each other, and a reader can
still tell which year each month belongs to."""

from __future__ import annotations

import itertools
import re

import pytest

from traceapp import charts

DIGIT_WIDTH = 7.2  # a digit at the charts' 12px font, in the chart's own units, with room to spare


def _months(first_year: int, first_month: int, count: int) -> list[str]:
    index = first_year * 12 + first_month - 1
    return [f"{(index + i) // 12}-{(index + i) % 12 + 1:02d}" for i in range(count)]


def _written(svg: str) -> list[tuple[float, str]]:
    return [(float(x), text) for x, text in re.findall(r'<text class="label" x="([\d.]+)"[^>]*>([^<]*)</text>', svg)]


@pytest.mark.parametrize("months", [_months(2026, 1, 12), _months(2025, 2, 12), _months(2025, 2, 24),
                                    _months(2024, 7, 36)])
def test_month_labels_do_not_overlap_and_name_each_year(months):
    svg = charts.columns("c", "t", "d", months, [("n", [1] * len(months))])
    written = _written(svg)
    assert written, svg
    for (x1, a), (x2, b) in itertools.pairwise(written):
        assert x2 - x1 >= (len(a) + len(b)) / 2 * DIGIT_WIDTH + 4, (a, b, x2 - x1)
    years_written = {text[:4] for _x, text in written if len(text) == 7}
    assert years_written == {m[:4] for m in months[::-(-len(months) // charts.MAX_X_LABELS)]}
    assert written[0][1] == months[0]


def test_other_labels_are_written_whole_or_shortened():
    svg = charts.columns("c", "t", "d", ["黄桃", "一个很长很长很长的产品名称"], [("n", [1, 2])])
    assert [text for _x, text in _written(svg)] == ["黄桃", "一个很长很长很长的…"]

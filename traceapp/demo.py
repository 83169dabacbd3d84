"""The demo data set: real brand names from the provincial plans, fictitious producers
marked ``demo``. Everything goes through its service except the recall, a ledger entry
only until the regulator issue gives it a service."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.auth.services import create_user
from traceapp.brands.services import grant_license, register_brand
from traceapp.ledger.store import Ledger, LedgerEntry, begin_write
from traceapp.records.certifications import issue_certification
from traceapp.records.compliance import issue_compliance_certificate
from traceapp.records.corrections import correct_batch
from traceapp.records.inspections import record_inspection
from traceapp.records.models import Batch
from traceapp.records.services import register_batch, register_organization
from traceapp.records.uscc import compose

SYSTEM = {"user": "seed-demo", "org": None}
DEMO_PASSWORD = "traceapp-demo"
# (username, role, organization key or None)
DEMO_USERS = [
    ("admin", "admin", None),
    ("luyuan", "producer", "luyuan"),
    ("ceyuan", "producer", "ceyuan"),
    ("teaco", "producer", "tea_company"),
    ("teafarm", "producer", "tea_farm"),
    ("inspector", "inspector", "lab"),
    ("certifier", "certifier", "certifier"),
    ("brand", "brand_manager", "association"),
    ("regulator", "regulator", "regulator"),
]

# (key, kind, name, region, USCC prefix or None); the credit codes are fictitious: the
# prefix (authority, category, division) plus a made-up organization code, with valid
# GB 11714 and GB 32100 check characters.
ORGS = [
    ("association", "brand_owner", "炎陵县黄桃产业协会（演示）", "430225", "51430225"),
    ("luyuan", "cooperative", "炎陵县鹿原镇黄桃专业合作社（演示）", "430225", "93430225"),
    ("ceyuan", "cooperative", "炎陵县策源乡果蔬专业合作社（演示）", "430225", "93430225"),
    ("lab", "inspection_body", "株洲市农产品质量安全检测站（演示）", "430200", "12430200"),
    ("certifier", "certification_body", "湖南省绿色食品认证示范中心（演示）", "430000", "12430000"),
    ("tea_association", "brand_owner", "襄阳市茶叶产业协会（演示）", "420600", "51420600"),
    ("tea_company", "enterprise", "襄阳市汉水高香茶业有限公司（演示）", "420625", "91420625"),
    ("tea_farm", "family_farm", "谷城县五山镇李家茶园家庭农场（演示）", "420625", None),
    ("regulator", "regulator", "炎陵县市场监督管理局（演示）", "430225", "11430225"),
]

BRANDS = [  # (slug, name, owner, area, level, category, products)
    ("yanling-huangtao", "炎陵黄桃", "association", ["430225"], "county", "fruit", ["黄桃"]),
    ("xiangyang-gaoxiangcha", "襄阳高香茶", "tea_association", ["420600"], "city", "tea", ["绿茶", "红茶"]),
]
LICENSES = [  # (brand, licensee, products, valid to, yearly kg)
    ("yanling-huangtao", "luyuan", ["黄桃"], "2026-12-31", "50000"),
    ("yanling-huangtao", "ceyuan", ["黄桃"], "2026-12-31", "30000"),
    ("xiangyang-gaoxiangcha", "tea_company", ["绿茶", "红茶"], "2027-12-31", "20000"),
    ("xiangyang-gaoxiangcha", "tea_farm", ["绿茶"], "2027-12-31", "2000"),
]


def _batches():
    """Yield (producer username, product, category, quantity, harvest date, base, brand, region)."""
    yield "luyuan", "黄桃", "fruit", "1200", "2026-07-28", "鹿原镇九龙村基地", "yanling-huangtao", "430225"
    yield "luyuan", "黄桃", "fruit", "850.5", "2026-08-02", "鹿原镇九龙村基地", "yanling-huangtao", "430225"
    yield "ceyuan", "黄桃", "fruit", "640", "2026-08-05", "策源乡梨树洲基地", "yanling-huangtao", "430225"
    yield "ceyuan", "黄桃", "fruit", "990", "2026-08-09", "策源乡梨树洲基地", "yanling-huangtao", "430225"
    yield "teaco", "绿茶", "tea", "320", "2026-04-12", "谷城县五山镇茶园基地", "xiangyang-gaoxiangcha", "420625"
    yield "teafarm", "绿茶", "tea", "85.2", "2026-04-15", "李家茶园", "xiangyang-gaoxiangcha", "420625"
    yield "teaco", "红茶", "tea", "150", "2026-05-20", "谷城县五山镇茶园基地", "xiangyang-gaoxiangcha", "420625"


def seed_demo(session: Session, ledger: Ledger, *, force: bool = False) -> int:
    """Append the demo entries unless the ledger has some already; return how many."""
    if not force and session.execute(select(LedgerEntry.seq).limit(1)).first() is not None:
        return 0
    count = 0

    def add(kind, actor, subject, data):
        # One transaction per record, as the real services will write them.
        nonlocal count
        ledger.append(session, kind, actor, subject, data)
        session.commit()
        begin_write(session)
        count += 1

    orgs = {}
    for key, kind, name, region, credit in ORGS:
        uscc = compose(credit, f"D{len(orgs) + 1:07d}") if credit else None
        data = {"name": name, "kind": kind, "region": region, "address": "", "contact": "", "uscc": uscc}
        org = register_organization(session, data, actor=SYSTEM, demo=True)
        session.commit()
        begin_write(session)
        orgs[key] = f"org:{org.id}"
        count += 1
    users = {username: create_user(session, username, role, int(orgs[key][4:]) if key else None, DEMO_PASSWORD)
             for username, role, key in DEMO_USERS}
    def commit():
        nonlocal count
        session.commit()
        begin_write(session)
        count += 1

    brands = {}
    for slug, name, owner, area, level, category, products in BRANDS:
        brands[slug] = register_brand(session, {"name": name, "slug": slug, "owner": int(orgs[owner][4:]),
                                                "area": area, "level": level, "category": category,
                                                "products": products}, user=users["admin"])
        commit()
    for slug, licensee, products, valid_to, quantity in LICENSES:
        grant_license(session, brands[slug], {"licensee": int(orgs[licensee][4:]), "products": products,
                                              "valid_from": "2026-01-01", "valid_to": valid_to,
                                              "quantity": quantity, "unit": "kg"}, user=users["admin"])
        commit()
    issue_certification(session, {"kind": "green_food", "number": "GF430225260001", "holder": int(orgs["luyuan"][4:]),
                                  "products": ["黄桃"], "valid_from": "2026-03-01", "valid_to": "2029-02-28"},
                        user=users["certifier"])
    session.commit()
    begin_write(session)
    codes = []
    for n, (username, product, category, qty, harvest, base, brand, region) in enumerate(_batches(), 1):
        batch = register_batch(session, {"product": product, "category": category, "quantity": qty, "unit": "kg",
                                         "harvest_date": harvest, "origin_region": region, "base": base,
                                         "brand": brand}, user=users[username])
        session.commit()
        begin_write(session)
        count += 1
        codes.append(batch.code)
        verdict = "fail" if n == 6 else "pass"
        inspection = record_inspection(session, {
            "batch": batch.code, "inspected_on": harvest, "report_no": f"ZZJC-2026-{n:04d}", "verdict": verdict,
            "items": [{"name": "毒死蜱", "method": "GB 23200.113", "value": "0.01" if verdict == "pass" else "0.35",
                       "limit": "0.02", "unit": "mg/kg", "verdict": verdict},
                      {"name": "克百威", "method": "速测 (NY/T 448)", "value": "阴性", "limit": "", "unit": "",
                       "verdict": "pass"}]}, user=users["inspector"])
        session.commit()
        begin_write(session)
        count += 1
        if verdict == "pass":
            issue_compliance_certificate(session, batch, {
                "basis": "commissioned_test", "inspection": inspection.id, "quantity": "800" if n == 2 else qty,
                "issued_on": harvest, "contact": "0731-62200000"}, user=users[username])
            session.commit()
            begin_write(session)
            count += 1
    second = session.scalar(select(Batch).where(Batch.code == codes[1]))
    correct_batch(session, second, {"fields": {"quantity": "850"}, "reason": "复核称重后更正数量"},
                  user=users["luyuan"])
    session.commit()
    begin_write(session)
    count += 1
    add("batch.recalled", users["regulator"].actor(), f"batch:{codes[5]}",
        {"reason": "抽检农药残留超标", "scope": "batch"})
    return count

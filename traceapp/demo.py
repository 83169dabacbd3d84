"""The demo data set: every regional and enterprise brand named in the provincial plans
(``demo_brands``) with its real places, and clearly fictitious owners, producers, labs and
bodies (names carry 示范, rows are flagged ``demo``): licences with caps, batches over two
seasons (pooled and processed ones too), inspections (some failed), certificates (one
expired, one revoked), 合格证, transfers (a packer buying another cooperative's peaches, a
tea factory buying a farm's fresh leaf), a correction and a recall. Everything goes through
the services, one transaction per fact."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.auth.services import create_user
from traceapp.brands.services import change_brand, get_brand, grant_license, register_brand
from traceapp.demo_brands import BRANDS, SLUGS, place_code
from traceapp.ledger.store import Ledger, LedgerEntry, begin_write
from traceapp.records.certifications import issue_certification, revoke_certification
from traceapp.records.code_states import freeze_code
from traceapp.records.compliance import issue_compliance_certificate
from traceapp.records.corrections import correct_batch
from traceapp.records.inspections import record_inspection
from traceapp.records.label_sheets import print_labels
from traceapp.records.recalls import recall_batch
from traceapp.records.services import register_batch, register_organization
from traceapp.records.transfers import transfer_batch
from traceapp.records.uscc import compose

DEMO_PASSWORD = "traceapp-demo"
SYSTEM = {"user": "system:seed-demo", "org": None}
# (username, role, organization key or None)
DEMO_USERS = [
    ("admin", "admin", None),
    ("luyuan", "producer", "luyuan"),
    ("ceyuan", "producer", "ceyuan"),
    ("teaco", "producer", "tea_company"),
    ("teafarm", "producer", "tea_farm"),
    ("inspector", "inspector", "lab"),
    ("certifier", "certifier", "certifier"),
    ("brand", "brand_manager", "炎陵黄桃"),
    ("teabrand", "brand_manager", "襄阳高香茶"),
    ("regulator", "regulator", "regulator"),
]
# (key, kind, name, region, USCC prefix or None). The credit codes are fictitious: the prefix
# (authority, category, division) and a made-up organization code, with valid check characters.
ORGS = [
    ("luyuan", "cooperative", "炎陵县鹿原镇黄桃专业合作社（示范）", "430225", "93430225"),
    ("ceyuan", "cooperative", "炎陵县策源乡果蔬专业合作社（示范）", "430225", "93430225"),
    ("tea_company", "enterprise", "襄阳汉水高香茶业示范有限公司", "420625", "91420625"),
    ("tea_farm", "family_farm", "谷城县五山镇李家茶园家庭农场（示范）", "420625", None),
    ("lab", "inspection_body", "株洲市农产品质量安全检测示范站", "430200", "12430200"),
    ("certifier", "certification_body", "湖南省绿色食品认证示范中心", "430000", "12430000"),
    ("regulator", "regulator", "炎陵县市场监督管理局（示范）", "430225", "11430225"),
]
# (brand, licensee, products, valid from, valid to, yearly kg)
LICENSES = [
    ("炎陵黄桃", "luyuan", ["黄桃"], "2025-01-01", "2026-12-31", "50000"),
    ("炎陵黄桃", "ceyuan", ["黄桃"], "2025-01-01", "2026-12-31", "30000"),
    ("襄阳高香茶", "tea_company", ["绿茶", "红茶"], "2025-01-01", "2027-12-31", "20000"),
    ("襄阳高香茶", "tea_farm", ["绿茶"], "2025-01-01", "2027-12-31", "2000"),
]
# (key, producer, product, category, kg, harvest, base, brand or None, inputs [(key, kg)], verdict or None)
BATCHES = [
    ("ly25", "luyuan", "黄桃", "fruit", "900", "2025-08-01", "鹿原镇九龙村基地", "炎陵黄桃", [], "pass"),
    ("cy25", "ceyuan", "黄桃", "fruit", "700", "2025-08-06", "策源乡梨树洲基地", "炎陵黄桃", [], "fail"),
    ("tc25", "teaco", "绿茶", "tea", "280", "2025-04-10", "谷城县五山镇茶园基地", "襄阳高香茶", [], "pass"),
    ("ly1", "luyuan", "黄桃", "fruit", "1200", "2026-07-28", "鹿原镇九龙村基地", "炎陵黄桃", [], "pass"),
    ("ly2", "luyuan", "黄桃", "fruit", "850.5", "2026-08-02", "鹿原镇九龙村基地", "炎陵黄桃", [], "pass"),
    ("cy1", "ceyuan", "黄桃", "fruit", "640", "2026-08-05", "策源乡梨树洲基地", "炎陵黄桃", [], "pass"),
    ("cy2", "ceyuan", "黄桃", "fruit", "990", "2026-08-09", "策源乡梨树洲基地", "炎陵黄桃", [], "pass"),
    ("gift", "luyuan", "黄桃", "fruit", "300", "2026-08-09", "鹿原镇包装车间", "炎陵黄桃",
     [("ly2", "100"), ("cy2", "200")], None),
    ("leaf", "teafarm", "茶鲜叶", "tea", "400", "2026-04-14", "李家茶园", None, [], None),
    ("tc1", "teaco", "绿茶", "tea", "320", "2026-04-12", "谷城县五山镇茶园基地", "襄阳高香茶", [], "pass"),
    ("tf1", "teafarm", "绿茶", "tea", "85.2", "2026-04-15", "李家茶园", "襄阳高香茶", [], "fail"),
    ("tc2", "teaco", "绿茶", "tea", "80", "2026-04-16", "谷城县五山镇加工厂", "襄阳高香茶", [("leaf", "400")], "pass"),
    ("tc3", "teaco", "红茶", "tea", "150", "2026-05-20", "谷城县五山镇茶园基地", "襄阳高香茶", [], "pass"),
]
ORIGINS = {"luyuan": "430225", "ceyuan": "430225", "teaco": "420625", "teafarm": "420625"}
# 合格证 covering less than the whole batch: the rest of cy2 is handed over to the 鹿原 gift packer.
CERTIFIED = {"ly2": "700", "cy2": "790"}
# Packed lots with a (fictitious) GTIN and a lot number: their QR codes may carry the GS1 Digital Link URI.
PACKED = {"gift": ("06971234560018", "YL2026-0809"), "tc3": ("06971234560025", "GC2026-0520")}


def seed_demo(session: Session, ledger: Ledger, *, force: bool = False) -> int:
    """Load the demo data set unless the ledger has entries already; return the entries written."""
    if not force and session.execute(select(LedgerEntry.seq).limit(1)).first() is not None:
        return 0
    seeder = _Seeder(session)
    seeder.run()
    return seeder.count


class _Seeder:
    """Writes each demo fact through its service and commits it, as a tablet would."""

    def __init__(self, session: Session):
        self.session = session
        self.count = 0
        self.orgs: dict[str, int] = {}
        self.users: dict = {}
        self.brands: dict[str, str] = {}
        self.batches: dict = {}

    def commit(self, result=None):
        self.session.commit()
        begin_write(self.session)
        self.count += 1
        return result

    def run(self) -> None:  # the caller's session is in a write transaction already
        self.organizations()
        self.brand_registry()
        self.certificates()
        self.records()
        self.consumer_side()

    def organizations(self) -> None:
        serial = 0
        for key, kind, name, region, prefix in ORGS:
            serial += 1
            data = {"name": name, "kind": kind, "region": region, "address": "", "contact": "0731-62200000",
                    "uscc": compose(prefix, f"D{serial:07d}") if prefix else None}
            self.orgs[key] = self.commit(register_organization(self.session, data, actor=SYSTEM, demo=True)).id
        for name, _aliases, _category, level, _parent, places, _products in BRANDS:
            serial += 1
            region = place_code(places[0])
            owner = f"{name}示范企业有限公司" if level == "enterprise" else f"{name}品牌示范协会"
            prefix = ("91" if level == "enterprise" else "51") + region
            data = {"name": owner, "kind": "brand_owner", "region": region, "address": "", "contact": "",
                    "uscc": compose(prefix, f"D{serial:07d}")}
            self.orgs[name] = self.commit(register_organization(self.session, data, actor=SYSTEM, demo=True)).id
        for username, role, key in DEMO_USERS:
            self.users[username] = create_user(self.session, username, role, self.orgs.get(key), DEMO_PASSWORD)
        self.session.commit()
        begin_write(self.session)

    def brand_registry(self) -> None:
        for name, aliases, category, level, parent, places, products in BRANDS:
            data = {"name": name, "aliases": aliases, "category": category, "level": level,
                    "parent": self.brands.get(parent), "owner": self.orgs[name],
                    "area": [place_code(p) for p in places], "products": products,
                    "description": f"{name}：省级规划中列出的区域公用品牌（演示数据的品牌主体为虚构）。"
                    if level != "enterprise" else f"{name}：省级规划中列出的企业品牌。"}
            if name in SLUGS:
                data["slug"] = SLUGS[name]
            self.brands[name] = self.commit(register_brand(self.session, data, user=self.users["admin"])).slug
        managers = {"炎陵黄桃": "brand", "襄阳高香茶": "teabrand"}
        for brand, licensee, products, valid_from, valid_to, kg in LICENSES:
            self.commit(grant_license(self.session, get_brand(self.session, self.brands[brand]), {
                "licensee": self.orgs[licensee], "products": products, "valid_from": valid_from,
                "valid_to": valid_to, "quantity": kg, "unit": "kg"}, user=self.users[managers[brand]]))

    def certificates(self) -> None:
        certifier = self.users["certifier"]
        self.commit(issue_certification(self.session, {
            "kind": "green_food", "number": "GF430225260001", "holder": self.orgs["luyuan"], "products": ["黄桃"],
            "valid_from": "2026-03-01", "valid_to": "2029-02-28"}, user=certifier))
        self.commit(issue_certification(self.session, {  # expired: valid for the 2025 season only
            "kind": "green_food", "number": "GF430225230117", "holder": self.orgs["ceyuan"],
            "products": ["黄桃"], "valid_from": "2023-01-01", "valid_to": "2025-12-31"}, user=certifier))
        organic = self.commit(issue_certification(self.session, {
            "kind": "organic", "number": "12345620260000017", "holder": self.orgs["tea_company"],
            "products": ["绿茶"], "valid_from": "2025-03-01", "valid_to": "2027-02-28"}, user=certifier))
        self.commit(revoke_certification(self.session, organic.id, {"reason": "监督检查发现有机生产记录不完整（演示）"},
                                         user=certifier))

    def records(self) -> None:
        for n, (key, producer, product, category, kg, harvest, base, brand, inputs, verdict) in enumerate(BATCHES, 1):
            for k, q in inputs:  # another organization's batch is handed over by its producer first
                source = self.batches[k]
                if source.organization_id != self.users[producer].organization_id:
                    self.commit(transfer_batch(self.session, source, {
                        "to": self.users[producer].organization_id, "quantity": q},
                        user=self.users[_producer_of(k)]))
            data = {"product": product, "category": category, "quantity": kg, "unit": "kg", "harvest_date": harvest,
                    "origin_region": ORIGINS[producer], "base": base, "brand": self.brands.get(brand),
                    "inputs": [{"code": self.batches[k].code, "quantity": q} for k, q in inputs]}
            if key in PACKED:
                data["gtin"], data["lot"] = PACKED[key]
            batch = self.batches[key] = self.commit(register_batch(self.session, data, user=self.users[producer]))
            if key in PACKED and verdict is None:  # a packed lot not inspected itself: its packer's promise
                self.commit(issue_compliance_certificate(self.session, batch, {
                    "basis": "quality_control", "quantity": kg, "issued_on": harvest,
                    "contact": "0731-62200000"}, user=self.users[producer]))
            if verdict is None:
                continue
            bad = verdict == "fail"
            inspection = self.commit(record_inspection(self.session, {
                "batch": batch.code, "inspected_on": harvest, "report_no": f"ZZJC-{harvest[:4]}-{n:04d}",
                "verdict": verdict,
                "items": [{"name": "毒死蜱", "method": "GB 23200.113", "value": "0.35" if bad else "0.01",
                           "limit": "0.02", "unit": "mg/kg", "verdict": verdict},
                          {"name": "克百威", "method": "速测 (NY/T 448)", "value": "阴性", "limit": "", "unit": "",
                           "verdict": "pass"}]}, user=self.users["inspector"]))
            if not bad:
                self.commit(issue_compliance_certificate(self.session, batch, {
                    "basis": "commissioned_test", "inspection": inspection.id,
                    "quantity": CERTIFIED.get(key, kg), "issued_on": harvest,
                    "contact": "0731-62200000"}, user=self.users[producer]))
        self.commit(correct_batch(self.session, self.batches["ly2"], {"fields": {"quantity": "850"},
                                                                     "reason": "复核称重后更正数量"},
                                  user=self.users["luyuan"]))
        self.commit(recall_batch(self.session, self.batches["tf1"], {"reason": "抽检农药残留超标", "scope": "batch"},
                                 user=self.users["regulator"]))

    def consumer_side(self) -> None:
        """Labels printed for a lot and for the packed lots (a code's scans count only once its labels are
        printed), a code frozen while it is checked, Digital Link QR codes for 炎陵黄桃."""
        self.commit(print_labels(self.session, self.batches["ly1"], {
            "labels": 120, "package_quantity": "5", "layout": "a4-24"}, user=self.users["luyuan"]))
        for key, labels, package in (("gift", 60, "5"), ("tc3", 300, "0.5")):
            self.commit(print_labels(self.session, self.batches[key], {
                "labels": labels, "package_quantity": package, "layout": "a4-24"},
                user=self.users[_producer_of(key)]))
        self.commit(freeze_code(self.session, self.batches["cy1"], {
            "reason": "市场上发现疑似仿冒包装，核查中（演示）"}, user=self.users["regulator"]))
        self.commit(change_brand(self.session, get_brand(self.session, self.brands["炎陵黄桃"]), {
            "qr_digital_link": True, "reason": "礼盒包装改印 GS1 数字链接二维码"}, user=self.users["brand"]))


def _producer_of(key: str) -> str:
    """The demo user who registered the batch ``key``."""
    return next(producer for k, producer, *_rest in BATCHES if k == key)

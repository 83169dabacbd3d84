"""Test data made through the services, so fixture rows have ledger entries like real ones."""

from __future__ import annotations

import itertools

from traceapp.records import services
from traceapp.records.uscc import compose

_serial = itertools.count(1)
SYSTEM = {"user": "tests", "org": None}


def uscc() -> str:
    """Return a fresh valid 统一社会信用代码 (farmer cooperative, registered in 炎陵县)."""
    return compose("93430225", f"T{next(_serial):07d}")


def org_data(**overrides) -> dict:
    data = {"name": "炎陵县测试黄桃专业合作社", "kind": "cooperative", "uscc": uscc(), "region": "430225",
            "address": "湖南省株洲市炎陵县鹿原镇", "contact": "0731-00000000"}
    data.update(overrides)
    return data


def make_org(session, **overrides):
    return services.register_organization(session, org_data(**overrides), actor=SYSTEM)


def make_user(session, role: str = "producer", org_id: int | None = None, name: str | None = None,
              password: str | None = "password-123"):
    from traceapp.auth.services import create_user

    return create_user(session, name or f"user{next(_serial)}", role, org_id, password)


def batch_data(**overrides) -> dict:
    data = {"product": "黄桃", "category": "fruit", "quantity": "1200.5", "unit": "kg",
            "harvest_date": "2026-08-01", "pack_date": "2026-08-02", "origin_region": "430225",
            "base": "鹿原镇九龙村基地"}
    data.update(overrides)
    return data


def make_batch(session, user, **overrides):
    return services.register_batch(session, batch_data(**overrides), user=user)


def item(**overrides) -> dict:
    data = {"name": "毒死蜱", "method": "GB 23200.113", "value": "0.01", "limit": "0.02", "unit": "mg/kg",
            "verdict": "pass"}
    data.update(overrides)
    return data


def inspection_data(batch_code: str, **overrides) -> dict:
    data = {"batch": batch_code, "inspected_on": "2026-08-03", "report_no": f"ZZJC-2026-{next(_serial):04d}",
            "items": [item(), item(name="克百威", method="速测 (NY/T 448)", value="阴性", limit="", unit="")],
            "verdict": "pass"}
    data.update(overrides)
    return data


def make_inspection(session, user, batch, **overrides):
    from traceapp.records.inspections import record_inspection

    return record_inspection(session, inspection_data(batch.code, **overrides), user=user)


def certification_data(holder_id: int, **overrides) -> dict:
    data = {"kind": "green_food", "number": f"GF4302252{next(_serial):05d}", "holder": holder_id,
            "products": ["黄桃"], "valid_from": "2026-03-01", "valid_to": "2029-02-28"}
    data.update(overrides)
    return data


def make_certification(session, user, holder_id: int, **overrides):
    from traceapp.records.certifications import issue_certification

    return issue_certification(session, certification_data(holder_id, **overrides), user=user)


def compliance_data(**overrides) -> dict:
    data = {"basis": "quality_control", "quantity": "100", "issued_on": "2026-08-05", "contact": "0731-62200000"}
    data.update(overrides)
    return data


def make_compliance(session, user, batch, **overrides):
    from traceapp.records.compliance import issue_compliance_certificate

    return issue_compliance_certificate(session, batch, compliance_data(**overrides), user=user)


def make_world(session):
    """Two producer organizations, an inspection body and a certification body, each with a user (plus an
    admin and a regulator), as a dict of name -> User and name + "_org" -> Organization. The users have no
    password (hashing one takes a tenth of a second); give them API tokens."""
    world = {}
    for name, role, kind in (("producer", "producer", "cooperative"), ("rival", "producer", "enterprise"),
                             ("inspector", "inspector", "inspection_body"),
                             ("certifier", "certifier", "certification_body")):
        org = make_org(session, kind=kind, name=f"{name}组织")
        world[f"{name}_org"] = org
        world[name] = make_user(session, role, org.id, password=None)
    world["admin"] = make_user(session, "admin", password=None)
    world["regulator"] = make_user(session, "regulator", password=None)
    return world


def count(model) -> int:
    """Return how many rows ``model`` has, read in a new session (inside an app context)."""
    from sqlalchemy import func, select

    from traceapp import db

    with db.database().sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def projection_differences() -> list[str]:
    """Return ``differences`` read in a new session (inside an app context)."""
    from traceapp import db
    from traceapp.records.consistency import differences

    with db.database().sessions() as s:
        return differences(s)


def fetch(model, key):
    """Return the row ``model`` has under ``key``, read in a new session (inside an app context)."""
    from traceapp import db

    with db.database().sessions() as s:
        return s.get(model, key)


def make_brand_owner(session, name: str = "炎陵县黄桃产业协会"):
    """Return a brand-owner organization and its brand manager (no password)."""
    org = make_org(session, kind="brand_owner", name=name)
    return org, make_user(session, "brand_manager", org.id, password=None)


def brand_data(**overrides) -> dict:
    data = {"name": "炎陵黄桃", "aliases": ["炎陵锦绣黄桃"], "category": "fruit", "level": "county",
            "area": ["430225"], "products": ["黄桃", "黄桃罐头"], "gi_number": "AGI2017-01-2058",
            "standard": "DB43/T 1166", "description": "罗霄山脉中段的高山黄桃。"}
    data.update(overrides)
    return data


def make_brand(session, user, **overrides):
    from traceapp.brands.services import register_brand

    return register_brand(session, brand_data(**overrides), user=user)


def license_data(licensee_id: int, **overrides) -> dict:
    data = {"licensee": licensee_id, "products": ["黄桃"], "valid_from": "2026-01-01", "valid_to": "2026-12-31",
            "quantity": "50000", "unit": "kg", "bases": ["鹿原镇九龙村基地"]}
    data.update(overrides)
    return data


def make_license(session, user, brand, licensee_id: int, **overrides):
    from traceapp.brands.services import grant_license

    return grant_license(session, brand, license_data(licensee_id, **overrides), user=user)


def brand_projection_differences() -> list[str]:
    """Return the brand and licence rows' differences from the ledger, read in a new session (inside an app
    context); ``projection_differences`` covers the records tables only."""
    from traceapp import db
    from traceapp.brands.projections import CHECKS

    with db.database().sessions() as s:
        return [line for check in CHECKS for line in check(s)]


def make_printed_pages(app) -> dict:
    """In a demo app: a batch of luyuan's with a 合格证 and a printed label sheet, and another demo batch.
    Returns the codes and ids their pages take: {code, cert, print, plain}."""
    from sqlalchemy import select

    from traceapp import db
    from traceapp.auth.models import User
    from traceapp.records.label_sheets import print_labels
    from traceapp.records.models import Batch

    with app.app_context(), db.write_session() as s:
        user = s.scalar(select(User).where(User.username == "luyuan"))
        batch = make_batch(s, user, quantity="1000")
        s.flush()
        cert = make_compliance(s, user, batch)
        sheet = print_labels(s, batch, {"labels": 30, "package_quantity": "5", "layout": "a4-24"}, user=user)
        s.flush()
        plain = s.scalar(select(Batch.code).where(Batch.code != batch.code).order_by(Batch.id))
        return {"code": batch.code, "cert": cert.code, "print": sheet.id, "plain": plain}

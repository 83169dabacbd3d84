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


def make_user(session, role: str = "producer", org_id: int | None = None, name: str | None = None):
    from traceapp.auth.services import create_user

    return create_user(session, name or f"user{next(_serial)}", role, org_id, "password-123")


def batch_data(**overrides) -> dict:
    data = {"product": "黄桃", "category": "fruit", "brand": "yanling-huangtao", "quantity": "1200.5", "unit": "kg",
            "harvest_date": "2026-08-01", "pack_date": "2026-08-02", "origin_region": "430225",
            "base": "鹿原镇九龙村基地"}
    data.update(overrides)
    return data


def make_batch(session, user, **overrides):
    return services.register_batch(session, batch_data(**overrides), user=user)

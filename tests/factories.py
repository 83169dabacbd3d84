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

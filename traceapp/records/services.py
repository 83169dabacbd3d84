"""Writes for organizations (batches, inspections and certificates follow): validate,
change the projection, append the ledger entry, never commit (the caller owns the
transaction)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.errors import Conflict, NotFound
from traceapp.i18n import gettext as _
from traceapp.ledger.store import ledger_of
from traceapp.records import regions
from traceapp.records.models import ORG_KINDS, USCC_OPTIONAL_KINDS, Organization
from traceapp.records.uscc import validate_uscc
from traceapp.validation import Fields


def register_organization(session: Session, data: dict, *, actor: dict, demo: bool = False) -> Organization:
    """Register an organization and append ``org.registered``.

    Raises InvalidInput naming each bad field, Conflict when the USCC is already registered.
    """
    f = Fields(data)
    name = f.text("name")
    kind = f.choice("kind", ORG_KINDS)
    region = f.pattern("region", r"\d{6}", _("region 必须是 6 位行政区划代码（GB/T 2260）。"))
    if region and not regions.is_valid(region):
        f.fail("region", _("region %(code)s 不是已知的行政区划代码（数据版本 %(version)s）。",
                           code=region, version=regions.DATA_VERSION))
    uscc = f.text("uscc", required=False, max_length=18).upper() or None
    if uscc is None and kind and kind not in USCC_OPTIONAL_KINDS:
        f.fail("uscc", _("uscc（统一社会信用代码）对 %(kind)s 是必填项；只有家庭农场和个人可以不填。", kind=kind))
    if uscc is not None:
        try:
            validate_uscc(uscc)
        except ValueError:
            f.fail("uscc", _("uscc %(code)s 不是有效的统一社会信用代码（18 位，按 GB 32100 校验）。", code=uscc))
    address = f.text("address", required=False, max_length=300)
    contact = f.text("contact", required=False, max_length=200)
    f.check()
    if uscc and session.execute(select(Organization.id).where(Organization.uscc == uscc)).first():
        raise Conflict(_("统一社会信用代码 %(code)s 已经登记过。", code=uscc), {"uscc": "duplicate"})
    org = Organization(name=name, kind=kind, uscc=uscc, region=region, address=address, contact=contact,
                       demo=demo, ledger_seq=-1)
    session.add(org)
    session.flush()
    entry = ledger_of(session).append(session, "org.registered", actor, f"org:{org.id}", org_record(org))
    org.ledger_seq = entry.seq
    return org


def org_record(org: Organization) -> dict:
    """Return the fields of an organization as they go into its ledger entry."""
    return {"name": org.name, "kind": org.kind, "uscc": org.uscc, "region": org.region,
            "address": org.address, "contact": org.contact, "demo": org.demo}


def get_organization(session: Session, org_id: int) -> Organization:
    """Return the organization or raise NotFound."""
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound(_("没有编号为 %(id)s 的组织。", id=org_id))
    return org

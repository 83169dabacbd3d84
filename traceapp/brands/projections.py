"""Re-deriving the brand and licence tables from the ledger, for ``ledger verify``."""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.brands.attachments import DECISIONS, attachment_record
from traceapp.brands.models import Brand, BrandAttachment, License
from traceapp.brands.services import brand_record, license_record
from traceapp.records.projections import compare, entries


def brand_differences(session: Session) -> Iterator[str]:
    """Yield a sentence for each brand row that differs from its registration, changes and retirement."""
    expected = {e["subject"].removeprefix("brand:"): (seq, dict(e["data"]))
                for seq, e in entries(session, "brand.registered")}
    # In ledger order, the last word wins: changes, accepted attachments (the brand takes the parent)
    # and detachments (it has none) all set the parent.
    moves = heapq.merge(entries(session, "brand.changed"), entries(session, "brand.attachment_accepted"),
                        entries(session, "brand.detached"), key=lambda pair: pair[0])
    for _seq, entry in moves:
        if entry["kind"] == "brand.attachment_accepted":
            slug, change = entry["data"]["brand"], {"parent": entry["data"]["parent"]}
        else:
            slug = entry["subject"].removeprefix("brand:")
            change = entry["data"]["changes"] if entry["kind"] == "brand.changed" else {"parent": None}
        if slug in expected:
            expected[slug][1].update(change)
    for _seq, data in expected.values():
        if not data.get("qr_digital_link", True):  # switched off again: recorded rows leave the flag out
            del data["qr_digital_link"]
    for _seq, entry in entries(session, "brand.retired"):
        slug = entry["subject"].removeprefix("brand:")
        if slug in expected:
            expected[slug][1]["retired_on"] = entry["data"]["retired_on"]
    rows = {b.slug: b for b in session.scalars(select(Brand))}
    by_id = {b.id: b for b in rows.values()}

    def record(row: Brand) -> dict:
        data = brand_record(row, by_id.get(row.parent_id))
        if row.retired_on is not None:
            data["retired_on"] = row.retired_on.isoformat()
        return data

    yield from compare("brands", expected, rows, record, lambda row: row.ledger_seq)


def license_differences(session: Session) -> Iterator[str]:
    """Yield a sentence for each licence row that differs from its grant and revocation entries."""
    brands = {b.id: b for b in session.scalars(select(Brand))}
    expected = {int(e["subject"].removeprefix("license:")): (seq, dict(e["data"]))
                for seq, e in entries(session, "brand.licensed")}
    for seq, entry in entries(session, "brand.license_revoked"):
        license_id = int(entry["subject"].removeprefix("license:"))
        if license_id in expected:
            expected[license_id][1]["revoked"] = {**entry["data"], "seq": seq}
    rows = {lic.id: lic for lic in session.scalars(select(License))}

    def record(row: License) -> dict:
        data = license_record(row, brands[row.brand_id])
        if row.revoked_on is not None:
            data["revoked"] = {"revoked_on": row.revoked_on.isoformat(), "reason": row.revoke_reason,
                               "seq": row.revoke_seq}
        return data

    yield from compare("licenses", expected, rows, record, lambda row: row.ledger_seq)


def attachment_differences(session: Session) -> Iterator[str]:
    """Yield a sentence for each sub-brand request row that differs from its request and decision entries."""
    expected = {int(e["subject"].removeprefix("brand_attachment:")): (seq, {**e["data"], "state": "pending"})
                for seq, e in entries(session, "brand.attachment_requested")}
    for state, kind in DECISIONS.items():
        for seq, entry in entries(session, kind):
            attachment_id = int(entry["subject"].removeprefix("brand_attachment:"))
            if attachment_id in expected:
                expected[attachment_id][1].update(state=state, decided_on=entry["data"][f"{state}_on"],
                                                  reason=entry["data"].get("reason"), decision_seq=seq)
    slugs = dict(session.execute(select(Brand.id, Brand.slug)).all())
    rows = {row.id: row for row in session.scalars(select(BrandAttachment))}

    def record(row: BrandAttachment) -> dict:
        return attachment_record(row, slugs.get(row.brand_id), slugs.get(row.parent_id))

    yield from compare("brand_attachments", expected, rows, record, lambda row: row.ledger_seq)


CHECKS = (brand_differences, license_differences, attachment_differences)

"""Re-deriving the brand and licence tables from the ledger, for ``ledger verify``."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.brands.models import Brand, License
from traceapp.brands.services import brand_record, license_record
from traceapp.records.projections import compare, entries


def brand_differences(session: Session) -> Iterator[str]:
    """Yield a sentence for each brand row that differs from its registration, changes and retirement."""
    expected = {e["subject"].removeprefix("brand:"): (seq, dict(e["data"]))
                for seq, e in entries(session, "brand.registered")}
    for _seq, entry in entries(session, "brand.changed"):  # in ledger order: the last change wins
        slug = entry["subject"].removeprefix("brand:")
        if slug in expected:
            expected[slug][1].update(entry["data"]["changes"])
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


CHECKS = (brand_differences, license_differences)

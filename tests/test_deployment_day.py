"""A record ended "today" is dated by the deployment's clock (TRACEAPP_TIMEZONE), not the server's.
Kiritimati (UTC+14) and Pago Pago (UTC-11) are always on different dates, so whatever the machine's
own zone and time, at least one of them differs from the server's date. SQLite and PostgreSQL."""

from __future__ import annotations

from tests.factories import (
    make_batch,
    make_brand,
    make_brand_owner,
    make_certification,
    make_compliance,
    make_license,
    make_world,
)
from traceapp import clock, db
from traceapp.brands.services import revoke_license
from traceapp.records.certifications import revoke_certification
from traceapp.records.compliance import void_compliance_certificate

ZONES = ("Pacific/Kiritimati", "Pacific/Pago_Pago")


def test_voided_and_revoked_records_carry_the_deployments_date(database_url, tmp_path):
    from tests.conftest import close_app, new_app

    for zone in ZONES:
        app = new_app(database_url, tmp_path / zone.replace("/", "-"), TRACEAPP_TIMEZONE=zone)
        try:
            app.test_cli_runner().invoke(args=["db", "upgrade"])
            with app.app_context(), db.write_session() as s:
                world = make_world(s)
                producer_org = world["producer_org"]
                batch = make_batch(s, world["producer"], quantity="1000")
                compliance = make_compliance(s, world["producer"], batch)
                cert = make_certification(s, world["certifier"], producer_org.id)
                _owner, manager = make_brand_owner(s, name=f"{zone}品牌协会")
                brand = make_brand(s, manager, slug=f"brand-{zone.split('/')[1].lower().replace('_', '-')}")
                licence = make_license(s, manager, brand, producer_org.id)
                reason = {"reason": "测试"}
                void_compliance_certificate(s, compliance, reason, user=world["producer"])
                revoke_certification(s, cert.id, reason, user=world["certifier"])
                revoke_license(s, brand, licence, reason, user=manager)
                today = clock.today()
                ended = {"voided_on": compliance.voided_on, "cert revoked_on": cert.revoked_on,
                         "licence revoked_on": licence.revoked_on}
            assert ended == dict.fromkeys(ended, today), (zone, today, ended)
        finally:
            close_app(app)


def test_a_ledger_timestamp_is_shown_on_the_deployments_date():
    # Outside an app the deployment's zone is the default, Asia/Shanghai (UTC+8).
    assert clock.local_date("2026-12-06T23:30:00.000Z") == "2026-12-07"
    assert clock.local_date("2026-12-06T15:59:59.999Z") == "2026-12-06"

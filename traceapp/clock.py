"""Today's date where the deployment is: "not in the future" means by the clock of the people who
enter the dates (``TRACEAPP_TIMEZONE``, Asia/Shanghai by default), not by the server's."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "Asia/Shanghai"


def zone_named(name: str) -> ZoneInfo:
    """Return the IANA time zone ``name``; raise ValueError naming ``TRACEAPP_TIMEZONE`` when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"TRACEAPP_TIMEZONE {name!r} is not an IANA time zone such as Asia/Shanghai") from None


def deployment_zone() -> ZoneInfo:
    """Return the deployment's time zone (the app's ``TRACEAPP_TIMEZONE``; the default outside an app)."""
    name = current_app.config.get("TRACEAPP_TIMEZONE") if has_app_context() else None
    return zone_named(name or DEFAULT_TIMEZONE)


def today() -> date:
    """Return today's date in the deployment's time zone."""
    return datetime.now(deployment_zone()).date()


def local_date(timestamp: str) -> str:
    """Return the deployment's date (YYYY-MM-DD) of a ledger timestamp (UTC RFC 3339 with ``Z``): an
    entry written at 23:30 UTC happened the next day in Asia/Shanghai."""
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return moment.astimezone(deployment_zone()).date().isoformat()

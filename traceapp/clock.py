"""Dates and times where the deployment is (``TRACEAPP_TIMEZONE``, Asia/Shanghai by default), not
the server's: "not in the future" means by the clock of the people who enter the dates, and every time
a person reads is shown in that zone, with its UTC offset once ("2026-08-05 14:03 (UTC+8)"), while
the database and the ledger keep UTC.

``local_time`` is the one way a time is written for people (pages, PDFs, exports, messages);
templates reach it as the ``local_time`` filter, and ``local_date`` as the ``local_date`` filter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
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


def local_date(timestamp: datetime | str | None, *, zone: tzinfo | None = None) -> str:
    """Return the deployment's date (YYYY-MM-DD) of a ledger timestamp (UTC RFC 3339 with ``Z``) or a
    stored UTC time: an entry written at 23:30 UTC happened the next day in Asia/Shanghai. "" for None."""
    if timestamp is None or timestamp == "":
        return ""
    return as_utc(timestamp).astimezone(zone or deployment_zone()).date().isoformat()


def as_utc(moment: datetime | str) -> datetime:
    """Return ``moment`` as an aware UTC datetime: a naive datetime is a stored UTC time, a string is
    RFC 3339 (a ledger ``ts`` ending in ``Z``, or with an offset)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def offset_label(offset: timedelta | None) -> str:
    """Return a UTC offset as people read it: "UTC+8", "UTC-11", "UTC+5:30", "UTC"."""
    offset = offset or timedelta(0)
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds()) // 60
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes > 0 else '-'}{hours}" + (f":{rest:02d}" if rest else "")


def local_time(moment: datetime | str | None, *, seconds: bool = False, zone: tzinfo | None = None) -> str:
    """Return ``moment`` (naive UTC, aware, or RFC 3339 text) in the deployment's zone as
    ``YYYY-MM-DD HH:MM (UTC+8)`` (``:SS`` too with ``seconds``); "" for None. ``zone`` serves callers
    outside an app context (a streamed export)."""
    if moment is None or moment == "":
        return ""
    local = as_utc(moment).astimezone(zone or deployment_zone())
    return f"{local:%Y-%m-%d %H:%M{':%S' if seconds else ''}} ({offset_label(local.utcoffset())})"


def local_iso(moment: datetime | str, *, zone: tzinfo | None = None) -> str:
    """Return ``moment`` in the deployment's zone as ISO 8601 with its offset ("2026-08-05T14:03:00+08:00"),
    for machine columns."""
    return as_utc(moment).astimezone(zone or deployment_zone()).isoformat(timespec="seconds")

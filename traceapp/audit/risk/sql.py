"""The few SQL expressions that SQLite and PostgreSQL spell differently, for the risk rules: days
between two dates, a time some seconds earlier, and whether a JSON list of strings holds a value."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, Interval, exists, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql import cast


def days_between(dialect: str, earlier, later) -> ColumnElement:
    """Return ``later - earlier`` in whole days, for two DATE columns."""
    if dialect == "sqlite":  # dates are ISO text: julianday() makes them numbers
        return func.julianday(later) - func.julianday(earlier)
    return later - earlier  # PostgreSQL: date - date is an integer of days


def seconds_before(dialect: str, moment, seconds: float) -> ColumnElement:
    """Return the time ``seconds`` before the DATETIME column ``moment``."""
    if dialect == "sqlite":
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff'; %f gives 'SS.SSS', which compares as text to the millisecond.
        return func.strftime("%Y-%m-%d %H:%M:%f", moment, f"-{float(seconds)} seconds")
    return moment - literal(timedelta(seconds=seconds), Interval())


def json_list_has(dialect: str, json_list, value) -> ColumnElement:
    """Return whether the JSON array of strings ``json_list`` holds ``value`` (a column or a value)."""
    if dialect == "sqlite":
        item = func.json_each(json_list).table_valued("value")
        return exists(select(1).select_from(item).where(item.c.value == value))
    return cast(json_list, JSONB).op("?")(value)

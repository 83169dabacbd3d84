"""How record values are written and recognized, shared by every records and brands module: a
quantity as the ledger's decimal string, and what can be a row id."""

from __future__ import annotations

from decimal import Decimal

MAX_ROW_ID = 2**31 - 1  # ids are 32-bit integers in every database we support


def is_row_id(value) -> bool:
    """Return whether ``value`` can be a row id (so a huge number is "not found", not a database error)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ROW_ID


def quantity_text(amount: Decimal) -> str:
    """Return a quantity as the decimal string the ledger records ("1250.5", "100")."""
    return format(amount.normalize(), "f")

"""How a quantity is written for people, the same in pages, PDFs and exports: thousands separators and
no trailing zeros ("850.5", "1,630", "30,000"). The ledger and machine columns keep the plain decimal
string (:func:`traceapp.records.values.quantity_text`)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def format_quantity(amount: Decimal | int | str | None) -> str:
    """Return ``amount`` with thousands separators and without trailing zeros ("1,250.5"); "" for None.
    Text that is not a number comes back as it is (a page never fails on an odd stored value)."""
    if amount is None or amount == "":
        return ""
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    if not value.is_finite():
        return str(amount)
    # normalize() turns 30000 into 3E+4; formatting with "f" writes it out again, exactly.
    return format(value.normalize(), ",f")

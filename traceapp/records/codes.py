"""Batch codes and GS1 identifiers.

A batch code is 13 characters from a 29-character alphabet with no look-alikes (no 0/O,
1/I/L, U/V): 63 random bits, upper-case alphanumeric so that QR codes use their
compact alphanumeric mode, and read case-insensitively.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"  # 29 characters: digits 2-9, letters but I L O U V
CODE_LENGTH = 13  # 29**13 ≈ 2**63
_CODE = re.compile(rf"[{ALPHABET}]{{{CODE_LENGTH}}}")
LOT_FORBIDDEN = set("%&/<>?")


def new_code() -> str:
    """Return a fresh random batch code."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str | None:
    """Return the canonical (upper-case) form of a batch code, or None if it cannot be one."""
    code = text.strip().upper()
    return code if _CODE.fullmatch(code) else None


def gtin_check_digit(first13: str) -> str:
    """Return the GS1 mod-10 check digit for the first 13 digits of a GTIN-14."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(first13)))
    return str((10 - total % 10) % 10)


def is_valid_gtin14(gtin: str) -> bool:
    """Return whether ``gtin`` is 14 ASCII digits with a correct GS1 check digit."""
    return bool(re.fullmatch(r"[0-9]{14}", gtin)) and gtin_check_digit(gtin[:13]) == gtin[13]

"""The 统一社会信用代码 (unified social credit code) of GB 32100-2015.

18 characters from the 31-character set 0-9 A-H J-N P-R T U W-Y (no I, O, S, V, Z):
registration authority (1), organization category (1), administrative division (6, GB/T
2260), the organization code (9, GB 11714: eight characters and their own check
character), and a check character over the first 17 (weights 3^(i-1) mod 31).
"""

from __future__ import annotations

import re

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(CHARSET)}
_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_SHAPE = re.compile(rf"[{CHARSET}]{{2}}\d{{6}}[0-9A-Z]{{8}}[0-9X][{CHARSET}]")


def check_character(first17: str) -> str:
    """Return the GB 32100 check character of the first 17 characters of a code."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def org_code_check(first8: str) -> str:
    """Return the GB 11714 check character of an 8-character organization code body."""
    total = sum(int(c, 36) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def validate_uscc(code: str) -> None:
    """Raise ValueError naming the broken rule unless ``code`` is a valid USCC (upper case)."""
    if len(code) != 18:
        raise ValueError("a unified social credit code has 18 characters")
    if not _SHAPE.fullmatch(code):
        raise ValueError("characters outside the GB 32100 set or a non-numeric division code")
    if org_code_check(code[8:16]) != code[16]:
        raise ValueError("characters 9-17 are not an organization code with a valid GB 11714 check")
    if check_character(code[:17]) != code[17]:
        raise ValueError(f"the check character should be {check_character(code[:17])}")


def is_valid_uscc(code: str) -> bool:
    """Return whether ``code`` is a valid USCC."""
    try:
        validate_uscc(code)
    except ValueError:
        return False
    return True


def compose(prefix: str, org_body: str) -> str:
    """Return the valid code made of an 8-character prefix (authority, category, division)
    and an 8-character organization code body, adding both check characters."""
    first17 = prefix + org_body + org_code_check(org_body)
    return first17 + check_character(first17)

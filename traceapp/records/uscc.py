"""Check the 统一社会信用代码 (unified social credit code, USCC) of GB 32100-2015.

A code has 18 characters from a 31-character set: the digits and the capital letters
without I, O, S, V and Z. By position (counted from 1, as the standard does):

1      registration authority code (登记管理部门代码): 1-9, A, N or Y
2      organization category code (机构类别代码), which the authority defines
3-8    administrative division of the registration authority (GB/T 2260), 6 digits
9-17   subject identifier, i.e. the organization code of GB 11714-1997: an 8-character body
       and its own check character (0-9 or X, weights 3 7 9 10 5 8 4 2, modulus 11)
18     check character over the first 17 (weights 3^(i-1) mod 31, modulus 31)

The authority and category table is GB 32100-2015's (1 机构编制, 5 民政, 9 工商, Y 其他)
with the authorities assigned codes since (2 外交, 3 司法行政, 4 文化, 6 旅游, 7 宗教,
8 工会, A 中央军委改革和编制办公室, N 农业).

The division in positions 3-8 is only checked to be 6 digits, not looked up: a code
never changes, so it keeps the division its authority had when it was issued, which
may since have been abolished (500105 重庆市江北区, say), and central authorities use
100000.

Upper case is the only valid form: ``validate_uscc`` rejects lower-case letters with
their own message. Callers normalize input with ``.strip().upper()`` first, as
``records.services`` does.

Some codes issued in pilot regions before the standard (e.g. in Fujian, 9135...M...)
do not satisfy the check character; they fail here, as they fail the standard.
"""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_VALUE = {c: i for i, c in enumerate(CHARSET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 3^(i-1) mod 31 for positions i = 1..17
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714-1997

# Registration authority code -> (authority, {organization category code: category}).
AUTHORITIES: dict[str, tuple[str, dict[str, str]]] = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": ("司法行政", {"1": "律师执业机构", "2": "公证处", "3": "基层法律服务所", "4": "司法鉴定机构",
                   "5": "仲裁委员会", "9": "其他"}),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": ("旅游", {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"}),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": ("农业", {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"}),
    "Y": ("其他", {"1": "其他"}),
}


def _check_charset(text: str) -> None:
    for position, char in enumerate(text, start=1):
        if char not in _VALUE:
            raise ValueError(f"character {char!r} at position {position} is not in the GB 32100 character set "
                             "(digits and capital letters except I, O, S, V, Z)")


def check_character(first17: str) -> str:
    """Return the GB 32100 check character (position 18) for the first 17 characters of a code."""
    if len(first17) != 17:
        raise ValueError(f"the GB 32100 check character is computed over 17 characters, not {len(first17)}")
    _check_charset(first17)
    total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def org_code_check(body: str) -> str:
    """Return the GB 11714 check character (0-9 or X) of an 8-character organization code body."""
    if len(body) != 8 or not all("0" <= c <= "9" or "A" <= c <= "Z" for c in body):
        raise ValueError(f"a GB 11714 organization code body is 8 digits or capital letters, not {body!r}")
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def validate_uscc(code: str) -> None:
    """Raise ValueError naming the first GB 32100 rule that ``code`` breaks; return None if it is valid."""
    if not isinstance(code, str):
        raise ValueError(f"a unified social credit code is a string, not {type(code).__name__}")
    if len(code) != 18:
        raise ValueError(f"a unified social credit code has 18 characters, not {len(code)}")
    if code != code.upper():
        raise ValueError("a unified social credit code is written in capital letters; upper-case it first")
    _check_charset(code)
    authority, category = code[0], code[1]
    if authority not in AUTHORITIES:
        raise ValueError(f"registration authority code {authority!r} (position 1) is not one of "
                         f"{', '.join(AUTHORITIES)}")
    name, categories = AUTHORITIES[authority]
    if category not in categories:
        raise ValueError(f"organization category code {category!r} (position 2) is not defined for registration "
                         f"authority {authority} ({name}); expected one of {', '.join(categories)}")
    if not all("0" <= c <= "9" for c in code[2:8]):
        raise ValueError("the registration division code (positions 3-8) must be 6 digits (GB/T 2260)")
    expected_org = org_code_check(code[8:16])
    if code[16] != expected_org:
        raise ValueError(f"the organization code (positions 9-17) fails its GB 11714 check: position 17 should be "
                         f"{expected_org!r}, not {code[16]!r}")
    expected = check_character(code[:17])
    if code[17] != expected:
        raise ValueError(f"the GB 32100 check character (position 18) should be {expected!r}, not {code[17]!r}")


def is_valid_uscc(code: str) -> bool:
    """Return whether ``code`` is a valid unified social credit code (upper case only)."""
    try:
        validate_uscc(code)
    except ValueError:
        return False
    return True


def compose(prefix: str, org_body: str) -> str:
    """Return the valid code made of an 8-character prefix (authority, category, division) and an
    8-character organization code body, adding both check characters."""
    first17 = prefix + org_body + org_code_check(org_body)
    code = first17 + check_character(first17)
    validate_uscc(code)
    return code

"""统一社会信用代码 validation (GB 32100 with the GB 11714 organization code inside)."""

from __future__ import annotations

import pytest

from traceapp.records.uscc import check_character, is_valid_uscc, validate_uscc

# Published codes of two large companies (Huawei Technologies, Shenzhen Tencent Computer Systems).
REAL = ["914403001922038216", "91440300708461136T"]


@pytest.mark.parametrize("code", REAL)
def test_published_codes_are_valid(code):
    validate_uscc(code)


@pytest.mark.parametrize("code", REAL)
def test_changing_any_one_character_is_caught(code):
    for i in range(18):
        for replacement in "0123456789ABCDEFGHJKLMNPQRTUWXY":
            if replacement != code[i]:
                assert not is_valid_uscc(code[:i] + replacement + code[i + 1:]), (i, replacement)


def test_the_rule_is_named():
    with pytest.raises(ValueError, match="18 characters"):
        validate_uscc("91440300192203821")
    with pytest.raises(ValueError, match="should be .6., not .7."):
        validate_uscc("914403001922038217")
    with pytest.raises(ValueError, match="GB 11714"):
        body = "91440300192203831"
        validate_uscc(body + check_character(body))

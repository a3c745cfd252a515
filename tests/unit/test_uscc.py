"""统一社会信用代码 check character (GB 32100-2015), checked on published codes."""

from __future__ import annotations

import pytest

from lakehouse.uscc import is_valid


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L"])
def test_published_codes_are_valid(code: str) -> None:
    assert is_valid(code)


@pytest.mark.parametrize("code", ["91350100M000100Y44", "91110000600037341", "9111000060003734IL", "", None,
                                  "91110000600037341l"])
def test_wrong_check_length_or_alphabet_is_invalid(code: str | None) -> None:
    assert not is_valid(code)

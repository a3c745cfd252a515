"""Legal retirement dates and contribution floors as POLICY.md publishes them."""

from __future__ import annotations

import datetime as dt

import pytest

from lakehouse.synth.policy import Policy
from lakehouse.synth.settings import load_settings


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy(load_settings().policy)


@pytest.mark.parametrize(("birth", "sex", "scheme", "special", "expected"), [
    (dt.date(1964, 12, 5), 1, "110", False, dt.date(2025, 1, 1)),  # last man before the reform: 60
    (dt.date(1965, 1, 5), 1, "110", False, dt.date(2025, 3, 1)),   # +1 month
    (dt.date(1965, 5, 5), 1, "110", False, dt.date(2025, 8, 1)),   # +2 months
    (dt.date(1980, 1, 5), 1, "110", False, dt.date(2043, 2, 1)),   # capped at 63
    (dt.date(1974, 12, 5), 2, "110", False, dt.date(2025, 1, 1)),  # women at 50, before the reform
    (dt.date(1975, 3, 5), 2, "110", False, dt.date(2025, 6, 1)),   # +1 month per 2 months: +2
    (dt.date(1990, 1, 5), 2, "110", False, dt.date(2045, 2, 1)),   # capped at 55
    (dt.date(1970, 4, 5), 2, "120", False, dt.date(2025, 6, 1)),   # women at 55: +1 month
    (dt.date(1970, 4, 5), 1, "110", True, dt.date(2025, 5, 1)),    # special job: 55, not moved
    (dt.date(1968, 4, 5), 2, "170", False, dt.date(2028, 5, 1)),   # residents: 60 for women
])
def test_legal_retirement(policy: Policy, birth: dt.date, sex: int, scheme: str, special: bool,
                          expected: dt.date) -> None:
    assert policy.legal_retirement(birth, sex, scheme, special) == expected


def test_floors_by_year_and_region_with_nearest_year(policy: Policy) -> None:
    assert policy.floor(2025, "330102") == 4462
    assert policy.floor(2025, "330109") == 4200
    assert policy.floor(2026, "330381") == 4530  # other regions of the province: the 330109 column
    assert policy.floor(2030, "330102") == 4812  # nearest year
    assert policy.floor(2019, "330110") == 3960
    assert policy.ceiling(2025) == 24000


@pytest.mark.parametrize(("birth", "sex", "expected"), [
    (dt.date(1966, 5, 10), 1, dt.date(2026, 6, 1)),   # 60 in 2026-05 (110 would add 5 months)
    (dt.date(1970, 3, 15), 1, dt.date(2030, 4, 1)),
    (dt.date(1980, 1, 31), 1, dt.date(2040, 2, 1)),   # 110 would cap at 63
    (dt.date(1970, 3, 15), 2, dt.date(2030, 4, 1)),
    (dt.date(1980, 7, 1), 2, dt.date(2040, 8, 1)),
])
def test_reform_leaves_170_at_60(policy: Policy, birth: dt.date, sex: int, expected: dt.date) -> None:
    """POLICY.md: the 2025 reform moves 110 and 120 only; the generator must agree with the rule."""
    assert policy.legal_retirement(birth, sex, "170") == expected

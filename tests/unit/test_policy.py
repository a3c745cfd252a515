"""POLICY.md (v1) held as data in conf/policy.yaml: floors and legal retirement dates.

Every expected value below is worked out by hand from the text of POLICY.md, e.g. a man born
1966-05 is 17 birth months after 1964-12: +1 month per 4 started months = +5 months, so he
reaches 60 years 5 months in 2026-10 and retires from 2026-11-01.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lakehouse.policy import load_policy

MAN, WOMAN = "1", "2"


@pytest.mark.parametrize(("birth", "sex", "scheme", "special", "expected"), [
    # men 60, reform: born 1965-01 or later +1 month per 4 months of birth after 1964-12, max +36
    ("1964-12-15", MAN, "110", False, "2025-01-01"),   # last month before the reform: 60 → 2024-12
    ("1965-01-20", MAN, "110", False, "2025-03-01"),   # 1 month after → +1: 60y1m in 2025-02
    ("1965-04-02", MAN, "110", False, "2025-06-01"),   # 4 months after → still +1: 2025-05
    ("1965-05-02", MAN, "110", False, "2025-08-01"),   # 5 months after → +2: 2025-07
    ("1966-05-10", MAN, "110", False, "2026-11-01"),   # 17 months after → +5: 2026-10
    # 170 (城乡居民): the reform moves 110 and 120 only, so 60 whatever the birth year
    ("1966-05-10", MAN, "170", False, "2026-06-01"),   # 60 in 2026-05, not +5 months as under 110
    ("1970-03-15", MAN, "170", False, "2030-04-01"),   # 60 in 2030-03 (under 110: 2031-08-01, above)
    ("1980-01-31", MAN, "170", False, "2040-02-01"),   # 60 in 2040-01 (under 110: capped 63)
    ("1970-03-15", WOMAN, "170", False, "2030-04-01"),  # 60 in 2030-03
    ("1980-07-01", WOMAN, "170", False, "2040-08-01"),  # 60 in 2040-07
    ("1970-03-15", MAN, "110", False, "2031-08-01"),   # 63 months after → +16: 61y4m in 2031-07
    ("1976-12-01", MAN, "120", False, "2040-01-01"),   # 144 months after → +36: 63 in 2039-12
    ("1980-01-31", MAN, "110", False, "2043-02-01"),   # capped at +36: 63 in 2043-01
    # women 55 (120), reform: born 1970-01 or later +1 per 4 months, max +36
    ("1969-12-03", WOMAN, "120", False, "2025-01-01"),
    ("1970-01-03", WOMAN, "120", False, "2025-03-01"),  # +1: 55y1m in 2025-02
    ("1971-08-09", WOMAN, "120", False, "2027-02-01"),  # 20 months after 1969-12 → +5: 2027-01
    ("1985-06-09", WOMAN, "120", False, "2043-07-01"),  # 186 months → capped +36: 58 in 2043-06
    # women 50 (110), reform: born 1975-01 or later +1 per 2 months, max +60
    ("1974-12-28", WOMAN, "110", False, "2025-01-01"),
    ("1975-01-28", WOMAN, "110", False, "2025-03-01"),  # 1 month → +1: 2025-02
    ("1975-02-28", WOMAN, "110", False, "2025-04-01"),  # 2 months → +1: 2025-03
    ("1975-03-12", WOMAN, "110", False, "2025-06-01"),  # 3 months → +2: 2025-05
    ("1980-07-01", WOMAN, "110", False, "2033-06-01"),  # 67 months → +34: 52y10m in 2033-05
    ("1990-01-05", WOMAN, "110", False, "2045-02-01"),  # capped +60: 55 in 2045-01
    # women 60 under 170: no reform line moves them
    ("1968-04-05", WOMAN, "170", False, "2028-05-01"),
    ("1975-03-12", WOMAN, "170", False, "2035-04-01"),
    # special jobs: men 55, women 45, not moved by the reform
    ("1970-04-05", MAN, "110", True, "2025-05-01"),
    ("1980-07-01", WOMAN, "110", True, "2025-08-01"),
])
def test_legal_retirement_date(birth: str, sex: str, scheme: str, special: bool, expected: str) -> None:
    got = load_policy().legal_retirement_date(dt.date.fromisoformat(birth), sex, scheme, special)
    assert got == dt.date.fromisoformat(expected)


def test_two_schemes_take_the_lower_legal_age() -> None:
    policy = load_policy()
    # woman born 1975-03: 110 → 50 + 2 months (2025-06-01); 120 → 55 + 16 months (2031-08-01)
    assert policy.legal_retirement_date(dt.date(1975, 3, 12), WOMAN, "120") == dt.date(2031, 8, 1)
    assert policy.legal_retirement_date_any(dt.date(1975, 3, 12), WOMAN, ["120", "110"]) == dt.date(2025, 6, 1)
    # woman born 1968-04: 120 → 55 (2023-05-01); 170 → 60 (2028-05-01)
    assert policy.legal_retirement_date_any(dt.date(1968, 4, 5), WOMAN, ["170", "120"]) == dt.date(2023, 5, 1)
    assert policy.legal_retirement_date_any(dt.date(1968, 4, 5), WOMAN, []) is None


@pytest.mark.parametrize(("year", "region", "floor"), [
    (2024, "330102", 4200), (2024, "330109", 3960), (2025, "330106", 4462), (2025, "330110", 4200),
    (2026, "330108", 4812), (2026, "330109", 4530),
    (2026, "330381", 4530),   # other regions of the province use the 330109 column
    (2025, None, 4200),
    (2023, "330110", 3960),   # a missing year uses the nearest year's floors
    (2031, "330105", 4812),
])
def test_contribution_floor_by_year_and_region(year: int, region: str | None, floor: int) -> None:
    assert load_policy().floor(year, region) == Decimal(floor)


def test_ceilings_and_rates() -> None:
    policy = load_policy()
    assert [policy.ceiling(y) for y in (2024, 2025, 2026, 2027)] == [22300, 24000, 25500, 25500]
    assert (policy.employer_rate, policy.individual_rate) == (Decimal("0.16"), Decimal("0.08"))

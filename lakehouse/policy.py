"""POLICY.md as typed data and pure functions: contribution-base floors and legal retirement dates.

The parameters live in conf/policy.yaml and are validated on load; this module holds only the
arithmetic the policy text describes. No Spark here: the rules wrap these functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from lakehouse.config import load_conf

SEXES = ("1", "2")  # GB/T 2261.1 男, 女


def _month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


def _first_of_month(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class ReformStep:
    """One line of the 2025 gradual reform."""

    sex: str
    base_age: int
    born_from: int  # month index (year*12 + month-1) of the first birth month moved
    months_per_step: int
    max_months: int

    def delay(self, birth: dt.date) -> int:
        """Months added for a birth date (0 before `born_from`)."""
        born = _month_index(birth.year, birth.month)
        if born < self.born_from:
            return 0
        months_after = born - self.born_from + 1  # months of birth after the month before born_from
        return min(self.max_months, -(-months_after // self.months_per_step))  # ceiling division


@dataclass(frozen=True)
class Policy:
    """The published parameters of conf/policy.yaml."""

    floors: Mapping[int, Mapping[str, Decimal]]
    other_region: str
    ceilings: Mapping[int, Decimal]
    legal_age: Mapping[str, Mapping[str, int]]
    special_job_age: Mapping[str, int]
    reform: tuple[ReformStep, ...]
    reform_schemes: frozenset[str]  # schemes whose ages the reform moves (110, 120; not 170)
    employer_rate: Decimal
    individual_rate: Decimal

    @classmethod
    def from_conf(cls, raw: Mapping[str, Any]) -> Policy:
        """Parse and validate the `policy.yaml` structure; raises ValueError on a malformed table."""
        base, ret = raw["contribution_base"], raw["retirement"]
        if base.get("missing_year", "nearest") != "nearest":
            raise ValueError("policy.yaml: only missing_year: nearest is supported")
        floors = {int(y): {str(r): Decimal(str(v)) for r, v in row.items()} for y, row in base["floors"].items()}
        other = str(base["other_regions_use"])
        if not floors or any(other not in row for row in floors.values()):
            raise ValueError(f"policy.yaml: every floor year needs the {other} column")
        legal = {str(s): {str(k): int(v) for k, v in ages.items()} for s, ages in ret["legal_age"].items()}
        special = {str(k): int(v) for k, v in ret["special_job_age"].items()}
        if any(set(a) != set(SEXES) for a in [*legal.values(), special]):
            raise ValueError("policy.yaml: legal ages need both sexes '1' and '2'")
        steps = []
        for s in ret["reform"]["steps"]:
            year, month = (int(x) for x in str(s["born_from"]).split("-"))
            steps.append(ReformStep(str(s["sex"]), int(s["base_age"]), _month_index(year, month),
                                    int(s["months_per_step"]), int(s["max_months"])))
        reform_schemes = frozenset(str(s) for s in ret["reform"]["schemes"])
        if not reform_schemes <= set(legal):
            raise ValueError(f"policy.yaml: reform schemes {sorted(reform_schemes - set(legal))} have no legal age")
        if ret.get("several_schemes", "lower_age") != "lower_age":
            raise ValueError("policy.yaml: only several_schemes: lower_age is supported")
        rates = raw["contribution_rates"]
        return cls(floors, other, {int(y): Decimal(str(v)) for y, v in base["ceilings"].items()}, legal, special,
                   tuple(steps), reform_schemes, Decimal(str(rates["employer"])), Decimal(str(rates["individual"])))

    # -- contribution base ---------------------------------------------------------------
    @staticmethod
    def _nearest(years: Iterable[int], year: int) -> int:
        """The table year to use: the year itself, else the nearest (the earlier one on a tie)."""
        return min(years, key=lambda y: (abs(y - year), y))

    def floor(self, year: int, region: str | None) -> Decimal:
        """缴费基数下限 for the calendar year of 费款所属期 and a region (unknown → 330109 column)."""
        row = self.floors[self._nearest(self.floors, year)]
        return row.get(region or "", row[self.other_region])

    def ceiling(self, year: int) -> Decimal:
        """缴费基数上限 (all regions) for a year."""
        return self.ceilings[self._nearest(self.ceilings, year)]

    # -- retirement ----------------------------------------------------------------------
    def base_age(self, sex: str, scheme: str, special_job: bool) -> int:
        """Legal age in years before the reform."""
        return self.special_job_age[sex] if special_job else self.legal_age[scheme][sex]

    def delay_months(self, birth: dt.date, sex: str, scheme: str, special_job: bool) -> int:
        """Months added by the 2025 reform (special jobs and schemes outside `reform_schemes` are not moved)."""
        if special_job or scheme not in self.reform_schemes:
            return 0
        age = self.base_age(sex, scheme, special_job)
        return max((s.delay(birth) for s in self.reform if s.sex == sex and s.base_age == age), default=0)

    def legal_retirement_date(self, birth: dt.date, sex: str, scheme: str, special_job: bool = False) -> dt.date:
        """First day of the month after the month in which the person reaches the legal age."""
        months = self.base_age(sex, scheme, special_job) * 12 + self.delay_months(birth, sex, scheme, special_job)
        return _first_of_month(_month_index(birth.year, birth.month) + months + 1)

    def legal_retirement_date_any(self, birth: dt.date, sex: str, schemes: Iterable[str],
                                  special_job: bool = False) -> dt.date | None:
        """With several schemes the lower legal age applies: the earliest legal date (None: no scheme known)."""
        dates = [self.legal_retirement_date(birth, sex, s, special_job) for s in set(schemes) if s in self.legal_age]
        return min(dates) if dates else None


@cache
def load_policy() -> Policy:
    """conf/policy.yaml, parsed once per process."""
    return Policy.from_conf(load_conf("policy.yaml"))

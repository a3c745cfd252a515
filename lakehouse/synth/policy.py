"""POLICY.md as functions: legal retirement dates (incl. the 2025 reform) and base floors."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from lakehouse.synth.timeline import add_months, month_index


@dataclass(frozen=True)
class ReformStep:
    """One line of the gradual reform: who it moves and by how much."""

    sex: int
    base_age: int
    born_from: int  # month index of the first birth month concerned
    months_per_step: int
    max_months: int


class Policy:
    """Published parameters read from the `policy` section of conf/synth.yaml."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.floors = {int(y): {str(r): float(v) for r, v in regions.items()} for y, regions in raw["floors"].items()}
        self.ceilings = {int(y): float(v) for y, v in raw["ceilings"].items()}
        self.other_region = str(raw["other_region_column"])
        self.legal_age = {str(s): (int(a["men"]), int(a["women"])) for s, a in raw["legal_age"].items()}
        self.special_age = (int(raw["special_job_age"]["men"]), int(raw["special_job_age"]["women"]))
        self.reform = [
            ReformStep(int(r["sex"]), int(r["base_age"]),
                       month_index(dt.date.fromisoformat(str(r["born_from"]) + "-01")),
                       int(r["months_per_step"]), int(r["max_months"]))
            for r in raw["reform"]
        ]
        # the reform moves the employee schemes only: 城乡居民 (170) stays at 60 whatever the birth
        self.reform_schemes = frozenset(str(s) for s in raw["reform_schemes"])
        self.employer_rate = float(raw["contribution_rates"]["employer"])
        self.individual_rate = float(raw["contribution_rates"]["individual"])

    def _year(self, table: dict[int, Any], year: int) -> int:
        """A year missing from a table uses the nearest year's values."""
        return min(table, key=lambda y: (abs(y - year), y))

    def floor(self, year: int, region: str) -> float:
        """Contribution-base floor for the year of 费款所属期 and the employer's region."""
        row = self.floors[self._year(self.floors, year)]
        return row.get(region, row[self.other_region])

    def ceiling(self, year: int) -> float:
        """Contribution-base ceiling (all regions)."""
        return self.ceilings[self._year(self.ceilings, year)]

    def base_age(self, sex: int, scheme: str, special_job: bool) -> int:
        """Legal age in years before the reform."""
        if special_job:
            return self.special_age[0 if sex == 1 else 1]
        men, women = self.legal_age[scheme]
        return men if sex == 1 else women

    def delay_months(self, birth: dt.date, sex: int, age: int, special_job: bool, scheme: str) -> int:
        """Months added by the 2025 reform (special jobs and 170 are not moved)."""
        if special_job or scheme not in self.reform_schemes:
            return 0
        born = month_index(birth)
        for step in self.reform:
            if step.sex == sex and step.base_age == age and born >= step.born_from:
                months_after = born - step.born_from + 1
                return min(step.max_months, math.ceil(months_after / step.months_per_step))
        return 0

    def legal_retirement(self, birth: dt.date, sex: int, scheme: str, special_job: bool = False) -> dt.date:
        """First day of the month after the month the person reaches the legal age."""
        age = self.base_age(sex, scheme, special_job)
        months = age * 12 + self.delay_months(birth, sex, age, special_job, scheme)
        return add_months(birth.replace(day=1), months + 1)

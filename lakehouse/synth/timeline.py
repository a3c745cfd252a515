"""Dates of the generated city: extract nights, history windows and month arithmetic."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lakehouse.synth.settings import SOURCES, Settings

ONE_DAY = dt.timedelta(days=1)


def month_index(day: dt.date) -> int:
    """Months since year 0: a sortable integer for a calendar month."""
    return day.year * 12 + day.month - 1


def month_start(index: int) -> dt.date:
    """First day of the month with this index."""
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(index: int) -> dt.date:
    """Last day of the month with this index."""
    return month_start(index + 1) - ONE_DAY


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day-of-month `months` later, clamped to the month's end."""
    index = month_index(day) + months
    return min(day.replace(year=index // 12, month=index % 12 + 1, day=1) + dt.timedelta(days=day.day - 1),
               month_end(index))


def yyyymm(index: int) -> str:
    """YYYYMM text of a month index."""
    return f"{index // 12:04d}{index % 12 + 1:02d}"


@dataclass(frozen=True)
class Timeline:
    """The nights of a generated city and the history each source's initial load covers.

    Night 0 is the initial load (extract date `start`); night i > 0 delivers the business
    day before its extract date. Events are simulated up to `sim_end`, the last day any
    window covers.
    """

    start: dt.date
    days: int
    history: dict[str, dt.date]

    @classmethod
    def build(cls, start: dt.date, days: int, settings: Settings) -> Timeline:
        """Timeline of `days` extract nights from `start`."""
        if days < 1:
            raise ValueError("a city needs at least one extract night (days >= 1)")
        return cls(start, days, {s: settings.history_from(s, start) for s in SOURCES})

    @property
    def nights(self) -> list[dt.date]:
        """Extract dates, night 0 first."""
        return [self.start + dt.timedelta(days=i) for i in range(self.days)]

    @property
    def sim_end(self) -> dt.date:
        """Last business day covered by a window."""
        return self.start + dt.timedelta(days=self.days - 2)

    @property
    def obs_from(self) -> dt.date:
        """Earliest day any source reports."""
        return min(self.history.values())

    def night_of(self, day: dt.date) -> int:
        """The night that normally delivers an event of `day` (0 for the history)."""
        return max(0, (day - self.start).days + 1)

    def extract_date(self, night: int) -> dt.date:
        """Extract date of a night."""
        return self.start + dt.timedelta(days=night)

    def window(self, source: str, night: int) -> tuple[dt.date, dt.date]:
        """Business days a delivery of `source` covers."""
        to = self.extract_date(night) - ONE_DAY
        return (self.history[source] if night == 0 else to), to

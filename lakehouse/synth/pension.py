"""`pension` — the legacy 养老保险 system: GBK CSV with data-dictionary headers.

Registries ab01 (employers), ac01 (persons), ac20 (enrolments); events ac43
(contributions, monthly) and ic80 (payments, on `payment_day` of every month).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from lakehouse.synth.context import Context, Rows, write_csv_files
from lakehouse.synth.lifecourse import CODE_MIGRATION, RESIDENT_SCHEME_START
from lakehouse.synth.manifest import FileEntry
from lakehouse.synth.population import Person
from lakehouse.synth.rng import unit
from lakehouse.synth.schedule import Delivery
from lakehouse.synth.tables import EventTable
from lakehouse.synth.timeline import month_index, month_start, yyyymm

SOURCE = "pension"
COLUMNS = {
    "ab01_employer.csv": ("AAB001", "AAB004", "AAB019", "AAB301", "AAB998"),
    "ac01_person.csv": ("AAC001", "AAC002", "AAC003", "AAC004", "AAC006", "AAB301", "AAC084", "AIC162", "AAC058"),
    "ac20_enrollment.csv": ("AAC001", "AAB001", "AAE140", "AAC031", "AAE030", "AAE031"),
    "ac43_contribution.csv": ("AAC001", "AAB001", "AAE140", "AAE002", "AAE180", "AAE020", "AAE022", "AAE036"),
    "ic80_payment.csv": ("AAC001", "AAE140", "AAE002", "AAE019", "AAE010", "AAE008", "AAE036", "AAE117"),
}
EVENTS = ("ac43_contribution.csv", "ic80_payment.csv")
NEW_CODE = {"11": "110", "12": "120", "JG": "120", "17": "170", "110": "110", "120": "120", "170": "170"}


def ymd(day: dt.date | None) -> str:
    """YYYYMMDD, blank for None."""
    return "" if day is None else f"{day:%Y%m%d}"


def money(value: float) -> str:
    """Yuan with 2 decimals."""
    return f"{value:.2f}"


def last_paid_month(p: Person) -> int | None:
    """Last month the pension is paid: the month of death or emigration, unless planted otherwise."""
    if p.paid_through is not None:
        return p.paid_through
    ends = [month_index(d) for d in (p.death, p.cancelled_on if p.cancel_reason == "02" else None) if d]
    return min(ends) if ends else None


def pension_closed_on(p: Person) -> dt.date | None:
    """Day the pension office terminates the enrolment (first day after the last paid month)."""
    last = last_paid_month(p)
    return None if last is None else month_start(last + 1)


def contributions_end(p: Person) -> int | None:
    """Last contribution month: before retirement, death or leaving the city."""
    ends = [month_index(p.retired_on) - 1 if p.retired_on else None]
    ends += [month_index(d) - 1 for d in (p.death, p.cancelled_on) if d]
    valid = [e for e in ends if e is not None]
    return min(valid) if valid else None


def monthly_amount(base: float, start: dt.date, month: int, raise_rate: float) -> float:
    """A pension after the July raises since `start` (the 2024 level for earlier retirees)."""
    first = max(month_index(start), month_index(dt.date(2024, 1, 1)))
    raises = sum(1 for m in range(first + 1, month + 1) if m % 12 == 6)
    return round(base * (1 + raise_rate) ** raises, 2)


def scheme_code(p: Person, scheme: str) -> str:
    """The code a record of this person carries: old-system persons keep 11/12/17/JG."""
    return p.old_code if p.code_style == "old" and p.old_code and NEW_CODE[p.old_code] == scheme else scheme


class Pension:
    """Generator and writer of the `pension` source."""

    name = SOURCE

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.tables = {f: EventTable(SOURCE, f, COLUMNS[f]) for f in EVENTS}

    # -- events -----------------------------------------------------------------------
    def events(self) -> list[EventTable]:
        """Contributions and payments of the history and the generated nights."""
        for p in self.ctx.city.persons:
            if p.scheme is None:
                continue
            self._contributions(p)
            self._payments(p)
        return list(self.tables.values())

    def _months(self) -> tuple[int, int]:
        tl = self.ctx.city.timeline
        return month_index(tl.history[SOURCE]), month_index(tl.sim_end)

    def _contributions(self, p: Person) -> None:
        tl, policy = self.ctx.city.timeline, self.ctx.policy
        first, last = self._months()
        end = contributions_end(p)
        start = month_index(p.enrolled_on) if p.enrolled_on else first
        table = self.tables["ac43_contribution.csv"]
        if p.scheme == "170":
            pay_month = 9 + p.pid % 4  # residents pay once a year (Sep–Dec)
            for year in range(first // 12, last // 12 + 1):
                m = year * 12 + pay_month - 1
                if m < max(first, start) or (end is not None and m > end) or p.age_on(month_start(m)) >= 60:
                    continue
                day = month_start(m) + dt.timedelta(days=p.pid % 20)
                if day > tl.sim_end:
                    continue
                grades = self.ctx.settings.pension["resident_grades"]
                grade = float(grades[p.pid % len(grades)])
                table.add((p.aac001, "", scheme_code(p, "170"), yyyymm(m), money(grade), "0.00", money(grade), ymd(day)),
                          p.pid, day)
            return
        employer = self.ctx.city.employers[p.employer]  # type: ignore[index]
        growth = self.ctx.settings.pension["wage_growth"]
        for m in range(max(first, start), last + 1):
            if end is not None and m > end:
                break
            day = month_start(m) + dt.timedelta(days=employer.pay_day - 1)
            if day > tl.sim_end:
                break
            year = m // 12
            override = p.base_override.get(m) if p.base_override else None
            if override is not None:
                base = override
            else:
                wage = round(p.wage * (1 + growth) ** (year - 2024))
                base = min(max(wage, policy.floor(year, employer.region)), policy.ceiling(year))
            table.add((p.aac001, employer.aab001, scheme_code(p, p.scheme), yyyymm(m), money(base),  # type: ignore[arg-type]
                       money(base * policy.employer_rate), money(base * policy.individual_rate), ymd(day)),
                      p.pid, day, "r07" if override is not None else "")

    def _pay_row(self, p: Person, code: str, m: int, amount: float, status: str, tag: str = "") -> None:
        tl = self.ctx.city.timeline
        day = month_start(m) + dt.timedelta(days=int(self.ctx.settings.pension["payment_day"]) - 1)
        if day > tl.sim_end or day < tl.history[SOURCE]:
            return
        self.tables["ic80_payment.csv"].add(
            (p.aac001, code, yyyymm(m), money(amount), p.pay_acct, p.pay_bank, ymd(day), status), p.pid, day, tag)

    def _payments(self, p: Person) -> None:
        if p.retired_on is None:
            return
        seed, raise_rate = self.ctx.seed, self.ctx.settings.pension["yearly_raise"]
        first, last = self._months()
        stop = last_paid_month(p)
        begin = max(first, month_index(p.retired_on))
        end = last if stop is None else min(last, stop)
        double_rate = self.ctx.settings.pension["double_record_month_rate"]
        for m in range(begin, end + 1):
            amount = monthly_amount(p.pension, p.retired_on, m, raise_rate)
            code = scheme_code(p, p.scheme)  # type: ignore[arg-type]
            if not p.protected and unit(seed, "suspend", p.pid, m) < self.ctx.settings.pension["suspension_rate"]:
                self._pay_row(p, code, m, 0.0, "2")  # 暂停 for a month (certification pending)
                continue
            self._pay_row(p, code, m, amount, "1")
            double = m in p.double_months or (
                p.code_style == "both" and not p.protected and unit(seed, "double", p.pid, m) < double_rate)
            if double and p.old_code and p.old_code != code:
                # 新老二套系统: the same payment recorded again under the old code
                self._pay_row(p, p.old_code, m, amount, "1", "old_new_double")
                self.ctx.log.add("old_new_double_record", SOURCE, "ic80_payment.csv", f"{p.certno} {yyyymm(m)}",
                                 f"{p.old_code}+{p.scheme}")
        if stop is not None and stop < last and stop + 1 >= begin:
            self._pay_row(p, scheme_code(p, p.scheme), stop + 1, 0.0, "3")  # type: ignore[arg-type]
        if p.second_scheme is not None:
            code, since, amount = p.second_scheme
            for m in range(max(first, month_index(since)), end + 1):
                self._pay_row(p, code, m, amount, "1", "second_scheme")

    # -- registries ---------------------------------------------------------------------
    def snapshot(self, delivery: Delivery) -> dict[str, Rows]:
        """ab01, ac01 and ac20 as of the end of the window."""
        as_of = delivery.as_of
        ctx = self.ctx
        employers = [(e.aab001, e.name, e.kind, e.region, e.uscc) for e in ctx.city.employers]
        persons: Rows = []
        enrolments: Rows = []
        for p in ctx.city.persons:
            if p.scheme is None or p.enrolled_on is None or p.enrolled_on > as_of or p.birth > as_of:
                continue
            retired = p.retired_by(as_of)
            sex = ctx.sex(p, SOURCE, "ac01_person.csv", ("1", "2"), ("9",))
            persons.append((p.aac001, ctx.speller.certno(p, SOURCE, "ac01_person.csv"), p.name, sex, ymd(p.birth),
                            p.region, "1" if retired else "0", ymd(p.retired_on) if retired else "",
                            "1" if p.special_job else "0"))
            enrolments.extend(self._enrolments(p, as_of))
        return {"ab01_employer.csv": employers, "ac01_person.csv": persons, "ac20_enrollment.csv": enrolments}

    def _enrolments(self, p: Person, as_of: dt.date) -> Rows:
        employer = self.ctx.city.employers[p.employer].aab001 if p.employer is not None else ""
        closed = pension_closed_on(p)
        status, end_day = "1", ""
        if closed is not None and closed <= as_of:
            status, end_day = "3", ymd(closed - dt.timedelta(days=1))
        elif p.cancel_reason in ("03", "04") and p.cancelled_on and p.cancelled_on <= as_of:
            status = "2"  # moved away or joined the army: contributions paused
        rows: Rows = []
        scheme, enrolled = p.scheme, p.enrolled_on
        assert scheme is not None and enrolled is not None
        if p.code_style in ("old", "both") and p.old_code:
            rows.append((p.aac001, employer, p.old_code, status, ymd(enrolled), end_day))
            self.ctx.log.add("old_scheme_code", SOURCE, "ac20_enrollment.csv", p.certno, p.old_code,
                             "also under the new code" if p.code_style == "both" else "")
        if p.code_style in ("new", "both"):
            since = max(enrolled, CODE_MIGRATION) if p.code_style == "both" else enrolled
            rows.append((p.aac001, employer, scheme, status, ymd(since), end_day))
        if p.second_scheme is not None and p.second_scheme[1] <= as_of:
            rows.append((p.aac001, "", p.second_scheme[0], status, ymd(RESIDENT_SCHEME_START), end_day))
        return rows

    # -- writing ------------------------------------------------------------------------
    def write(self, folder: Path, delivery: Delivery, registry: dict[str, Rows] | None,
              events: dict[str, pd.DataFrame]) -> list[FileEntry]:
        """GBK CSVs with CRLF line ends (a Windows export), headers matched by name."""
        return write_csv_files(self.ctx, folder, delivery, COLUMNS, registry, events, encoding="gbk", newline="\r\n")

"""The generator's own reading of rules R01–R08 (OUTPUTS.md), person by person.

It sees exactly what the landing zone delivers by a given night (records whose first valid
arrival is on or before it) and links records to people by the truth, so it measures the
rules, not identity resolution. `strict=False` moves every boundary one step (a month of
death counts, refunds are ignored, admission days count …): a decoy is a case the relaxed
reading flags and the strict one does not. `scan` applies the strict rules to everybody,
which proves that every hit in a city is a planted one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from lakehouse.synth.delivery import NOT_DELIVERED, Ledger
from lakehouse.synth.pension import NEW_CODE
from lakehouse.synth.policy import Policy
from lakehouse.synth.population import City, Person
from lakehouse.synth.tables import EventTable
from lakehouse.synth.timeline import month_index
from lakehouse.synth.transit import Card

Oracle = Callable[[Person, int, bool], float | None]


def _split(table: EventTable, ledger: Ledger) -> dict[int, pd.DataFrame]:
    frame = table.frame().assign(_arr=ledger.arrival[table.key])
    frame = frame[frame["_arr"] != NOT_DELIVERED]
    return {int(pid): part for pid, part in frame.groupby("_pid", sort=False)}


def _iso(text: str) -> dt.date:
    return dt.date.fromisoformat(text[:10])


@dataclass
class Evidence:
    """Delivered records split by person, with their first arrival night (`_arr`)."""

    city: City
    ledger: Ledger
    policy: Policy
    cards: dict[str, Card]
    payments: dict[int, pd.DataFrame]
    contributions: dict[int, pd.DataFrame]
    hkzx: dict[int, pd.DataFrame]
    huohua: dict[int, pd.DataFrame]
    settlements: dict[int, pd.DataFrame]
    taps: dict[int, pd.DataFrame]

    @classmethod
    def build(cls, city: City, ledger: Ledger, policy: Policy, tables: dict[tuple[str, str], EventTable],
              cards: list[Card]) -> Evidence:
        """Split the delivered tables by person once."""
        def split(source: str, file: str) -> dict[int, pd.DataFrame]:
            return _split(tables[(source, file)], ledger)

        return cls(city, ledger, policy, {c.card_no: c for c in cards},
                   split("pension", "ic80_payment.csv"), split("pension", "ac43_contribution.csv"),
                   split("public_security", "hkzx.csv"), split("civil_affairs", "huohua.xlsx"),
                   split("medical", "setl.jsonl.gz"), split("transit", "taps"))

    # -- shared pieces -----------------------------------------------------------------
    def _rows(self, split: dict[int, pd.DataFrame], p: Person, night: int) -> pd.DataFrame:
        part = split.get(p.pid)
        if part is None:
            return pd.DataFrame()
        return part[part["_arr"] <= night]

    def _snapshot_by(self, source: str, as_of: dt.date, night: int) -> bool:
        arrived = self.ledger.snapshot(source, as_of)
        return arrived is not None and arrived <= night

    def death_date(self, p: Person, night: int) -> dt.date | None:
        """Earliest death date of the death records delivered by `night`."""
        dates = []
        hk = self._rows(self.hkzx, p, night)
        if len(hk) and (hk["ZXYYDM"] == "01").any() and p.hkzx_death is not None:
            dates.append(p.hkzx_death)
        if len(self._rows(self.huohua, p, night)) and p.huohua_death is not None:
            dates.append(p.huohua_death)
        return min(dates) if dates else None

    def paid(self, p: Person, night: int, standardise: bool = True) -> pd.DataFrame:
        """Payments (status 1, amount > 0) delivered by `night`, one per scheme and month."""
        rows = self._rows(self.payments, p, night)
        if not len(rows) or not self._snapshot_by("pension", p.enrolled_on or dt.date.min, night):
            return pd.DataFrame(columns=["scheme", "month", "amount"])
        rows = rows[(rows["AAE117"] == "1") & (rows["AAE019"].astype(float) > 0)]
        out = pd.DataFrame({
            "scheme": rows["AAE140"].map(NEW_CODE) if standardise else rows["AAE140"],
            "month": rows["AAE002"].map(lambda s: int(s[:4]) * 12 + int(s[4:6]) - 1),
            "amount": rows["AAE019"].astype(float),
        })
        return out.drop_duplicates(["scheme", "month"])

    # -- the rules ---------------------------------------------------------------------
    def r01(self, p: Person, night: int, strict: bool = True) -> float | None:
        """R01: paid for a month after the month of death (relaxed: from the month of death)."""
        death = self.death_date(p, night)
        if death is None:
            return None
        paid = self.paid(p, night)
        after = paid[paid["month"] > month_index(death)] if strict else paid[paid["month"] >= month_index(death)]
        return round(float(after["amount"].sum()), 2) if len(after) else None

    def r02(self, p: Person, night: int, strict: bool = True) -> float | None:
        """R02: one month paid under two schemes (relaxed: under two *codes*)."""
        paid = self.paid(p, night, standardise=strict)
        twice = paid.groupby("month").filter(lambda g: g["scheme"].nunique() > 1)
        if not len(twice):
            return None
        return round(float(twice.groupby("month")["amount"].min().sum()), 2)

    def legal_retirement(self, p: Person) -> dt.date | None:
        """The legal date under the person's schemes (the lower age of two schemes)."""
        schemes = {s for s in (p.scheme, NEW_CODE.get(p.second_scheme[0]) if p.second_scheme else None) if s}
        dates = [self.policy.legal_retirement(p.birth, p.sex, s, p.special_job) for s in schemes]
        return min(dates) if dates else None

    def r03(self, p: Person, night: int, strict: bool = True) -> float | None:
        """R03: retired before the legal age (relaxed: on or before)."""
        if p.retired_on is None or not self._snapshot_by("pension", p.retired_on, night):
            return None
        legal = self.legal_retirement(p)
        if legal is None:
            return None
        early = p.retired_on < legal if strict else p.retired_on <= legal
        return 0.0 if early else None

    def r04(self, p: Person, night: int, strict: bool = True) -> float | None:
        """R04: a non-refunded settlement starting after death (relaxed: on the day, refunds ignored)."""
        death = self.death_date(p, night)
        rows = self._rows(self.settlements, p, night)
        if death is None or not len(rows):
            return None
        refunded = set(rows.loc[rows["refd_setl_flag"] == "1", "setl_id"]) if strict else set()
        normal = rows[(rows["refd_setl_flag"] == "0") & ~rows["setl_id"].isin(refunded)]
        begin = normal["begndate"].map(_iso)
        hit = normal[begin > death] if strict else normal[begin >= death]
        return round(float(hit["hifp_pay"].astype(float).sum()), 2) if len(hit) else None

    def _cards_known(self, p: Person, night: int, types: tuple[str, ...]) -> set[str]:
        return {c.card_no for c in self.cards.values()
                if c.pid == p.pid and c.card_type in types and self._snapshot_by("transit", c.issue, night)}

    def r05(self, p: Person, night: int, strict: bool = True) -> float | None:
        """R05: taps on the person's 老年卡 after death (relaxed: any card, from the death day)."""
        death = self.death_date(p, night)
        taps = self._rows(self.taps, p, night)
        if death is None or not len(taps):
            return None
        cards = self._cards_known(p, night, ("05",) if strict else ("01", "05", "06"))
        days = taps.loc[taps["card_no"].isin(cards), "_day"].to_numpy()
        hit = days > death.toordinal() if strict else days >= death.toordinal()
        return 0.0 if hit.any() else None

    def r06(self, p: Person, night: int, strict: bool = True) -> float | None:
        """R06: taps strictly between admission and discharge (relaxed: those days included)."""
        rows = self._rows(self.settlements, p, night)
        taps = self._rows(self.taps, p, night)
        if not len(rows) or not len(taps):
            return None
        refunded = set(rows.loc[rows["refd_setl_flag"] == "1", "setl_id"])
        stays = rows[(rows["med_type"] == "21") & (rows["refd_setl_flag"] == "0") & ~rows["setl_id"].isin(refunded)]
        cards = self._cards_known(p, night, ("01", "05", "06"))
        days = taps.loc[taps["card_no"].isin(cards), "_day"].to_numpy()
        for begin, end in zip(stays["begndate"].map(_iso), stays["enddate"].map(_iso), strict=True):
            lo, hi = begin.toordinal(), end.toordinal()
            inside = (days > lo) & (days < hi) if strict else (days >= lo) & (days <= hi)
            if inside.any():
                return 0.0
        return None

    def r07(self, p: Person, night: int, strict: bool = True) -> float | None:
        """R07: an employee base below the floor of its year and the employer's region
        (relaxed: at the floor, residents too, the higher of employer and person region)."""
        rows = self._rows(self.contributions, p, night)
        if not len(rows) or not self._snapshot_by("pension", p.enrolled_on or dt.date.min, night):
            return None
        regions = {e.aab001: e.region for e in self.city.employers}
        for code, month, base, employer in zip(rows["AAE140"], rows["AAE002"], rows["AAE180"], rows["AAB001"],
                                               strict=True):
            scheme = NEW_CODE[code]
            year = int(month[:4])
            floor = self.policy.floor(year, regions.get(employer, p.region))
            if strict:
                if scheme in ("110", "120") and float(base) < floor:
                    return 0.0
            elif float(base) <= max(floor, self.policy.floor(year, p.region)):
                return 0.0
        return None

    def r08(self, p: Person, night: int, strict: bool = True) -> float | None:
        """R08: emigrated (注销 02) and paid after the month of cancellation (relaxed: in it)."""
        hk = self._rows(self.hkzx, p, night)
        if not len(hk) or not (hk["ZXYYDM"] == "02").any() or p.cancelled_on is None:
            return None
        paid = self.paid(p, night)
        month = month_index(p.cancelled_on)
        after = paid[paid["month"] > month] if strict else paid[paid["month"] >= month]
        return round(float(after["amount"].sum()), 2) if len(after) else None

    def oracle(self, rule_code: str) -> Oracle:
        """The function of a rule code."""
        return {"R01_PAID_AFTER_DEATH": self.r01, "R02_DUPLICATE_PENSION": self.r02,
                "R03_EARLY_RETIREMENT": self.r03, "R04_CLAIM_AFTER_DEATH": self.r04,
                "R05_CARD_AFTER_DEATH": self.r05, "R06_TAP_WHILE_INPATIENT": self.r06,
                "R07_LOW_CONTRIB_BASE": self.r07, "R08_EMIGRATED_STILL_PAID": self.r08}[rule_code]

    def first_night(self, check: Callable[[int], float | None]) -> int | None:
        """First night on which `check` finds something."""
        for night in range(self.city.timeline.days):
            if check(night) is not None:
                return night
        return None

    def scan(self, rule_codes: list[str] | None = None) -> list[tuple[str, int]]:
        """(rule_code, pid) of every strict hit at the last night, over the whole city."""
        last = self.city.timeline.days - 1
        codes = rule_codes or ["R01_PAID_AFTER_DEATH", "R02_DUPLICATE_PENSION", "R03_EARLY_RETIREMENT",
                               "R04_CLAIM_AFTER_DEATH", "R05_CARD_AFTER_DEATH", "R06_TAP_WHILE_INPATIENT",
                               "R07_LOW_CONTRIB_BASE", "R08_EMIGRATED_STILL_PAID"]
        relevant = set(self.payments) | set(self.contributions) | set(self.settlements) | set(self.taps)
        relevant |= {p.pid for p in self.city.persons if p.retired_on is not None}
        hits = []
        for pid in sorted(relevant):
            if pid < 0:
                continue
            p = self.city.persons[pid]
            for code in codes:
                if self.oracle(code)(p, last, True) is not None:
                    hits.append((code, pid))
        return hits


"""Planted risks and decoys: the framework.

A plant takes a person out of the random population, reshapes their life (birth, scheme,
death and how it is registered, trips, stays …) *before* the sources are generated, and may
add records afterwards (settlements after death, taps on a dead person's card). Once the
deliveries are cut, the oracle tells on which night each hit became visible and how much
money it puts at risk; for a decoy it proves the strict rule does not fire. The plants
themselves live in `plants_pension.py` and `plants_activity.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from lakehouse.synth.context import Context
from lakehouse.synth.lifecourse import insure, set_pension
from lakehouse.synth.medical import Medical
from lakehouse.synth.oracle import Evidence
from lakehouse.synth.pension import Pension
from lakehouse.synth.population import Person
from lakehouse.synth.rng import stream
from lakehouse.synth.timeline import add_months
from lakehouse.synth.transit import Transit

Check = Callable[[Evidence, int], float | None]


@dataclass
class Generators:
    """The source generators a plant may add records through."""

    pension: Pension
    medical: Medical
    transit: Transit


@dataclass
class Plant:
    """One planted case (or decoy) of a rule for one person."""

    rule_code: str
    scenario: str
    person: Person
    is_decoy: bool
    detail: str
    check: Check | None = None  # model-based rules: when is it visible, what is at risk


class GeneratorBug(RuntimeError):
    """A decoy the strict rule flags, or a plant that contradicts itself."""


class Planter:
    """Chooses people, reshapes them and keeps the list of plants."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.city = ctx.city
        self.tl = ctx.city.timeline
        self.rng = stream(ctx.seed, "scenarios")
        self.plants: list[Plant] = []
        self._injectors: list[Callable[[Generators], None]] = []
        self._order = [int(i) for i in self.rng.permutation(len(self.city.persons))]
        self._used: set[int] = set()
        cfg = ctx.settings.scenarios
        wanted = round(len(self.city.persons) * cfg["cases_per_1000"] / 1000)
        self.cases = int(min(cfg["max_cases"], max(cfg["min_cases"], wanted)))
        self.decoys = int(cfg["decoys_per_kind"])

    # -- dates --------------------------------------------------------------------------
    @property
    def start(self) -> dt.date:
        """Extract date of the initial load."""
        return self.tl.start

    @property
    def room(self) -> int:
        """Days of business simulated after the initial load (0 with a single night)."""
        return (self.tl.sim_end - self.tl.start).days + 1

    def days(self, lo: int, hi: int) -> dt.timedelta:
        """A random number of days in [lo, hi]."""
        return dt.timedelta(days=int(self.rng.integers(lo, max(lo, hi) + 1)))

    def before_start(self, lo: int, hi: int, source: str = "pension", margin: int = 45) -> dt.date:
        """A day lo–hi days before the start, kept `margin` days inside `source`'s history."""
        day = self.tl.start - self.days(lo, hi)
        return max(day, self.tl.history[source] + dt.timedelta(days=margin))

    def live(self, i: int, n: int, room_needed: int) -> bool:
        """Plant case i of n during the generated nights (if the city has the room)?"""
        share = self.ctx.settings.scenarios["live_share"]
        return self.room >= room_needed and i >= n - round(n * share)

    # -- people -------------------------------------------------------------------------
    def pick(self, lo_age: int, hi_age: int, *, sex: int | None = None, local: bool | None = None,
             when: Callable[[Person], bool] | None = None) -> Person | None:
        """An unused person aged lo–hi at the start, reset to a clean, protected life."""
        for pid in self._order:
            p = self.city.persons[pid]
            if pid in self._used or not lo_age <= p.age_on(self.start) <= hi_age:
                continue
            if sex is not None and p.sex != sex:
                continue
            if local is not None and (p.hukou_region is not None) != local:
                continue
            if when is not None and not when(p):
                continue
            self._used.add(pid)
            self.reset(p)
            return p
        return None

    @staticmethod
    def reset(p: Person) -> None:
        """Alive, in the city, no trips or stays, nothing planted yet."""
        p.death = p.hkzx_on = p.hkzx_death = p.cremated_on = p.huohua_death = None
        p.died_abroad = p.died_in_hospital = False
        p.cancel_reason = p.cancelled_on = None
        p.trips, p.stays = [], []
        p.paid_through, p.second_scheme = None, None
        p.base_override, p.double_months, p.flags = {}, set(), set()
        p.protected = True

    def pensioner(self, p: Person, scheme: str, *, retired_on: dt.date | None = None, special: bool = False,
                  code_style: str = "new", old_code: str | None = None) -> None:
        """Make `p` a pensioner of `scheme` paid through the bank that delivers to us."""
        ctx = self.ctx
        set_pension(p, scheme, self.city.employers, self.rng, ctx.settings, ctx.policy)
        p.special_job = special
        p.legal_retirement = ctx.policy.legal_retirement(p.birth, p.sex, scheme, special)
        p.retired_on = retired_on or p.legal_retirement
        p.code_style, p.old_code = code_style, old_code
        p.pay_bank, p.pay_acct = "402", f"6230{(p.pid * 1_000_003 + 7) % 10**15:015d}"
        p.psn_no = None
        insure(p)

    def contributor(self, p: Person, scheme: str) -> None:
        """Make `p` a contributor of `scheme` (not retired during the city)."""
        set_pension(p, scheme, self.city.employers, self.rng, self.ctx.settings, self.ctx.policy)
        p.special_job, p.code_style, p.old_code = False, "new", None
        p.psn_no = None
        insure(p)
        if p.retired_on is not None and p.retired_on <= self.tl.sim_end:
            raise GeneratorBug(f"contributor {p.pid} would retire during the city")

    def kill(self, p: Person, death: dt.date, *, hkzx_on: dt.date | None = None, cremated_on: dt.date | None = None,
             swrq: dt.date | None = None) -> None:
        """A death and exactly the records of it that the plant wants delivered."""
        p.death = death
        if hkzx_on is not None and p.hukou_region is None:
            p.hukou_region = p.region  # only 户籍 holders get a cancellation
        p.hkzx_on, p.hkzx_death = hkzx_on, (swrq or death) if hkzx_on else None
        p.cremated_on, p.huohua_death = cremated_on, death if cremated_on else None

    # -- registration -------------------------------------------------------------------
    def add(self, rule_code: str, scenario: str, p: Person, detail: str, *, decoy: bool = False,
            check: Check | None = None) -> Plant:
        """Register a plant."""
        plant = Plant(rule_code, scenario, p, decoy, detail, check)
        self.plants.append(plant)
        return plant

    def on_inject(self, fn: Callable[[Generators], None]) -> None:
        """Run `fn` once the base records exist (to add planted records)."""
        self._injectors.append(fn)

    def plan(self) -> None:
        """Plant every scenario (people reshaped; records come later)."""
        from lakehouse.synth import plants_activity, plants_pension

        plants_pension.plan(self)
        plants_activity.plan(self)

    def inject(self, generators: Generators) -> None:
        """Add the planted records."""
        for fn in self._injectors:
            fn(generators)

    # -- truth --------------------------------------------------------------------------
    def resolve(self, ev: Evidence) -> list[dict[str, str]]:
        """planted_risks rows: when each plant became visible and what it puts at risk."""
        last = self.tl.days - 1
        rows = []
        for plant in self.plants:
            p = plant.person
            check = plant.check or _rule_check(ev, plant)
            night = ev.first_night(partial(check, ev))
            amount = check(ev, last)
            if plant.is_decoy and plant.check is None and ev.oracle(plant.rule_code)(p, last, True) is not None:
                raise GeneratorBug(f"decoy {plant.scenario} of person {p.pid} is flagged by {plant.rule_code}")
            rows.append({
                "rule_code": plant.rule_code,
                "certno": p.certno,
                "region": p.region if p.scheme else (p.hukou_region or p.region),
                "is_decoy": "1" if plant.is_decoy else "0",
                "scenario": plant.scenario,
                "detail": plant.detail,
                "detectable_from": "" if night is None else self.tl.extract_date(night).isoformat(),
                "amount_at_risk": f"{0.0 if plant.is_decoy or amount is None else amount:.2f}",
            })
        return rows


def visible_from(first: int) -> Check:
    """A model-based plant: visible from night `first` on, nothing at risk by rule."""
    return lambda _ev, night: 0.0 if night >= first else None


def _rule_check(ev: Evidence, plant: Plant) -> Check:
    """The rule's oracle for a plant: strict for a hit, relaxed for a decoy."""
    oracle, strict = ev.oracle(plant.rule_code), not plant.is_decoy
    return lambda _ev, night: oracle(plant.person, night, strict)


def at_age(birth: dt.date, years: int, months: int = 0) -> dt.date:
    """First day of the month after the month `birth` reaches years+months."""
    return add_months(birth.replace(day=1), years * 12 + months + 1)

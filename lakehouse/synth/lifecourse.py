"""What happens to the true people: work and pensions, moving away, travel, hospital stays,
how their deaths get registered, 低保 and medical insurance.

Base behaviour is *lawful and consistent*: retirement never before the legal age, pensions
stop after the month of death or emigration, nobody is in two schemes. Every rule hit in a
generated city is therefore one that `scenarios.py` planted on purpose.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from lakehouse.synth import names
from lakehouse.synth.ids import make_uscc
from lakehouse.synth.policy import Policy
from lakehouse.synth.population import DAYS_PER_YEAR, City, Employer, Person, build_persons
from lakehouse.synth.rng import stream
from lakehouse.synth.settings import Settings
from lakehouse.synth.timeline import Timeline, add_months, month_start

OLD_CODES = {"110": ("11",), "120": ("12", "JG"), "170": ("17",)}
PENSION_SYSTEM_START = dt.date(1992, 1, 1)
RESIDENT_SCHEME_START = dt.date(2011, 7, 1)
CODE_MIGRATION = dt.date(2015, 1, 1)  # enrolments before this came from the old system


def _days(a: dt.date, b: dt.date) -> int:
    return (b - a).days


def _uniform_day(rng: np.random.Generator, a: dt.date, b: dt.date) -> dt.date:
    return a + dt.timedelta(days=int(rng.integers(0, max(1, _days(a, b) + 1))))


def build_employers(settings: Settings, n_persons: int, seed: int) -> list[Employer]:
    """Enterprises, government bodies and public institutions spread over the regions."""
    rng = stream(seed, "employers")
    pen = settings.pension
    n_firm = max(5, round(n_persons * pen["employers_per_1000"] / 1000))
    n_gov = max(2, round(n_persons * pen["government_employers_per_1000"] / 1000))
    kinds = ["10"] * n_firm + [("30" if i % 2 == 0 else "50") for i in range(n_gov)]
    regions = settings.regions
    employers = []
    for eid, kind in enumerate(kinds):
        region = regions[int(rng.integers(len(regions)))]
        dept, cat = ("9", "1") if kind == "10" else ("1", "1" if kind == "30" else "2")
        employers.append(Employer(
            eid=eid,
            aab001=f"{region}{eid + 1:05d}",
            name=names.employer_name(rng, kind, settings.region_name(region), settings.city["name"]),
            kind=kind,
            region=region,
            uscc=make_uscc(dept, cat, region, 10_000_000 + eid * 7_919_113 % 89_999_999),
            pay_day=int(rng.integers(10, 26)),
        ))
    return employers


def _assign_scheme(rng: np.random.Generator, p: Person, settings: Settings, ref: dt.date) -> str | None:
    pen = settings.pension
    age = p.age_on(ref)
    if age < 16:
        return None
    u = rng.random()
    if p.hukou_region is None:  # migrants work here as employees or are not insured here
        return "110" if u < 0.88 else None
    none_share = 0.6 if age < 22 else 1 - pen["employee_share"] - pen["resident_share"]
    if u < none_share:
        return None
    if u < none_share + (1 - none_share) * pen["employee_share"] / (pen["employee_share"] + pen["resident_share"]):
        return "120" if rng.random() < pen["government_share"] else "110"
    return "170"


def set_pension(p: Person, scheme: str | None, city_employers: list[Employer], rng: np.random.Generator,
                settings: Settings, policy: Policy, *, late_months: int = 0) -> None:
    """Give a person a scheme with everything that follows from it (employer, legal date, amount)."""
    pen = settings.pension
    p.scheme = scheme
    if scheme is None:
        p.aac001 = p.employer = p.enrolled_on = p.legal_retirement = p.retired_on = None
        p.pension = 0.0
        return
    p.aac001 = f"33{(p.pid * 7919 + 104729) % 10**10:010d}"
    if scheme in ("110", "120"):
        kinds = ("10",) if scheme == "110" else ("30", "50")
        pool = [e for e in city_employers if e.kind in kinds]
        # most people work in the district they live in
        near = [e for e in pool if e.region == p.region]
        choice = near if near and rng.random() < 0.7 else pool
        p.employer = choice[int(rng.integers(len(choice)))].eid
        start_age = 18 + int(rng.integers(0, 8))
        p.enrolled_on = max(PENSION_SYSTEM_START, month_start((p.birth.year + start_age) * 12 + p.birth.month - 1))
    else:
        p.employer = None
        p.enrolled_on = max(RESIDENT_SCHEME_START, add_months(p.birth.replace(day=1), 16 * 12 + 1))
        p.enrolled_on = add_months(p.enrolled_on, int(rng.integers(0, 24)))
    p.special_job = scheme == "110" and p.birth.year < 1976 and rng.random() < pen["special_job_share"]
    p.legal_retirement = policy.legal_retirement(p.birth, p.sex, scheme, p.special_job)
    if scheme == "170":
        # residents draw from 60 at the earliest, whichever way the reform is read
        late_months = late_months or int(rng.integers(0, 12))
    p.retired_on = add_months(p.legal_retirement, late_months)
    p.wage = float(np.exp(np.log(pen["wage_median_2024"]) + pen["wage_sigma"] * rng.standard_normal()))
    p.pension = round(float(np.exp(np.log(pen["pension_median"][scheme])
                                   + pen["pension_sigma"][scheme] * rng.standard_normal())), 2)
    p.pension = max(p.pension, 180.0)
    if p.enrolled_on < CODE_MIGRATION:
        u = rng.random()
        olds = OLD_CODES[scheme]
        p.old_code = olds[int(rng.integers(len(olds)))]
        p.code_style = ("old" if u < pen["old_code_only_share"]
                        else "both" if u < pen["old_code_only_share"] + pen["double_code_share"] else "new")
    else:
        p.code_style, p.old_code = "new", None
    banks = sorted(pen["bank_codes"])
    ours = rng.random() < pen["our_bank_share"]
    p.pay_bank = "402" if ours else [b for b in banks if b != "402"][int(rng.integers(len(banks) - 1))]
    prefix = "6230" if ours else "6222"
    p.pay_acct = f"{prefix}{(p.pid * 1_000_003 + 7) % 10**15:015d}"


def _work_and_pension(rng: np.random.Generator, p: Person, city: City, policy: Policy) -> None:
    settings = city.settings
    ref = min(city.timeline.start, p.death or city.timeline.start)
    scheme = _assign_scheme(rng, p, settings, ref)
    late = int(rng.integers(1, 25)) if rng.random() < settings.pension["late_retirement_share"] else 0
    set_pension(p, scheme, city.employers, rng, settings, policy, late_months=late)


def _cancellation(rng: np.random.Generator, p: Person, tl: Timeline, settings: Settings) -> None:
    """出国定居 / 服兵役 / 迁出本市 for holders of a local 户籍."""
    if p.hukou_region is None:
        return
    pop = settings.population
    span_from, span_to = max(tl.obs_from, p.birth), min(tl.sim_end, p.death or tl.sim_end)
    years = _days(span_from, span_to) / DAYS_PER_YEAR
    if years <= 0:
        return
    day = _uniform_day(rng, span_from, span_to)
    age = p.age_on(day)
    u = rng.random()
    if 25 <= age <= 80 and u < pop["emigration_rate"] * years:
        p.cancel_reason = "02"
    elif 18 <= age <= 50 and not p.retired_by(day) and u < (pop["emigration_rate"] + pop["move_out_rate"]) * years:
        p.cancel_reason = "04"
    elif p.sex == 1 and 18 <= age <= 22 and not p.retired_by(day) and rng.random() < pop["military_rate"] * years:
        p.cancel_reason = "03"
    if p.cancel_reason:
        p.cancelled_on = day
        if p.cancel_reason == "02":
            p.trips.append((day - dt.timedelta(days=int(rng.integers(0, 21))), None))


def _overlap(a1: dt.date, b1: dt.date | None, a2: dt.date, b2: dt.date | None) -> bool:
    """Do two periods overlap (an open end runs for ever)?"""
    return (b1 is None or a2 <= b1) and (b2 is None or a1 <= b2)


def _trips(rng: np.random.Generator, p: Person, tl: Timeline, settings: Settings) -> None:
    """Temporary trips abroad (crj) of local 户籍 holders; nobody dies abroad on one."""
    if p.hukou_region is None:
        return
    pop = settings.population
    lo = max(tl.history["public_security"], add_months(p.birth, 18 * 12))
    hi = min(tl.sim_end, add_months(p.birth, 82 * 12), p.in_city_until() or tl.sim_end)
    years = _days(lo, hi) / DAYS_PER_YEAR
    if years <= 0:
        return
    trips = list(p.trips)
    for _ in range(int(rng.poisson(pop["trip_rate"] * years))):
        out = _uniform_day(rng, lo, hi)
        length = int(rng.integers(60, 201)) if rng.random() < pop["long_trip_share"] else int(rng.integers(4, 21))
        back_day = out + dt.timedelta(days=length)
        if p.death is not None and back_day >= p.death:
            continue
        back = None if back_day > tl.sim_end else back_day  # None: still abroad at the end
        if any(_overlap(out, back, o, b) for o, b in trips):
            continue
        trips.append((out, back))
    p.trips = sorted(trips, key=lambda t: t[0])


def _band(age: int) -> int:
    return 0 if age < 15 else 1 if age < 60 else 2 if age < 75 else 3


def free_day(p: Person, day: dt.date) -> bool:
    """Not abroad and not in hospital on `day`."""
    return not p.abroad_on(day) and not any(a <= day <= b for a, b in p.stays)


def _stays(rng: np.random.Generator, p: Person, tl: Timeline, settings: Settings) -> None:
    """Inpatient stays in the medical history; some people die in hospital."""
    med = settings.medical
    lo = max(tl.history["medical"], p.birth)
    end = p.in_city_until()
    hi = min(tl.sim_end, end or tl.sim_end)
    if _days(lo, hi) <= 0:
        return
    if p.death is not None and p.death >= lo and not p.died_abroad and end == p.death \
            and rng.random() < settings.population["death_registration"]["died_in_hospital_share"]:
        admit = max(lo, p.death - dt.timedelta(days=int(rng.integers(1, 15))))
        if free_day(p, admit) and not p.abroad_on(p.death):
            p.stays.append((admit, p.death))
            p.died_in_hospital = True
    years = _days(lo, hi) / DAYS_PER_YEAR
    for _ in range(int(rng.poisson(med["inpatient_rate"][_band(p.age_on(hi))] * years))):
        admit = _uniform_day(rng, lo, hi)
        discharge = admit + dt.timedelta(days=int(min(40, 2 + rng.lognormal(1.6, 0.6))))
        if discharge >= hi:
            continue
        days = [admit + dt.timedelta(days=i) for i in range(_days(admit, discharge) + 1)]
        if not all(free_day(p, d) for d in days) or any(a - dt.timedelta(days=2) <= discharge and admit <= b
                                                         for a, b in p.stays):
            continue
        p.stays.append((admit, discharge))
    p.stays.sort()


def register_death(p: Person, rng: np.random.Generator, settings: Settings, *, force: bool = False) -> None:
    """How a death reaches 户籍 (0–120 days late) and the cremation records (1–7 days)."""
    p.hkzx_on = p.hkzx_death = p.cremated_on = p.huohua_death = None
    if p.death is None or p.died_abroad:
        return
    reg = settings.population["death_registration"]
    local = p.hukou_region is not None and (p.cancelled_on is None or p.cancelled_on > p.death)
    moved_away = p.cancelled_on is not None and p.cancelled_on <= p.death
    if moved_away:
        return
    if local and rng.random() < reg["hkzx_share"]:
        lag = (int(rng.integers(30, reg["hkzx_lag_max_days"] + 1)) if rng.random() < 0.1
               else min(reg["hkzx_lag_max_days"], int(rng.exponential(reg["hkzx_lag_mean_days"]))))
        p.hkzx_on, p.hkzx_death = p.death + dt.timedelta(days=lag), p.death
    share = reg["cremation_share_local"] if local else reg["cremation_share_migrant"]
    if rng.random() < share:
        p.cremated_on, p.huohua_death = p.death + dt.timedelta(days=int(rng.integers(1, 8))), p.death
    if force and p.hkzx_on is None and p.cremated_on is None:
        # the pension office learns of every base death: make the record exist somewhere
        if local:
            p.hkzx_on, p.hkzx_death = p.death + dt.timedelta(days=int(rng.integers(0, 30))), p.death
        else:
            p.cremated_on, p.huohua_death = p.death + dt.timedelta(days=int(rng.integers(1, 8))), p.death


def _dibao(rng: np.random.Generator, p: Person, tl: Timeline, settings: Settings) -> None:
    if p.hukou_region is None or rng.random() >= settings.population["dibao_share"]:
        return
    rural = p.hukou_region in ("330109", "330110") and rng.random() < 0.5
    kind = "特困供养" if rng.random() < 0.1 else "农村低保" if rural else "城市低保"
    standard = 1716.0 if kind == "特困供养" else 1320.0
    hi = min(tl.sim_end, p.in_city_until() or tl.sim_end)
    lo = max(dt.date(2015, 1, 1), add_months(p.birth, 18 * 12))
    if hi <= lo:
        return
    start = _uniform_day(rng, lo, hi).replace(day=1)
    end = None
    if p.in_city_until() is not None:
        end = add_months(p.in_city_until().replace(day=1), 1) - dt.timedelta(days=1)  # type: ignore[union-attr]
    elif rng.random() < 0.2:
        end = _uniform_day(rng, start, tl.sim_end)
    if end is not None and end <= start:
        return
    p.dibao = (kind, start, end, round(standard * float(rng.uniform(0.3, 1.0)), 2))


def insure(p: Person) -> None:
    """Medical insurance: 310 for employees (working or retired), 390 for everybody else."""
    p.psn_no = f"3300{(p.pid * 15_485_863 + 11) % 10**16:016d}"
    p.insutype = "310" if p.scheme in ("110", "120") else "390"
    p.insured_on = p.enrolled_on if p.insutype == "310" else max(p.birth, dt.date(2012, 1, 1))


def _medical(rng: np.random.Generator, p: Person, settings: Settings) -> None:
    if rng.random() >= settings.medical["uninsured_share"]:
        insure(p)


def build_city(settings: Settings, timeline: Timeline, n: int, seed: int) -> City:
    """The true city before any scenario is planted."""
    persons, used = build_persons(settings, timeline, n, seed)
    city = City(settings, timeline, seed, persons, build_employers(settings, n, seed), used)
    policy = Policy(settings.policy)
    rng = stream(seed, "lifecourse")
    for p in persons:
        _work_and_pension(rng, p, city, policy)
        _cancellation(rng, p, timeline, settings)
        _trips(rng, p, timeline, settings)
        _stays(rng, p, timeline, settings)
        pensioner = p.death is not None and p.retired_by(p.death)
        register_death(p, rng, settings, force=pensioner)
        _dibao(rng, p, timeline, settings)
        _medical(rng, p, settings)
    return city

"""The true city: who lives in it, born when, dying when, with which 户籍 and region.

Everything the sources later report is a noisy, lagged, partial view of these objects.
`lifecourse.py` adds what happens to people (work, retirement, travel, hospital stays …).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from lakehouse.synth import names
from lakehouse.synth.ids import make_certno
from lakehouse.synth.rng import stream
from lakehouse.synth.settings import Settings
from lakehouse.synth.timeline import Timeline

DAYS_PER_YEAR = 365.2425


@dataclass(slots=True)
class Employer:
    """A contributing employer (ab01)."""

    eid: int
    aab001: str
    name: str
    kind: str  # 10 企业, 30 机关, 50 事业单位
    region: str
    uscc: str
    pay_day: int  # day of month its contributions arrive (到账)


@dataclass(slots=True)
class Person:
    """One true person; `None` means "does not apply / never happened"."""

    pid: int
    certno: str
    name: str
    sex: int  # 1 man, 2 woman
    birth: dt.date
    birthplace: str
    hukou_region: str | None  # None: 户籍 outside the city (not in czrk)
    region: str  # where the person lives (pension AAB301, medical insu_admdvs)
    death: dt.date | None = None
    died_abroad: bool = False
    died_in_hospital: bool = False
    hkzx_on: dt.date | None = None  # ZXRQ of the death cancellation (01)
    hkzx_death: dt.date | None = None  # SWRQ as registered
    cremated_on: dt.date | None = None
    huohua_death: dt.date | None = None  # 死亡日期 on the cremation record
    cancel_reason: str | None = None  # 02 emigrated, 03 military, 04 moved out
    cancelled_on: dt.date | None = None
    trips: list[tuple[dt.date, dt.date | None]] = field(default_factory=list)
    stays: list[tuple[dt.date, dt.date]] = field(default_factory=list)
    # pension
    scheme: str | None = None  # true scheme 110/120/170
    aac001: str | None = None
    employer: int | None = None
    enrolled_on: dt.date | None = None
    code_style: str = "new"  # new, old (11/12/17/JG only) or both (新老二套系统)
    old_code: str | None = None
    wage: float = 0.0  # monthly wage in 2024
    special_job: bool = False
    legal_retirement: dt.date | None = None
    retired_on: dt.date | None = None
    pension: float = 0.0  # monthly pension, 2024 terms (or at retirement if later)
    pay_bank: str | None = None
    pay_acct: str | None = None
    paid_through: int | None = None  # month index: pays on regardless of death/emigration (planted)
    second_scheme: tuple[str, dt.date, float] | None = None  # planted duplicate: code, since, amount
    base_override: dict[int, float] = field(default_factory=dict)  # planted contribution bases by month
    double_months: set[int] = field(default_factory=set)  # months also recorded under the old code
    # medical
    psn_no: str | None = None
    insutype: str | None = None
    insured_on: dt.date | None = None
    # civil affairs
    dibao: tuple[str, dt.date, dt.date | None, float] | None = None
    # planted persons: their records stay valid (no invalid IDs, no contradictions)
    protected: bool = False
    flags: set[str] = field(default_factory=set)

    def age_on(self, day: dt.date) -> int:
        """Age in completed years on `day`."""
        return day.year - self.birth.year - ((day.month, day.day) < (self.birth.month, self.birth.day))

    def in_city_until(self) -> dt.date | None:
        """Last day the person can leave signs of life here (death, emigration, moving away)."""
        ends = [d for d in (self.death, self.cancelled_on) if d is not None]
        return min(ends) if ends else None

    def retired_by(self, day: dt.date) -> bool:
        """Receives (or is due) a pension on `day`."""
        return self.retired_on is not None and self.retired_on <= day

    def abroad_on(self, day: dt.date) -> bool:
        """Away on a trip abroad on `day` (exit day and entry day count as in the city)."""
        return any(out < day and (back is None or day < back) for out, back in self.trips)


@dataclass
class City:
    """The true population and employers of one generated city."""

    settings: Settings
    timeline: Timeline
    seed: int
    persons: list[Person]
    employers: list[Employer]
    used_certnos: set[str]

    def rebirth(self, person: Person, birth: dt.date, sex: int | None = None) -> None:
        """Give a person another birth date (and sex): a new, unique ID number to match."""
        person.birth = birth
        person.sex = sex or person.sex
        self.used_certnos.discard(person.certno)
        person.certno = unique_certno(self.used_certnos, person.birthplace, birth, person.sex, person.pid)


def unique_certno(used: set[str], birthplace: str, birth: dt.date, sex: int, salt: int) -> str:
    """A number not yet used; the sequence's parity carries the sex."""
    for attempt in range(500):
        seq = (salt * 37 + attempt * 2) % 500 * 2 + (1 if sex == 1 else 0)
        certno = make_certno(birthplace, birth, seq)
        if certno not in used:
            used.add(certno)
            return certno
    raise RuntimeError(f"no free ID number for {birthplace} {birth}")


def _birthplace(rng: np.random.Generator, settings: Settings, local: bool, region: str, birth: dt.date) -> str:
    city = settings.city
    pop = settings.population
    u = rng.random()
    if not local or u < pop["other_province_share_local"]:
        pool = city["other_birthplaces"]
    elif u < pop["other_province_share_local"] + pop["province_share_local"]:
        pool = city["province_birthplaces"]
    elif birth.year < 1990 and rng.random() < 0.3:
        pool = city["old_birthplaces"]  # 下城/江干: abolished since, still in the ID
    else:
        return region
    return str(pool[int(rng.integers(len(pool)))])


def _ages(rng: np.random.Generator, settings: Settings, n: int) -> np.ndarray:
    bands = np.asarray(settings.population["age_bands"], dtype=float)
    band = rng.choice(len(bands), size=n, p=bands / bands.sum())
    return band * 5 + rng.random(n) * 5


def _death_ages(rng: np.random.Generator, settings: Settings, age_at_obs: np.ndarray) -> np.ndarray:
    """Age at death under Gompertz mortality, by inverting the cumulative hazard."""
    alpha, beta = settings.population["gompertz"]["alpha"], settings.population["gompertz"]["beta"]
    e = rng.exponential(size=len(age_at_obs))
    return np.log(np.exp(beta * age_at_obs) + e * beta * np.exp(-alpha)) / beta


def build_persons(settings: Settings, timeline: Timeline, n: int, seed: int) -> tuple[list[Person], set[str]]:
    """`n` people with ages at the start date following the pyramid and true death dates."""
    rng = stream(seed, "population")
    regions = settings.regions
    shares = np.asarray([settings.city["regions"][r]["share"] for r in regions], dtype=float)
    ages = _ages(rng, settings, n)
    obs = timeline.obs_from
    used: set[str] = set()
    persons: list[Person] = []
    for pid in range(n):
        birth = timeline.start - dt.timedelta(days=int(ages[pid] * DAYS_PER_YEAR))
        sex = 1 if rng.random() < 0.5 else 2
        local = rng.random() < settings.population["local_hukou_share"]
        hukou = str(regions[rng.choice(len(regions), p=shares / shares.sum())])
        if local and rng.random() < settings.population["lives_in_hukou_region"]:
            region = hukou
        else:
            region = str(regions[rng.choice(len(regions), p=shares / shares.sum())])
        birthplace = _birthplace(rng, settings, local, hukou if local else region, birth)
        certno = unique_certno(used, birthplace, birth, sex, pid)
        persons.append(Person(pid, certno, names.person_name(rng, sex), sex, birth, birthplace,
                              hukou if local else None, region))
    # deaths from the first observed day on (earlier deaths are not part of the city)
    t0 = np.asarray([max(obs, p.birth) for p in persons], dtype="datetime64[D]")
    births = np.asarray([p.birth for p in persons], dtype="datetime64[D]")
    age_t0 = (t0 - births).astype(float) / DAYS_PER_YEAR
    death_age = _death_ages(rng, settings, age_t0)
    for p, birth, years in zip(persons, births, death_age, strict=True):
        death = (birth + np.timedelta64(int(years * DAYS_PER_YEAR), "D")).astype(dt.date)
        p.death = death if death <= timeline.sim_end else None
    return persons, used

"""Cohort-component projection of the pension population and fund: pure pandas/numpy, no Spark.

The population is held as *cells*: region × scheme × sex × birth month × special job × status,
each with a (fractional, expected) number of persons. Month by month, on the first day of month m:

1. contributors whose legal retirement date (lakehouse.policy, per scenario) is on or before the
   first of m become pensioners — a whole cell at once, as everyone in it shares that date;
2. the stock is recorded: contributors pay and pensioners are paid for month m;
3. during m, persons die with the monthly probability 1 - (1 - q_x)^(1/12) of their completed age
   (conf/life_table.yaml), and surviving contributors exit with 1 - (1 - e)^(1/12);
4. new contributors (conf/projection.yaml `inflow`) join on the first day of m + 1.

Ages are completed years reached in the birthday month (as POLICY.md counts the legal age).
Months are integers `year * 12 + month - 1` so the arithmetic stays exact.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lakehouse.config import load_conf
from lakehouse.policy import Policy

CONTRIBUTOR, PENSIONER = "contributor", "pensioner"
CELL_KEYS = ["region", "scheme", "sex", "birth_month", "special_job"]
ALL_REGIONS = "ALL"  # fund rows summed over regions (the pension fund is pooled by scheme)


def month_index(day: dt.date) -> int:
    """Month of a date as `year * 12 + month - 1`."""
    return day.year * 12 + day.month - 1


def month_start(index: int) -> dt.date:
    """First day of a month index."""
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Scenario:
    """One projection scenario of conf/projection.yaml."""

    name: str
    label: str
    reform: bool


@dataclass(frozen=True)
class Assumptions:
    """conf/projection.yaml, validated."""

    horizon_months: int
    scenarios: tuple[Scenario, ...]
    schemes: tuple[str, ...]
    inflow_rate: Mapping[str, float]
    entry_age: int
    exit_rate: Mapping[str, float]
    rate_schemes: frozenset[str]
    base_growth: float
    indexation: float
    indexation_month: int
    reserve_months: float
    return_rate: float
    observation_months: int

    @classmethod
    def from_conf(cls, raw: Mapping[str, Any]) -> Assumptions:
        """Parse conf/projection.yaml; ValueError on a missing scheme rate or a bad value."""
        schemes = tuple(str(s) for s in raw["schemes"])
        inflow = {str(k): float(v) for k, v in raw["inflow"]["rate_per_year"].items()}
        exits = {str(k): float(v) for k, v in raw["exits"]["rate_per_year"].items()}
        for name, rates in (("inflow", inflow), ("exits", exits)):
            if missing := set(schemes) - set(rates):
                raise ValueError(f"projection.yaml: {name} has no rate for schemes {sorted(missing)}")
            if any(not 0 <= r < 1 for r in rates.values()):
                raise ValueError(f"projection.yaml: {name} rates must be in [0, 1)")
        scenarios = tuple(Scenario(str(s["name"]), str(s["label"]), bool(s["reform"])) for s in raw["scenarios"])
        if len({s.name for s in scenarios}) != len(scenarios) or not scenarios:
            raise ValueError("projection.yaml: scenario names must be unique and at least one")
        month = int(raw["pensions"]["indexation_month"])
        if not 1 <= month <= 12:
            raise ValueError("projection.yaml: pensions.indexation_month must be 1..12")
        return cls(
            horizon_months=12 * int(raw["horizon_years"]), scenarios=scenarios, schemes=schemes,
            inflow_rate=inflow, entry_age=int(raw["inflow"]["entry_age"]), exit_rate=exits,
            rate_schemes=frozenset(str(s) for s in raw["contributions"]["rate_schemes"]),
            base_growth=float(raw["contributions"]["base_growth_per_year"]),
            indexation=float(raw["pensions"]["indexation_per_year"]), indexation_month=month,
            reserve_months=float(raw["fund"]["starting_reserve_months"]),
            return_rate=float(raw["fund"]["return_per_year"]),
            observation_months=int(raw["observation_months"]),
        )


def load_assumptions() -> Assumptions:
    """conf/projection.yaml."""
    return Assumptions.from_conf(load_conf("projection.yaml"))


def load_life_table(raw: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """conf/life_table.yaml as rows sex, age (0..open age), qx."""
    raw = raw if raw is not None else load_conf("life_table.yaml")
    open_age = int(raw["open_age"])
    rows = []
    for sex, qs in raw["qx"].items():
        if len(qs) != open_age + 1 or any(not 0 <= q < 1 for q in qs):
            raise ValueError(f"life_table.yaml: sex {sex} needs {open_age + 1} values in [0, 1)")
        rows += [(str(sex), age, float(q)) for age, q in enumerate(qs)]
    return pd.DataFrame(rows, columns=["sex", "age", "qx"])


def monthly_probability(annual: np.ndarray | float) -> np.ndarray | float:
    """The monthly probability with the same survival over 12 months: 1 - (1 - p)^(1/12)."""
    return 1.0 - np.power(1.0 - np.asarray(annual, dtype=float), 1.0 / 12.0)


def scenario_policy(policy: Policy, scenario: Scenario) -> Policy:
    """The policy of a scenario: as published, or without the 2025 reform steps (pre-2025 ages)."""
    return policy if scenario.reform else dataclasses.replace(policy, reform=())


def retirement_months(cells: pd.DataFrame, policy: Policy) -> pd.Series:
    """Month index from which each cell's contributors are pensioners (legal date, POLICY.md)."""
    keys = cells[["birth_month", "sex", "scheme", "special_job"]].drop_duplicates()
    dates = {
        (b, s, sc, sj): month_index(policy.legal_retirement_date(month_start(int(b)), s, sc, bool(sj)))
        for b, s, sc, sj in keys.itertuples(index=False)
    }
    return pd.Series([dates[k] for k in zip(cells["birth_month"], cells["sex"], cells["scheme"],
                                             cells["special_job"], strict=True)], index=cells.index, dtype="int64")


def inflow_cells(start: pd.DataFrame, start_month: int, months: int, a: Assumptions) -> pd.DataFrame:
    """Cells of future new contributors: each month rate/12 × the starting contributors of the
    scheme and region, split by their sex shares, aged `entry_age` on entry."""
    contributors = start[start["status"] == CONTRIBUTOR]
    by_sex = contributors.groupby(["region", "scheme", "sex"], as_index=False)["persons"].sum()
    by_sex["monthly"] = by_sex["persons"] * by_sex["scheme"].map(a.inflow_rate).fillna(0.0) / 12.0
    by_sex = by_sex[by_sex["monthly"] > 0]
    enter = pd.DataFrame({"enter_month": np.arange(start_month + 1, start_month + months)})
    cells = by_sex.merge(enter, how="cross")
    cells["birth_month"] = cells["enter_month"] - 12 * a.entry_age
    cells["special_job"] = False
    cells["status"] = CONTRIBUTOR
    return cells.assign(persons=cells["monthly"])[[*CELL_KEYS, "status", "persons", "enter_month"]]


def project_population(start: pd.DataFrame, start_month: int, months: int, life: pd.DataFrame,
                       policy: Policy, a: Assumptions) -> pd.DataFrame:
    """Month-by-month stock and flows of one scenario.

    `start`: cells (CELL_KEYS, status, persons) on the first day of `start_month`. Returns one row
    per month × region × scheme × sex × age × status with persons: month (index), persons (stock on
    the first day, after that day's retirements), retirements (joined the pensioners that day),
    new_contributors (joined that day), deaths and exits (during the month).
    """
    first = start.assign(enter_month=start_month)[[*CELL_KEYS, "status", "persons", "enter_month"]]
    cells = pd.concat([first, inflow_cells(start, start_month, months, a)], ignore_index=True)
    retire = retirement_months(cells, policy).to_numpy()
    birth = cells["birth_month"].to_numpy(dtype=np.int64)
    enter = cells["enter_month"].to_numpy(dtype=np.int64)
    pensioner = (cells["status"] == PENSIONER).to_numpy()
    persons = np.where(enter == start_month, cells["persons"].to_numpy(dtype=float), 0.0)
    open_age = int(life["age"].max())
    q = {s: monthly_probability(g.sort_values("age")["qx"].to_numpy()) for s, g in life.groupby("sex")}
    q_by_cell = np.vstack([q[s] for s in cells["sex"]])  # cells × ages
    exit_monthly = monthly_probability(cells["scheme"].map(a.exit_rate).fillna(0.0).to_numpy())
    # aggregate each month at once to group × age × status (a big city has ~10^4 cells a month)
    groups = cells[["region", "scheme", "sex"]].drop_duplicates().reset_index(drop=True)
    group = cells[["region", "scheme", "sex"]].merge(groups.reset_index(), how="left")["index"].to_numpy()
    slots = len(groups) * (open_age + 1) * 2
    out = []
    for m in range(start_month, start_month + months):
        joining = enter == m
        if m > start_month:
            persons[joining] = cells["persons"].to_numpy()[joining]
        retiring = ~pensioner & (retire <= m) & (persons > 0)
        pensioner = pensioner | (~pensioner & (retire <= m))
        age = np.clip((m - birth) // 12, 0, open_age)
        deaths = persons * q_by_cell[np.arange(len(cells)), age]
        exits = np.where(pensioner, 0.0, (persons - deaths) * exit_monthly)
        key = (group * (open_age + 1) + age) * 2 + pensioner
        flows = {name: np.bincount(key, weights=values, minlength=slots) for name, values in (
            ("persons", persons), ("retirements", np.where(retiring, persons, 0.0)),
            ("new_contributors", np.where(joining & (m > start_month), persons, 0.0)),
            ("deaths", deaths), ("exits", exits))}
        used = np.flatnonzero(np.bincount(key, weights=(persons > 0).astype(float), minlength=slots))
        out.append(pd.DataFrame({"month": m, "key": used, **{k: v[used] for k, v in flows.items()}}))
        persons = persons - deaths - exits
    rows = pd.concat(out, ignore_index=True)
    key = rows.pop("key").to_numpy()
    rows["status"] = np.where(key % 2 == 1, PENSIONER, CONTRIBUTOR)
    rows["age"] = (key // 2) % (open_age + 1)
    rows = pd.concat([rows, groups.iloc[key // 2 // (open_age + 1)].reset_index(drop=True)], axis=1)
    return rows[["month", "region", "scheme", "sex", "age", "status", "persons", "retirements",
                 "new_contributors", "deaths", "exits"]]


def population_table(flows: pd.DataFrame) -> pd.DataFrame:
    """gold.population_projection rows of one scenario: cells summed to month × region × scheme ×
    sex × single year of age × status."""
    keys = ["month", "region", "scheme", "sex", "age", "status"]
    return flows.groupby(keys, as_index=False)[["persons", "retirements", "new_contributors", "deaths", "exits"]].sum()


def _steps_since(months: np.ndarray, after: int, calendar_month: int) -> np.ndarray:
    """How many times the calendar month `calendar_month` (1..12) began after month `after`, up to each month."""
    def count(m: np.ndarray) -> np.ndarray:
        return (m - (calendar_month - 1)) // 12
    return count(months) - count(np.full_like(months, after))


def fund_table(population: pd.DataFrame, units: pd.DataFrame, observed_month: int, a: Assumptions) -> pd.DataFrame:
    """gold.fund_projection rows of one scenario: per month × scheme × region (and ALL regions).

    `units`: per scheme × region the `contribution` per contributor and month, `pension` per
    pensioner and month, and `expenditure` (pension expenditure of one month, for the starting
    reserve), as observed in `observed_month`. Contributions grow each January and pensions each
    indexation month after it; the balance starts at reserve_months × expenditure and earns the
    return monthly.
    """
    stock = population.pivot_table(index=["month", "scheme", "region"], columns="status", values="persons",
                                   aggfunc="sum", fill_value=0.0).reset_index()
    for col in (CONTRIBUTOR, PENSIONER):
        if col not in stock:
            stock[col] = 0.0
    f = stock.merge(units, on=["scheme", "region"], how="left").fillna({"contribution": 0.0, "pension": 0.0,
                                                                        "expenditure": 0.0})
    months = f["month"].to_numpy(dtype=np.int64)
    f["contributions_yuan"] = f[CONTRIBUTOR] * f["contribution"] * (1 + a.base_growth) ** _steps_since(
        months, observed_month, 1)
    f["pensions_yuan"] = f[PENSIONER] * f["pension"] * (1 + a.indexation) ** _steps_since(
        months, observed_month, a.indexation_month)
    f["reserve_start"] = a.reserve_months * f["expenditure"]
    cols = [CONTRIBUTOR, PENSIONER, "contributions_yuan", "pensions_yuan"]
    total = f.groupby(["month", "scheme"], as_index=False)[cols].sum()
    reserve = f.drop_duplicates(["scheme", "region"]).groupby("scheme", as_index=False)["reserve_start"].sum()
    total = total.merge(reserve, on="scheme").assign(region=ALL_REGIONS)
    f = pd.concat([f[["month", "scheme", "region", *cols, "reserve_start"]], total], ignore_index=True)
    f = f.sort_values(["scheme", "region", "month"]).reset_index(drop=True)
    growth = (1 + a.return_rate) ** (1 / 12)
    balances = []
    for _, g in f.groupby(["scheme", "region"], sort=False):
        b, out = float(g["reserve_start"].iloc[0]), []
        for c, p in zip(g["contributions_yuan"], g["pensions_yuan"], strict=True):
            b = b * growth + c - p
            out.append(b)
        balances += out
    f["balance_yuan"] = balances
    f["dependency_ratio"] = np.where(f[PENSIONER] > 0, f[CONTRIBUTOR] / f[PENSIONER].where(f[PENSIONER] > 0), np.nan)
    exhausted = f[f["balance_yuan"] < 0].groupby(["scheme", "region"])["month"].min() // 12
    f = f.merge(exhausted.rename("reserve_exhausted_year").reset_index(), on=["scheme", "region"], how="left")
    return f.rename(columns={CONTRIBUTOR: "contributors", PENSIONER: "pensioners"}).drop(columns="reserve_start")


def project(start: pd.DataFrame, units: pd.DataFrame, start_month: int, life: pd.DataFrame, policy: Policy,
            a: Assumptions, observed_month: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every scenario: (population rows, fund rows), each with a `scenario` column. The money per head
    of `units` is as observed in `observed_month` (default: the month before the start)."""
    observed = start_month - 1 if observed_month is None else observed_month
    pops, funds = [], []
    for s in a.scenarios:
        pop = population_table(project_population(start, start_month, a.horizon_months, life,
                                                   scenario_policy(policy, s), a))
        pops.append(pop.assign(scenario=s.name))
        funds.append(fund_table(pop, units, observed, a).assign(scenario=s.name))
    return pd.concat(pops, ignore_index=True), pd.concat(funds, ignore_index=True)


def unit_amounts(contributions: pd.DataFrame, payments: pd.DataFrame, policy: Policy, a: Assumptions) -> pd.DataFrame:
    """Observed money per head, per scheme × region.

    `contributions` (observation window): scheme, region, base_sum, rows (person-months), income
    (employer + personal), contributors (distinct persons). `payments` (last complete month):
    scheme, region, amount (sum paid), payees. Employee schemes: average base × (employer + individual
    rate of POLICY.md); other schemes: income / observation months / contributors.
    """
    rate = float(policy.employer_rate + policy.individual_rate)
    c = contributions.copy()
    by_rate = c["scheme"].isin(a.rate_schemes)
    c["contribution"] = np.where(by_rate, c["base_sum"] / c["rows"].where(c["rows"] > 0) * rate,
                                 c["income"] / a.observation_months / c["contributors"].where(c["contributors"] > 0))
    p = payments.assign(pension=payments["amount"] / payments["payees"].where(payments["payees"] > 0),
                        expenditure=payments["amount"])
    units = c[["scheme", "region", "contribution"]].merge(p[["scheme", "region", "pension", "expenditure"]],
                                                           on=["scheme", "region"], how="outer")
    return units.fillna(0.0)


def mortality_check(at_risk: pd.DataFrame, life: pd.DataFrame, bands: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Observed vs expected deaths by age band and sex over a one-year window.

    `at_risk`: sex, age (completed years at the window start), persons (alive at the start),
    deaths (observed in the window among them). Expected = Σ persons × q_age.
    """
    df = at_risk.assign(age=at_risk["age"].clip(0, int(life["age"].max()))).merge(life, on=["sex", "age"], how="left")
    df["expected"] = df["persons"] * df["qx"].fillna(0.0)
    df["age_band"], df["age_band_name"] = None, None
    for b in bands:
        inside = (df["age"] >= b["from"]) & ((df["age"] < b["to"]) if b.get("to") is not None else True)
        df.loc[inside, "age_band"], df.loc[inside, "age_band_name"] = b["code"], b["label"]
    out = (df.dropna(subset=["age_band"]).groupby(["age_band", "age_band_name", "sex"], as_index=False)
           .agg(persons_at_risk=("persons", "sum"), observed_deaths=("deaths", "sum"),
                expected_deaths=("expected", "sum")))
    out["ratio"] = out["observed_deaths"] / out["expected_deaths"].where(out["expected_deaths"] > 0)
    return out

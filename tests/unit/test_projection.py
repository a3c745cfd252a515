"""The cohort-component projection on cases small enough to work out by hand.

Every expected number is written out from the rules of lakehouse/projection.py's docstring and
POLICY.md, never taken from the code under test.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from lakehouse.policy import load_policy
from lakehouse.projection import (
    Assumptions,
    Scenario,
    fund_table,
    load_assumptions,
    load_life_table,
    month_index,
    month_start,
    mortality_check,
    population_table,
    project,
    project_population,
    scenario_policy,
)

REFORM, NO_REFORM = Scenario("reform", "按公布方案", True), Scenario("no_reform", "不延迟", False)


def _life(q_by_age: dict[int, float], default: float = 0.0) -> pd.DataFrame:
    """A life table for both sexes: q_x from the dict, `default` elsewhere."""
    return pd.DataFrame([(s, x, q_by_age.get(x, default)) for s in ("1", "2") for x in range(101)],
                        columns=["sex", "age", "qx"])


def _closed(**over: object) -> Assumptions:
    """No inflow, no exits, no growth, no return: a closed population."""
    base = load_assumptions()
    zero = {s: 0.0 for s in base.schemes}
    values = dict(inflow_rate=zero, exit_rate=zero, base_growth=0.0, indexation=0.0, reserve_months=0.0,
                  return_rate=0.0, scenarios=(REFORM, NO_REFORM))
    values.update(over)
    return dataclasses.replace(base, **values)


def _cell(scheme: str, sex: str, born: str, status: str, persons: float, special: bool = False,
          region: str = "330102") -> dict[str, object]:
    return {"region": region, "scheme": scheme, "sex": sex, "birth_month": month_index(dt.date.fromisoformat(born + "-01")),
            "special_job": special, "status": status, "persons": persons}


M = {f"2027-{m:02d}": month_index(dt.date(2027, m, 1)) for m in range(1, 13)}


def test_closed_pensioner_cohort_survivors_and_payments_by_hand() -> None:
    # 1,200 men born 1950-03: 76 in Jan and Feb 2027, 77 from March 2027 (birthday month).
    # q_76 = 0.12, q_77 = 0.24; monthly p = (1 - q)^(1/12).
    p76, p77 = 0.88 ** (1 / 12), 0.76 ** (1 / 12)
    start = pd.DataFrame([_cell("110", "1", "1950-03", "pensioner", 1200.0)])
    a = _closed(indexation=0.02, indexation_month=7)
    flows = project_population(start, M["2027-01"], 8, _life({76: 0.12, 77: 0.24}), load_policy(), a)
    pop = population_table(flows)
    got = pop.set_index("month")["persons"]
    expected = {
        M["2027-01"]: 1200.0,
        M["2027-02"]: 1200 * p76,            # died during January at 76
        M["2027-03"]: 1200 * p76 ** 2,       # February still at 76
        M["2027-04"]: 1200 * p76 ** 2 * p77,  # March at 77
        M["2027-08"]: 1200 * p76 ** 2 * p77 ** 5,
    }
    for month, persons in expected.items():
        assert got[month] == pytest.approx(persons, rel=1e-12)
    assert pop.set_index("month")["age"][M["2027-02"]] == 76 and pop.set_index("month")["age"][M["2027-03"]] == 77
    # deaths of a month = stock × (1 - p)
    assert pop.set_index("month")["deaths"][M["2027-03"]] == pytest.approx(1200 * p76 ** 2 * (1 - p77))

    # pensions: 1,000 yuan a month, +2 % from July (indexation month)
    units = pd.DataFrame([{"scheme": "110", "region": "330102", "contribution": 0.0, "pension": 1000.0,
                           "expenditure": 0.0}])
    fund = fund_table(pop, units, M["2027-01"] - 1, a)  # amounts observed in 2026-12
    region = fund[fund["region"] == "330102"].set_index("month")
    assert region.loc[M["2027-01"], "pensions_yuan"] == pytest.approx(1_200_000.0)
    assert region.loc[M["2027-06"], "pensions_yuan"] == pytest.approx(1200 * p76 ** 2 * p77 ** 3 * 1000)
    assert region.loc[M["2027-07"], "pensions_yuan"] == pytest.approx(1200 * p76 ** 2 * p77 ** 4 * 1020)
    paid = 1000 * 1200 * (1 + p76 + p76 ** 2 * (1 + p77 + p77 ** 2 + p77 ** 3)) \
        + 1020 * 1200 * p76 ** 2 * (p77 ** 4 + p77 ** 5)
    # no reserve, no contributions: the balance is minus what was paid, exhausted in the first month
    assert region.loc[M["2027-08"], "balance_yuan"] == pytest.approx(-paid)
    assert region["reserve_exhausted_year"].iloc[0] == 2027
    total = fund[fund["region"] == "ALL"].set_index("month")
    assert total.loc[M["2027-08"], "balance_yuan"] == pytest.approx(-paid)


def test_contributors_pay_with_base_growth_and_exit_and_new_ones_join() -> None:
    # 100 men 110 born 1990-06 contributing 2,000 a month; no deaths; 12 % exits a year;
    # inflow 6 % a year of the starting 100 = 0.5 a month, entering from the second month.
    start = pd.DataFrame([_cell("110", "1", "1990-06", "contributor", 100.0)])
    a = _closed(exit_rate={"110": 0.12, "120": 0.0, "170": 0.0}, inflow_rate={"110": 0.06, "120": 0.0, "170": 0.0},
                base_growth=0.04, reserve_months=3.0, return_rate=0.0)
    pop = population_table(project_population(start, M["2027-01"], 3, _life({}), load_policy(), a))
    e = 0.88 ** (1 / 12)  # monthly stay probability
    born_1990 = pop[pop["age"] == 36].set_index("month")["persons"]  # 36 in 2027 (June birthday: 36 from 2026-06)
    assert born_1990[M["2027-01"]] == pytest.approx(100.0)
    assert born_1990[M["2027-03"]] == pytest.approx(100 * e ** 2)
    new = pop[pop["age"] == 25]  # entry age 25
    assert new.set_index("month")["new_contributors"][M["2027-02"]] == pytest.approx(0.5)
    assert new.set_index("month")["persons"][M["2027-03"]] == pytest.approx(0.5 + 0.5 * e)
    units = pd.DataFrame([{"scheme": "110", "region": "330102", "contribution": 2000.0, "pension": 0.0,
                           "expenditure": 500.0}])
    fund = fund_table(pop, units, M["2027-01"] - 1, a)  # amounts observed in 2026-12
    r = fund[fund["region"] == "330102"].set_index("month")
    # January: the base grows 4 % (observed in 2026); contributions = contributors × 2,000 × 1.04
    assert r.loc[M["2027-01"], "contributions_yuan"] == pytest.approx(100 * 2080)
    assert r.loc[M["2027-02"], "contributions_yuan"] == pytest.approx((100 * e + 0.5) * 2080)
    # reserve = 3 months × 500; no pensions, so it only grows
    assert r.loc[M["2027-02"], "balance_yuan"] == pytest.approx(1500 + 100 * 2080 + (100 * e + 0.5) * 2080)
    assert pd.isna(r["reserve_exhausted_year"].iloc[0])
    assert r["dependency_ratio"].isna().all()  # no pensioners


# (scheme, sex, birth month, special job, first month as pensioner: reform, no reform) — by hand:
RETIREMENTS = [
    # 110 man born 1966-03: 15 birth months after 1964-12 → +4 months: 60y4m in 2026-07 → from 2026-08;
    # before the reform 60 in 2026-03 → from 2026-04
    ("110", "1", "1966-03", False, "2026-08", "2026-04"),
    # 170 man born 1966-03: the reform does not move 170 → 60 in 2026-03 both ways
    ("170", "1", "1966-03", False, "2026-04", "2026-04"),
    # 170 woman born 1966-08: 60 in 2026-08 both ways
    ("170", "2", "1966-08", False, "2026-09", "2026-09"),
    # 110 woman born 1976-05 (age 50): 17 months after 1974-12 → +1 per 2 started months = +9:
    # 50y9m in 2027-02 → from 2027-03; before: 50 in 2026-05 → from 2026-06
    ("110", "2", "1976-05", False, "2027-03", "2026-06"),
    # 120 woman born 1971-01 (age 55): 13 months after 1969-12 → +4: 55y4m in 2026-05 → from 2026-06;
    # before: 55 in 2026-01 → from 2026-02
    ("120", "2", "1971-01", False, "2026-06", "2026-02"),
    # special job 110 man born 1971-06: 55, never moved → from 2026-07
    ("110", "1", "1971-06", True, "2026-07", "2026-07"),
    # 110 man born 1964-11: before the reform's first birth month → 60 in 2024-11 → already retired
    # on the start: he becomes a pensioner in the first projected month
    ("110", "1", "1964-11", False, "2026-01", "2026-01"),
]


@pytest.mark.parametrize("case", RETIREMENTS, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}{'-special' if c[3] else ''}")
def test_each_scenario_retires_at_the_legal_age_of_policy_md(case: tuple[str, str, str, bool, str, str]) -> None:
    scheme, sex, born, special, reform_from, no_reform_from = case
    start = pd.DataFrame([_cell(scheme, sex, born, "contributor", 10.0, special)])
    for scenario, first in ((REFORM, reform_from), (NO_REFORM, no_reform_from)):
        pop = population_table(project_population(start, month_index(dt.date(2026, 1, 1)), 18, _life({}),
                                                   scenario_policy(load_policy(), scenario), _closed()))
        retired = pop[pop["status"] == "pensioner"]
        assert month_start(int(retired["month"].min())).isoformat()[:7] == first, scenario.name
        assert retired[retired["retirements"] > 0]["retirements"].sum() == pytest.approx(10.0)
        assert (pop[pop["status"] == "contributor"]["month"] < retired["month"].min()).all()


def test_reform_effect_is_one_table_with_both_scenarios() -> None:
    start = pd.DataFrame([_cell(*c[:3], status="contributor", persons=10.0, special=c[3]) for c in RETIREMENTS])
    units = pd.DataFrame([{"scheme": s, "region": "330102", "contribution": 1000.0, "pension": 3000.0,
                           "expenditure": 0.0} for s in ("110", "120", "170")])
    pop, fund = project(start, units, month_index(dt.date(2026, 1, 1)), _life({}), load_policy(), _closed())
    assert set(pop["scenario"]) == set(fund["scenario"]) == {"reform", "no_reform"}
    july = fund[(fund["month"] == month_index(dt.date(2026, 7, 1))) & (fund["region"] == "ALL")]
    by = july.groupby("scenario")[["contributors", "pensioners", "pensions_yuan"]].sum()
    # July 2026: the reform keeps the 110 man born 1966-03 (until 2026-08) and the 110 woman born
    # 1976-05 (until 2027-03) contributing; the 120 woman born 1971-01 retired in June under both,
    # 170 and the special job do not move: 20 contributors more, 20 pensioners fewer, 60,000 yuan
    assert by.loc["reform", "contributors"] - by.loc["no_reform", "contributors"] == pytest.approx(20)
    assert by.loc["no_reform", "pensioners"] - by.loc["reform", "pensioners"] == pytest.approx(20)
    assert by.loc["no_reform", "pensions_yuan"] - by.loc["reform", "pensions_yuan"] == pytest.approx(60_000)
    # May 2026: the 110 man and the 120 woman (no reform: from 2026-02) — again 20 apart
    may = fund[(fund["month"] == month_index(dt.date(2026, 5, 1))) & (fund["region"] == "ALL")]
    assert may.groupby("scenario")["contributors"].sum().diff().abs().iloc[-1] == pytest.approx(20)


def test_mortality_check_compares_observed_with_expected_by_band() -> None:
    at_risk = pd.DataFrame([("1", 62, 1000, 15), ("1", 65, 500, 5), ("2", 85, 200, 20)],
                           columns=["sex", "age", "persons", "deaths"])
    life = _life({62: 0.01, 65: 0.02, 85: 0.08})
    bands = [{"code": "60-69", "label": "60-69岁", "from": 60, "to": 70}, {"code": "80+", "label": "80岁及以上", "from": 80}]
    out = mortality_check(at_risk, life, bands).set_index(["age_band", "sex"])
    # 60-69 men: expected 1000 × 0.01 + 500 × 0.02 = 20, observed 20 → ratio 1
    assert out.loc[("60-69", "1"), "expected_deaths"] == pytest.approx(20.0)
    assert out.loc[("60-69", "1"), "ratio"] == pytest.approx(1.0)
    # 80+ women: expected 200 × 0.08 = 16, observed 20 → 1.25
    assert out.loc[("80+", "2"), "ratio"] == pytest.approx(1.25)


def test_conf_tables_load() -> None:
    life = load_life_table()
    assert len(life) == 2 * 101 and life["qx"].between(0, 1).all()
    # mortality rises with age after childhood, and men die more than women at every age from 1
    for _, g in life.groupby("sex"):
        assert g.sort_values("age")["qx"].iloc[10:].is_monotonic_increasing
    men, women = (life[life["sex"] == s].set_index("age")["qx"] for s in ("1", "2"))
    assert (men.iloc[1:] > women.iloc[1:]).all()
    a = load_assumptions()
    assert {s.name for s in a.scenarios} == {"reform", "no_reform"} and a.horizon_months % 12 == 0

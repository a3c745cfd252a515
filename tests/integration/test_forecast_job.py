"""The `forecast` step (jobs/forecast.py) through Spark and Delta on a lake of five persons written by
hand, so that every figure below can be worked out from POLICY.md, conf/projection.yaml and
conf/life_table.yaml.

Run date 2027-01-05: observations are 2026-01..2026-12, the projection starts in 2027-02.

- P1 man, 110, 330102, born 1967-03, contributes 2026 on a base of 8,000: legal date with the reform
  27 birth months after 1964-12 → +7 months → 60y7m in 2027-10 → pensioner from 2027-11;
  without the reform 60 in 2027-03 → from 2027-04.
- P2 woman, 110, 330102, born 1950-05, pensioner paid 4,000 a month.
- P3 man, 170, 330102, born 1966-03, one yearly contribution of 1,000 in 2026-03: 170 is not moved
  by the reform, he is past 60 (2026-03) and a pensioner from the first projected month either way.
- P4 man, 110, born 1940-07, pensioner, died 2026-06-10: not projected; one observed death at 85.
- P5 woman, 120, 330109, born 1975-02, contributes 2026 on a base of 6,000.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lakehouse import lake
from lakehouse.config import load_conf
from lakehouse.projection import load_life_table
from tests.conftest import make_env

RUN_DATE = dt.date(2027, 1, 5)
MONTHS_2026 = [dt.date(2026, m, 1) for m in range(1, 13)]


def _person_rows() -> pd.DataFrame:
    rows = [("P1", "1", dt.date(1967, 3, 10), "330102", False), ("P2", "2", dt.date(1950, 5, 2), "330102", True),
            ("P3", "1", dt.date(1966, 3, 9), "330102", False), ("P4", "1", dt.date(1940, 7, 1), "330102", True),
            ("P5", "2", dt.date(1975, 2, 3), "330109", False)]
    df = pd.DataFrame(rows, columns=["person_ref", "sex", "birth_date", "region", "is_pensioner"])
    return df.assign(special_job=False)


def _contributions() -> pd.DataFrame:
    rows = [("P1", "E1", "110", m, 8000.0, 1280.0, 640.0) for m in MONTHS_2026]
    rows += [("P5", "E2", "120", m, 6000.0, 960.0, 480.0) for m in MONTHS_2026]
    rows += [("P3", None, "170", dt.date(2026, 3, 1), 1000.0, 0.0, 1000.0)]
    rows += [("P4", "E1", "110", dt.date(2000, 1, 1), 3000.0, 480.0, 240.0)]  # long ago: insured before 2026
    return pd.DataFrame(rows, columns=["person_ref", "employer_id", "scheme", "contribution_month", "base",
                                       "employer_amount", "personal_amount"])


def _payments() -> pd.DataFrame:
    months = [dt.date(2024 + i // 12, i % 12 + 1, 1) for i in range(36)]
    rows = [("P2", "110", m, 4000.0, "PAID") for m in months]
    rows += [("P4", "110", m, 3500.0, "PAID") for m in months if m <= dt.date(2026, 6, 1)]
    return pd.DataFrame(rows, columns=["person_ref", "scheme", "pay_month", "amount", "status"])


def _fund_monthly() -> pd.DataFrame:
    """36 months of one region's 110 flows with trend and a yearly season (backtest: 24 + 12)."""
    t = np.arange(36)
    months = [dt.date(2024 + i // 12, i % 12 + 1, 1) for i in t]
    rng = np.random.default_rng(3)
    return pd.DataFrame({
        "month": months, "scheme": "110", "region": "330102",
        "income_yuan": 50_000 + 300 * t + 4_000 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 100, 36),
        "expenditure_yuan": 40_000 + 500 * t + 3_000 * np.cos(2 * np.pi * t / 12) + rng.normal(0, 100, 36),
    })


@pytest.fixture(scope="module")
def forecast_lake(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> Any:
    from jobs import forecast

    env = make_env(Path(tmp_path_factory.mktemp("forecast")))
    tables = {"silver.person": _person_rows(), "silver.contribution": _contributions(),
              "silver.pension_payment": _payments(), "gold.fund_monthly": _fund_monthly(),
              "silver.death_event": pd.DataFrame({"person_ref": ["P4"], "death_date": [dt.date(2026, 6, 10)]})}
    for name, pdf in tables.items():
        lake.overwrite(spark.createDataFrame(pdf), env, name)
    counts = forecast.run(RUN_DATE, env, "test_forecast")
    read = {t: lake.read(spark, env, f"gold.{t}").toPandas() for t in forecast.TABLES}
    return env, counts, read


def test_start_population_and_money_per_head(forecast_lake: Any) -> None:
    _, counts, t = forecast_lake
    assert counts["cells"] == 4  # P4 is dead
    fund = t["fund_projection"]
    first = fund[(fund["month"] == dt.date(2027, 2, 1)) & (fund["scenario"] == "reform")].set_index(["scheme", "region"])
    # 110 in 330102: P1 contributes 8,000 × 24 % = 1,920, ×1.04 (base growth: January 2027 has begun)
    assert first.loc[("110", "330102"), "contributors"] == pytest.approx(1.0)
    assert first.loc[("110", "330102"), "contributions_yuan"] == pytest.approx(1920 * 1.04)
    # P2 is paid 4,000 (indexation only from July)
    assert first.loc[("110", "330102"), "pensions_yuan"] == pytest.approx(4000.0)
    # 120 in 330109: 6,000 × 24 % × 1.04
    assert first.loc[("120", "330109"), "contributions_yuan"] == pytest.approx(1440 * 1.04)
    # 170: P3 is past 60, a pensioner from the first month; no 170 payment observed → 0 yuan a head
    assert first.loc[("170", "330102"), "pensioners"] == pytest.approx(1.0)
    assert first.loc[("170", "330102"), "contributors"] == pytest.approx(0.0)
    # the reserve: 12 months × 4,000 of 2026-12 expenditure, + 2.5 %/12 return, + January's flows
    assert first.loc[("110", "330102"), "balance_yuan"] == pytest.approx(
        48_000 * 1.025 ** (1 / 12) + 1920 * 1.04 - 4000.0)


def test_reform_moves_p1_and_not_the_170_man(forecast_lake: Any) -> None:
    _, _, t = forecast_lake
    pop = t["population_projection"]
    p1 = pop[(pop["scheme"] == "110") & (pop["sex"] == "1") & (pop["age"] == 60) & (pop["status"] == "pensioner")]
    first = p1.groupby("scenario")["month"].min()
    assert first["reform"] == dt.date(2027, 11, 1) and first["no_reform"] == dt.date(2027, 4, 1)
    p3 = pop[(pop["scheme"] == "170") & (pop["status"] == "pensioner")].groupby("scenario")["month"].min()
    assert p3["reform"] == p3["no_reform"] == dt.date(2027, 2, 1)
    assert set(pop["scenario_label"]) == {"渐进式延迟退休（按公布方案）", "不延迟退休（2025年前退休年龄）"}


def test_mortality_check_observed_against_life_table(forecast_lake: Any) -> None:
    _, _, t = forecast_lake
    check = t["mortality_check"].set_index(["age_band", "sex"])
    life = load_life_table().set_index(["sex", "age"])["qx"]
    # P4: 85 on 2026-01-01, died in the window; P2: 75, alive; P1 (58) and P5 (50) were insured
    # before 2026 only if they paid before: they did not, so they are not at risk. P3 neither.
    assert check.loc[("80+", "1"), "observed_deaths"] == 1
    assert check.loc[("80+", "1"), "expected_deaths"] == pytest.approx(life[("1", 85)])
    assert check.loc[("70-79", "2"), "expected_deaths"] == pytest.approx(life[("2", 75)])
    assert check.loc[("70-79", "2"), "observed_deaths"] == 0
    assert len(check) == 2


def test_fund_forecast_with_intervals_backtest_and_mlflow(forecast_lake: Any) -> None:
    env, counts, t = forecast_lake
    fc = t["fund_forecast"]
    assert counts["series"] == 4 and counts["backtested"] == 4  # income/expenditure × ALL/330102
    assert len(fc) == 4 * 12 and fc["month"].min() == dt.date(2027, 1, 1)
    assert (fc["lo_95"] <= fc["yhat"]).all() and (fc["yhat"] <= fc["hi_95"]).all()
    assert fc["mape_model"].notna().all() and fc["mape_baseline"].notna().all()
    import mlflow

    mlflow.set_tracking_uri(env.mlflow_tracking_uri)
    runs = mlflow.search_runs(experiment_names=["fund_forecast"])
    assert len(runs) == 1 and "metrics.mape_expenditure_all_model" in runs.columns
    assert runs["metrics.mape_expenditure_all_model"].iloc[0] < runs["metrics.mape_expenditure_all_baseline"].iloc[0]


def test_every_table_is_documented_column_for_column(forecast_lake: Any) -> None:
    _, _, t = forecast_lake
    for name, df in t.items():
        doc = load_conf(f"tables/gold.{name}.yaml")
        assert doc["table"] == f"gold.{name}" and doc["grain"].startswith("one row per") and doc["description"]
        assert set(df.columns) == set(doc["columns"]), name
        assert len(df) > 0, name

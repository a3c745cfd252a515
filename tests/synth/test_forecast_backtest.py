"""Backtest of the short-term forecast on a generated city with three years of monthly history.

The generator writes the pension history from 2024-01 (conf/synth.yaml `history.pension`), so a
city whose first extract is 2027-01-02 has 36 complete months (2024-01..2026-12). The series are
summed straight from the delivered ic80_payment.csv / ac43_contribution.csv with pandas: building
the lake for this city through ingest → silver → gold takes minutes of Spark on the reference
machine, too slow for the default suite (the Spark path is tests/integration/test_forecast_job.py).
Hold out 2026-01..2026-12: AutoETS must beat the seasonal-naive baseline on aggregate expenditure.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from lakehouse.synth import generate_city
from models.forecast.short_term import backtest, load_forecast_conf, series_frame

START = dt.date(2027, 1, 2)
STANDARD = {"11": "110", "12": "120", "17": "170", "JG": "120"}  # old scheme codes (conf/codes.yaml)


@pytest.fixture(scope="module")
def fund_monthly(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """Monthly income and expenditure per standard scheme (region ALL) from the initial load."""
    city = generate_city(1000, 2, 5, tmp_path_factory.mktemp("forecast-city"), start=START)
    folder = Path(city.out) / "landing" / "pension" / START.isoformat()
    pay = pd.read_csv(folder / "ic80_payment.csv", dtype=str)
    pay = pay[pay["AAE117"] == "1"]
    con = pd.read_csv(folder / "ac43_contribution.csv", dtype=str)
    frames = []
    for df, amount, measure in ((pay, pay["AAE019"].astype(float), "expenditure_yuan"),
                                (con, con["AAE020"].astype(float) + con["AAE022"].astype(float), "income_yuan")):
        frames.append(pd.DataFrame({"month": pd.to_datetime(df["AAE002"], format="%Y%m").dt.date,
                                    "scheme": df["AAE140"].replace(STANDARD), measure: amount}))
    both = pd.concat(frames).fillna(0.0).groupby(["month", "scheme"], as_index=False).sum()
    return both.assign(region="ALL_CITY")


def test_three_years_of_history_and_model_beats_seasonal_naive_on_expenditure(fund_monthly: pd.DataFrame) -> None:
    conf = load_forecast_conf()
    series = series_frame(fund_monthly, dt.date(2026, 12, 1), conf)
    months = series.groupby("unique_id").size()
    assert months["expenditure|110|ALL"] == 36 and series["ds"].min() == pd.Timestamp("2024-01-01")
    # aggregate expenditure over every scheme, as one series
    total = series[series["unique_id"].str.startswith("expenditure|") & series["unique_id"].str.endswith("|ALL")]
    total = total.groupby("ds", as_index=False)["y"].sum().assign(unique_id="expenditure|all|ALL")
    scores = backtest(pd.concat([series, total], ignore_index=True), conf).set_index("unique_id")
    aggregate = scores.loc["expenditure|all|ALL"]
    assert aggregate["months"] == 36
    assert aggregate["mape_model"] < aggregate["mape_baseline"], scores
    # every series long enough was backtested (income and expenditure of 110, 120, 170, ALL and region)
    assert {f"{m}|{s}|ALL" for m in ("income", "expenditure") for s in ("110", "120", "170")} <= set(scores.index)

"""Backtest of both forecasts on a generated city with three years of monthly history (issue 15 point 5).

The generator writes the pension history from 2024-01 (conf/synth.yaml `history.pension`), so a
city whose first extract is 2027-01-02 has 36 complete months (2024-01..2026-12). Its frames are
read straight from the initial load (models/forecast/city_inputs.py): building the lake for this
city through ingest → silver → gold takes minutes of Spark, too slow for the default suite (the
Spark path of the step is tests/integration/test_forecast_job.py). The projection's starting cells
and money per head still come from the job's Spark functions (jobs/forecast_backtest.py).

Hold out 2026-01..2026-12: the short-term forecast (AutoETS) and the cohort-component projection
must each beat the seasonal-naive baseline on aggregate expenditure. The full figures of a bigger
city are in bench/results/forecast_backtest_*.md (`lakehouse forecast --backtest`).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from jobs.forecast_backtest import CITY_START, run_backtest, write_report
from lakehouse.synth import generate_city
from models.forecast.backtest import ALL_SCHEMES, METHODS, aggregate
from models.forecast.city_inputs import CityFrames, read_city
from models.forecast.short_term import load_forecast_conf, series_frame

LAST_MONTH = dt.date(2026, 12, 1)
SCHEMES = ("110", "120", "170")


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> CityFrames:
    """1,000 persons, the initial load only (it holds the whole history)."""
    city = generate_city(1000, 1, 5, tmp_path_factory.mktemp("forecast-city"), start=CITY_START)
    return read_city(Path(city.landing), CITY_START)


@pytest.fixture(scope="module")
def scores(frames: CityFrames, spark: Any) -> pd.DataFrame:
    return run_backtest(spark, frames, LAST_MONTH)


def test_city_has_three_years_of_monthly_history(frames: CityFrames) -> None:
    series = series_frame(frames.fund_monthly, LAST_MONTH, load_forecast_conf())
    months = series.groupby("unique_id").size()
    assert months["expenditure|110|ALL"] == months["income|110|ALL"] == 36
    assert series["ds"].min() == pd.Timestamp("2024-01-01") and series["ds"].max() == pd.Timestamp(LAST_MONTH)


@pytest.mark.parametrize("method", METHODS)
def test_forecast_beats_seasonal_naive_on_aggregate_expenditure(scores: pd.DataFrame, method: str) -> None:
    row = aggregate(scores, "expenditure", method)
    assert row["months"] == 36
    assert row["mape_model"] < row["mape_baseline"], scores[scores["method"] == method].to_string()


def test_every_series_is_scored_by_both_methods(scores: pd.DataFrame) -> None:
    """Per scheme over all regions, per scheme and region, and the aggregates: the same series for both."""
    by_method = {m: set(scores.loc[scores["method"] == m, "unique_id"]) for m in METHODS}
    assert by_method["short_term"] == by_method["projection"]
    expected = {f"{m}|{s}|ALL" for m in ("income", "expenditure") for s in (*SCHEMES, ALL_SCHEMES)}
    assert expected <= by_method["projection"]
    regional = {u for u in by_method["projection"] if not u.endswith("|ALL")}
    assert len(regional) >= 6 * len(SCHEMES)  # six districts × three schemes, expenditure at least
    assert scores["mape_baseline"].notna().all()


def test_report_holds_every_figure(scores: pd.DataFrame, tmp_path: Path) -> None:
    md, js = write_report(scores, {"name": "forecast_backtest_test"}, tmp_path)
    doc = json.loads(js.read_text(encoding="utf-8"))
    assert len(doc["scores"]) == len(scores) > 0
    text = md.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith(("| short_term |", "| projection |"))]
    assert len(rows) == len(scores)
    assert "| expenditure | projection |" in text and "| expenditure | short_term |" in text

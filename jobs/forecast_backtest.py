"""Backtest of the `forecast` step on a generated city (`lakehouse forecast --backtest`, issue 15 point 5).

The city is generated with its first extract in January, so the initial pension delivery holds
three complete years (conf/synth.yaml `history.pension` starts 2024-01). The last 12 months are
held out; both the short-term forecast and the cohort-component projection are scored against them
beside the seasonal-naive baseline (models/forecast/backtest.py). The projection starts from the
cells and money per head of the job's own Spark functions (jobs/forecast.py `start_cells`,
`money_inputs`), here over the city's frames as of the last day before the hold-out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from pyspark.sql import SparkSession

from jobs.forecast import money_inputs, start_cells
from lakehouse.policy import load_policy
from lakehouse.projection import (
    load_assumptions,
    load_life_table,
    month_index,
    month_start,
    project,
    unit_amounts,
)
from models.forecast.backtest import (
    Holdout,
    combine,
    projection_series,
    report_markdown,
    seasonal_naive_scores,
    short_term_scores,
    with_aggregates,
)
from models.forecast.city_inputs import CityFrames, read_city
from models.forecast.short_term import ForecastConf, load_forecast_conf, series_frame

# First extract of the backtest city: its initial load holds 2024-01..2026-12 (36 complete months).
CITY_START = dt.date(2027, 1, 2)
BACKTEST_SCENARIO = "reform"  # the law in force during the hold-out


def projection_fund(spark: SparkSession, frames: CityFrames, holdout: Holdout, months: int) -> pd.DataFrame:
    """gold.fund_projection rows of a projection started on the first held-out month from the persons
    insured on the day before it, with the money per head of the observation window before it."""
    a = dataclasses.replace(load_assumptions(), horizon_months=months)
    run_date = holdout.first - dt.timedelta(days=1)
    observed = month_index(holdout.last_observed)
    first = month_start(observed - a.observation_months + 1)
    schemes = list(a.schemes)
    person = spark.createDataFrame(frames.person_on(run_date))
    contribution, payment = spark.createDataFrame(frames.contribution), spark.createDataFrame(frames.pension_payment)
    deaths = spark.createDataFrame(frames.death_event)
    cells = start_cells(person, contribution, payment, deaths, run_date, first, schemes).toPandas()
    contrib, paid = (df.toPandas() for df in money_inputs(person, contribution, payment, first,
                                                          holdout.last_observed, schemes))
    policy = load_policy()
    _, fund = project(cells, unit_amounts(contrib, paid, policy, a), month_index(holdout.first), load_life_table(),
                      policy, a, observed)
    return fund


def run_backtest(spark: SparkSession, frames: CityFrames, last_month: dt.date,
                 conf: ForecastConf | None = None) -> pd.DataFrame:
    """Scores of both methods on the `conf.horizon` months ending with `last_month`."""
    conf = conf or load_forecast_conf()
    holdout = Holdout.ending(last_month, conf.horizon)
    series = series_frame(frames.fund_monthly, holdout.last, conf)
    short = short_term_scores(series, holdout, conf)
    fund = projection_fund(spark, frames, holdout, conf.horizon)
    projected = seasonal_naive_scores(projection_series(fund, BACKTEST_SCENARIO),
                                      with_aggregates(series), holdout, conf.season_length)
    return combine(short, projected)


def write_report(scores: pd.DataFrame, meta: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """`<folder>/<name>.md` (readable) and `<name>.json` (every figure); returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    name = str(meta["name"])
    md, js = folder / f"{name}.md", folder / f"{name}.json"
    md.write_text(report_markdown(scores, meta), encoding="utf-8")
    records = json.loads(scores.to_json(orient="records"))  # NaN → null
    js.write_text(json.dumps({"meta": meta, "scores": records}, ensure_ascii=False, indent=1, default=str) + "\n",
                  encoding="utf-8")
    return md, js


def city_backtest(spark: SparkSession, persons: int, seed: int, folder: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Generate a city with three years of history, backtest both methods, write the report."""
    from lakehouse.synth import generate_city

    conf = load_forecast_conf()
    with tempfile.TemporaryDirectory(prefix="forecast-backtest-") as tmp:
        city = generate_city(persons, 1, seed, Path(tmp), start=CITY_START)
        frames = read_city(Path(city.landing), CITY_START)
    last = month_start(month_index(CITY_START) - 1)
    scores = run_backtest(spark, frames, last, conf)
    holdout = Holdout.ending(last, conf.horizon)
    months = frames.fund_monthly["month"]
    meta = {"name": f"forecast_backtest_{persons}x{seed}", "persons": persons, "seed": seed,
            "city_start": CITY_START, "history": f"{min(months):%Y-%m}..{max(months):%Y-%m}",
            "holdout": f"{holdout.first:%Y-%m}..{holdout.last:%Y-%m}", "scenario": BACKTEST_SCENARIO,
            "model": "AutoETS", "baseline": "SeasonalNaive", "season_length": conf.season_length}
    write_report(scores, meta, folder)
    return scores, meta

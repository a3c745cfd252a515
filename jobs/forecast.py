"""Monthly step `forecast`: population and fund projection under each scenario, mortality check,
and 12-month forecasts of fund income and expenditure.

Spark reads silver and gold and reduces them to small pandas frames (cells of persons, money per
head, a mortality exposure, monthly fund series); the modelling is pure pandas in
lakehouse/projection.py and models/forecast/short_term.py; the results are written back as

- `gold.population_projection` — scenario × month × region × scheme × sex × age × status
- `gold.fund_projection` — scenario × month × scheme × region (and ALL regions): contributions,
  pensions, balance, dependency ratio, the year the reserve runs out
- `gold.mortality_check` — age band × sex: observed deaths of the last 12 complete months vs the
  life table's expectation
- `gold.fund_forecast` — as_of × measure × scheme × region × month: AutoETS forecast with prediction
  intervals and the backtest MAPE beside the seasonal-naive baseline (MLflow experiment fund_forecast)

Run date D: observations are the 12 complete months before D's month; the projection starts with
the persons insured on D and runs from the month after D's month.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse import lake
from lakehouse.config import Env, load_conf
from lakehouse.policy import load_policy
from lakehouse.projection import (
    CONTRIBUTOR,
    PENSIONER,
    Assumptions,
    load_assumptions,
    load_life_table,
    month_index,
    month_start,
    mortality_check,
    project,
    unit_amounts,
)
from lakehouse.spark import get_spark

log = logging.getLogger(__name__)

TABLES = ("population_projection", "fund_projection", "mortality_check", "fund_forecast")


def window(run_date: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """First day of the first and of the last complete month of the observation window."""
    last = month_index(run_date) - 1
    return month_start(last - months + 1), month_start(last)


def _month_no(col: str) -> F.Column:
    return (F.year(col) * 12 + F.month(col) - 1).cast("long")


def _regions(person: DataFrame) -> DataFrame:
    return person.select("person_ref", F.coalesce("region", F.lit("000000")).alias("region"))


def _alive_on(person: DataFrame, deaths: DataFrame, day: dt.date) -> DataFrame:
    dead = deaths.where(F.col("death_date") <= F.lit(day)).select("person_ref")
    return person.join(dead, "person_ref", "left_anti")


def _latest_scheme(df: DataFrame, month_col: str) -> DataFrame:
    """person_ref → scheme of the person's latest month (a tie: the lowest code)."""
    latest = F.max(F.struct(F.col(month_col).alias("month"), (-F.col("scheme").cast("int")).alias("neg_scheme")))
    return (df.groupBy("person_ref").agg(latest.alias("m"))
            .select("person_ref", (-F.col("m.neg_scheme")).cast("string").alias("scheme")))


def start_cells(person: DataFrame, contributions: DataFrame, payments: DataFrame, deaths: DataFrame,
                run_date: dt.date, first: dt.date, schemes: list[str]) -> DataFrame:
    """Cells of the persons insured on the run date: pensioners (离退休, scheme of their latest paid
    pension) and contributors (not retired, a contribution in the window, scheme of the latest one)."""
    alive = _alive_on(person.where(F.col("sex").isin("1", "2") & F.col("birth_date").isNotNull()), deaths, run_date)
    paid = payments.where((F.col("status") == "PAID") & (F.col("amount") > 0) & F.col("scheme").isin(schemes)
                          & (F.col("pay_month") <= F.lit(run_date)))
    paying = contributions.where((F.col("contribution_month") >= F.lit(first)) & F.col("scheme").isin(schemes)
                                 & (F.col("contribution_month") <= F.lit(run_date)))
    pensioners = alive.where(F.col("is_pensioner")).join(_latest_scheme(paid, "pay_month"), "person_ref") \
        .withColumn("status", F.lit(PENSIONER))
    contributors = alive.where(~F.col("is_pensioner")).join(_latest_scheme(paying, "contribution_month"), "person_ref") \
        .withColumn("status", F.lit(CONTRIBUTOR))
    return (pensioners.unionByName(contributors)
            .select(F.coalesce("region", F.lit("000000")).alias("region"), "scheme", "sex",
                    _month_no("birth_date").alias("birth_month"),
                    F.coalesce("special_job", F.lit(False)).alias("special_job"), "status")
            .groupBy("region", "scheme", "sex", "birth_month", "special_job", "status")
            .agg(F.count(F.lit(1)).cast("double").alias("persons")))


def money_inputs(person: DataFrame, contributions: DataFrame, payments: DataFrame, first: dt.date,
                 last: dt.date, schemes: list[str]) -> tuple[DataFrame, DataFrame]:
    """(contributions of the window, pensions paid in its last month) per scheme × region."""
    regions = _regions(person)
    c = (contributions.where((F.col("contribution_month") >= F.lit(first)) & (F.col("contribution_month") <= F.lit(last))
                             & F.col("scheme").isin(schemes))
         .join(regions, "person_ref", "left").fillna({"region": "000000"})
         .groupBy("scheme", "region")
         .agg(F.sum("base").cast("double").alias("base_sum"), F.count(F.lit(1)).alias("rows"),
              F.sum(F.col("employer_amount") + F.col("personal_amount")).cast("double").alias("income"),
              F.countDistinct("person_ref").alias("contributors")))
    p = (payments.where((F.col("pay_month") == F.lit(last)) & (F.col("status") == "PAID") & (F.col("amount") > 0)
                        & F.col("scheme").isin(schemes))
         .join(regions, "person_ref", "left").fillna({"region": "000000"})
         .groupBy("scheme", "region")
         .agg(F.sum("amount").cast("double").alias("amount"), F.countDistinct("person_ref").alias("payees")))
    return c, p


def mortality_exposure(person: DataFrame, contributions: DataFrame, payments: DataFrame, deaths: DataFrame,
                       first: dt.date, end: dt.date) -> DataFrame:
    """sex × completed age on `first`: insured persons (a contribution or a pension payment before
    `first`) alive on `first`, and how many of them died before `end`."""
    known = (contributions.where(F.col("contribution_month") < F.lit(first)).select("person_ref")
             .unionByName(payments.where(F.col("pay_month") < F.lit(first)).select("person_ref")).distinct())
    insured = person.join(known, "person_ref", "left_semi")
    at_risk = _alive_on(insured.where(F.col("sex").isin("1", "2") & F.col("birth_date").isNotNull()), deaths,
                        first - dt.timedelta(days=1))
    died = deaths.where((F.col("death_date") >= F.lit(first)) & (F.col("death_date") < F.lit(end))) \
        .select("person_ref", F.lit(1).alias("died"))
    age = (F.floor(F.months_between(F.lit(first), F.col("birth_date")) / 12)).cast("int")
    return (at_risk.join(died, "person_ref", "left")
            .groupBy("sex", age.alias("age"))
            .agg(F.count(F.lit(1)).cast("double").alias("persons"), F.count("died").cast("double").alias("deaths")))


# --- pandas → gold ---------------------------------------------------------------------------------


def _dated(df: pd.DataFrame, as_of: dt.date, labels: dict[str, str] | None = None) -> pd.DataFrame:
    out = df.copy()
    if "month" in out:
        out["month"] = [month_start(int(m)) for m in out["month"]]
    if labels is not None:
        out["scenario_label"] = out["scenario"].map(labels)
    out.insert(0, "as_of", as_of)
    return out


def _write(spark: SparkSession, env: Env, pdf: pd.DataFrame, name: str, history: bool, as_of: dt.date) -> None:
    df = spark.createDataFrame(pdf)
    if history:  # small tables keep every run (forecasts can be judged later); replace this run's rows
        lake.replace_where(df, env, f"gold.{name}", f"as_of = '{as_of.isoformat()}'")
    else:
        lake.overwrite(df, env, f"gold.{name}")


def _track(env: Env, run_date: dt.date, run_id: str, a: Assumptions, scores: pd.DataFrame,
           fc: pd.DataFrame, fund: pd.DataFrame) -> None:
    """One MLflow run per forecast date: parameters, backtest MAPE, the forecast and the fund outlook."""
    import mlflow

    from models.forecast import EXPERIMENT
    from models.forecast.short_term import summary
    from models.registry import use_tracking

    experiment_id = use_tracking(env, EXPERIMENT)
    conf = load_conf("forecast.yaml")
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"forecast_{run_date}",
                          tags={"run_id": run_id, "as_of": str(run_date)}):
        mlflow.log_params({**{f"forecast.{k}": v for k, v in conf.items()},
                           "projection.horizon_months": a.horizon_months, "projection.base_growth": a.base_growth,
                           "projection.indexation": a.indexation, "projection.return_rate": a.return_rate,
                           "projection.scenarios": ",".join(s.name for s in a.scenarios)})
        mlflow.log_metrics(summary(scores))
        outlook = (fund[fund["region"] == "ALL"].groupby(["scenario", "scheme"])["reserve_exhausted_year"].min()
                   .reset_index())
        with tempfile.TemporaryDirectory() as tmp:
            for name, df in (("forecast.csv", fc), ("backtest.csv", scores), ("reserve_outlook.csv", outlook)):
                df.to_csv(Path(tmp) / name, index=False)
                mlflow.log_artifact(str(Path(tmp) / name))


def run(run_date: dt.date, env: Env, run_id: str) -> dict[str, int]:
    """Project, check mortality, forecast; write the four gold tables and the MLflow run."""
    from models.forecast.short_term import (
        backtest,
        forecast,
        forecast_table,
        load_forecast_conf,
        series_frame,
    )

    spark = get_spark(env, "forecast")
    a, policy, life = load_assumptions(), load_policy(), load_life_table()
    first, last = window(run_date, a.observation_months)
    schemes = list(a.schemes)
    s = {n: lake.read(spark, env, f"silver.{n}") for n in ("person", "contribution", "pension_payment", "death_event")}
    cells = start_cells(s["person"], s["contribution"], s["pension_payment"], s["death_event"], run_date, first,
                        schemes).toPandas()
    contrib, paid = (df.toPandas() for df in money_inputs(s["person"], s["contribution"], s["pension_payment"],
                                                          first, last, schemes))
    units = unit_amounts(contrib, paid, policy, a)
    population, fund = project(cells, units, month_index(run_date) + 1, life, policy, a, month_index(last))
    labels = {sc.name: sc.label for sc in a.scenarios}
    end = month_start(month_index(last) + 1)
    exposure = mortality_exposure(s["person"], s["contribution"], s["pension_payment"], s["death_event"],
                                  first, end).toPandas()
    check = mortality_check(exposure, life, load_conf("age_bands.yaml")["bands"]).assign(
        window_from=first, window_to=last)

    fconf = load_forecast_conf()
    series = series_frame(lake.read(spark, env, "gold.fund_monthly").toPandas(), last, fconf)
    scores = backtest(series, fconf)
    fc = forecast(series, fconf)
    _write(spark, env, _dated(population, run_date, labels), "population_projection", False, run_date)
    _write(spark, env, _dated(fund, run_date, labels), "fund_projection", False, run_date)
    _write(spark, env, _dated(check, run_date), "mortality_check", True, run_date)
    _write(spark, env, forecast_table(fc, scores, run_date), "fund_forecast", True, run_date)
    _track(env, run_date, run_id, a, scores, fc, fund)
    counts = {"cells": len(cells), "population_rows": len(population), "fund_rows": len(fund),
              "series": int(series["unique_id"].nunique()) if len(series) else 0, "backtested": len(scores)}
    log.info("forecast %s: %s", run_date, counts)
    return counts

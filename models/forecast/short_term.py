"""12-month forecasts of monthly fund income and expenditure with statsforecast (pure pandas).

Each series is one measure (income, expenditure) of one scheme, either over all regions or for one
region; its id is `measure|scheme|region`. The model (AutoETS) is judged against the seasonal-naive
baseline on a hold-out of the last `horizon` months (MAPE per series), then refitted on the whole
history to forecast with prediction intervals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lakehouse.config import load_conf

ALL_REGIONS = "ALL"


@dataclass(frozen=True)
class ForecastConf:
    """conf/forecast.yaml."""

    horizon: int
    season_length: int
    levels: tuple[int, ...]
    min_history: int
    min_train: int
    schemes: tuple[str, ...]
    measures: tuple[str, ...]

    @classmethod
    def from_conf(cls, raw: Mapping[str, Any]) -> ForecastConf:
        """Parse conf/forecast.yaml (model and baseline are fixed: AutoETS vs SeasonalNaive)."""
        if (raw.get("model"), raw.get("baseline")) != ("AutoETS", "SeasonalNaive"):
            raise ValueError("forecast.yaml: only model AutoETS with baseline SeasonalNaive is supported")
        return cls(int(raw["horizon_months"]), int(raw["season_length"]), tuple(int(x) for x in raw["levels"]),
                   int(raw["min_history_months"]), int(raw["min_train_months"]),
                   tuple(str(s) for s in raw["schemes"]), tuple(str(m) for m in raw["measures"]))


def load_forecast_conf() -> ForecastConf:
    """conf/forecast.yaml."""
    return ForecastConf.from_conf(load_conf("forecast.yaml"))


def series_frame(fund_monthly: pd.DataFrame, last_month: dt.date, conf: ForecastConf) -> pd.DataFrame:
    """Long frame unique_id, ds, y from gold.fund_monthly rows (month, scheme, region, income_yuan,
    expenditure_yuan) up to `last_month` (the last complete month).

    Months without a row inside a series' span count as 0 (nothing paid or received). Series shorter
    than `min_history` months, or all zero, are left out.
    """
    df = fund_monthly[fund_monthly["scheme"].isin(conf.schemes)].copy()
    df["ds"] = pd.to_datetime(df["month"])
    df = df[df["ds"] <= pd.Timestamp(last_month)]
    long = df.melt(id_vars=["ds", "scheme", "region"], value_vars=[f"{m}_yuan" for m in conf.measures],
                   var_name="measure", value_name="y")
    long["measure"] = long["measure"].str.removesuffix("_yuan")
    long["y"] = long["y"].astype(float)
    total = long.groupby(["measure", "scheme", "ds"], as_index=False)["y"].sum().assign(region=ALL_REGIONS)
    both = pd.concat([total, long.groupby(["measure", "scheme", "region", "ds"], as_index=False)["y"].sum()])
    both["unique_id"] = both["measure"] + "|" + both["scheme"] + "|" + both["region"].astype(str)
    out = []
    for uid, g in both.groupby("unique_id"):
        span = pd.date_range(g["ds"].min(), pd.Timestamp(last_month), freq="MS")
        s = g.set_index("ds")["y"].reindex(span, fill_value=0.0)
        if len(s) >= conf.min_history and (s != 0).any():
            out.append(pd.DataFrame({"unique_id": uid, "ds": span, "y": s.to_numpy()}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["unique_id", "ds", "y"])


def _models(conf: ForecastConf) -> list[Any]:
    from statsforecast.models import AutoETS, SeasonalNaive

    return [AutoETS(season_length=conf.season_length), SeasonalNaive(season_length=conf.season_length)]


def mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute percentage error over the months with a non-zero actual value (NaN if none)."""
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    keep = actual != 0
    return float(np.mean(np.abs(actual[keep] - predicted[keep]) / np.abs(actual[keep]))) if keep.any() else float("nan")


def backtest(series: pd.DataFrame, conf: ForecastConf) -> pd.DataFrame:
    """Hold out the last `horizon` months of every series long enough: unique_id, months, mape_model,
    mape_baseline, and the hold-out predictions (ds, y, AutoETS, SeasonalNaive) for the report."""
    from statsforecast import StatsForecast

    lengths = series.groupby("unique_id")["ds"].size()
    long_enough = lengths[lengths >= conf.horizon + conf.min_train].index
    data = series[series["unique_id"].isin(long_enough)]
    if data.empty:
        return pd.DataFrame(columns=["unique_id", "months", "mape_model", "mape_baseline"])
    data = data.sort_values(["unique_id", "ds"])
    held_out = data.groupby("unique_id").cumcount(ascending=False) < conf.horizon
    train, test = data[~held_out], data[held_out]
    sf = StatsForecast(models=_models(conf), freq="MS", n_jobs=1)
    pred = sf.forecast(h=conf.horizon, df=train).merge(test, on=["unique_id", "ds"])
    rows = [{"unique_id": uid, "months": int(lengths[uid]), "mape_model": mape(g["y"], g["AutoETS"]),
             "mape_baseline": mape(g["y"], g["SeasonalNaive"])} for uid, g in pred.groupby("unique_id")]
    return pd.DataFrame(rows)


def forecast(series: pd.DataFrame, conf: ForecastConf) -> pd.DataFrame:
    """The next `horizon` months of every series: unique_id, ds, yhat, lo_<l>, hi_<l> per level (AutoETS;
    the seasonal-naive baseline where AutoETS cannot be fitted)."""
    from statsforecast import StatsForecast
    from statsforecast.models import SeasonalNaive

    if series.empty:
        return pd.DataFrame(columns=["unique_id", "ds", "yhat"])
    sf = StatsForecast(models=_models(conf)[:1], freq="MS", n_jobs=1,
                       fallback_model=SeasonalNaive(season_length=conf.season_length))
    fc = sf.forecast(h=conf.horizon, df=series[["unique_id", "ds", "y"]], level=list(conf.levels))
    out = fc.rename(columns={"AutoETS": "yhat"})
    for level in conf.levels:
        out = out.rename(columns={f"AutoETS-lo-{level}": f"lo_{level}", f"AutoETS-hi-{level}": f"hi_{level}"})
    return out[["unique_id", "ds", "yhat", *[f"{b}_{lv}" for lv in conf.levels for b in ("lo", "hi")]]]


def forecast_table(fc: pd.DataFrame, scores: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """gold.fund_forecast rows: the forecast split back into measure, scheme, region, with the
    series' backtest MAPE of the model and of the baseline (null when the history was too short)."""
    out = fc.merge(scores[["unique_id", "mape_model", "mape_baseline"]], on="unique_id", how="left")
    # No series long enough to backtest leaves these all-null objects, which Spark would write as
    # Delta type `void` — a table Trino cannot read at all.
    out = out.astype({"mape_model": float, "mape_baseline": float})
    parts = out["unique_id"].str.split("|", expand=True)
    out["measure"], out["scheme"], out["region"] = parts[0], parts[1], parts[2]
    out["month"] = pd.to_datetime(out["ds"]).dt.date
    out["as_of"] = as_of
    return out.drop(columns=["unique_id", "ds"])


def summary(scores: pd.DataFrame, measures: Sequence[str] = ("expenditure", "income")) -> dict[str, float]:
    """Metrics for MLflow: per series and the mean over the all-region series of each measure."""
    metrics: dict[str, float] = {}
    for r in scores.itertuples(index=False):
        key = str(r.unique_id).replace("|", "_")
        metrics[f"mape_{key}_model"], metrics[f"mape_{key}_baseline"] = r.mape_model, r.mape_baseline
    for m in measures:
        top = scores[scores["unique_id"].str.startswith(f"{m}|") & scores["unique_id"].str.endswith(f"|{ALL_REGIONS}")]
        if len(top):
            metrics[f"mape_{m}_all_model"] = float(top["mape_model"].mean())
            metrics[f"mape_{m}_all_baseline"] = float(top["mape_baseline"].mean())
    return {k: v for k, v in metrics.items() if v == v}  # MLflow rejects NaN

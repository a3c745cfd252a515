"""Backtest of both forecasts on a hold-out (issue 15 point 5), pure pandas.

Hold out the last `horizon` months of the monthly fund series. Two forecasts of those months are
scored per series (`measure|scheme|region`, plus `measure|all|ALL`, the sum over the schemes):

- `short_term`: AutoETS fitted on the months before the hold-out (models/forecast/short_term.py);
- `projection`: the cohort-component projection (lakehouse/projection.py) started from the
  population and money per head observed just before the hold-out, scenario "reform" (the law in
  force), contributions as income and pensions as expenditure.

Each beside the seasonal-naive baseline (the same month a year before), by MAPE.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lakehouse.projection import ALL_REGIONS, month_index, month_start
from models.forecast.short_term import ForecastConf, backtest, mape

ALL_SCHEMES = "all"  # the series summed over the schemes (aggregate income and expenditure)
METHODS = ("short_term", "projection")
# gold.fund_projection column forecasting each measure of gold.fund_monthly
PROJECTED = {"income": "contributions_yuan", "expenditure": "pensions_yuan"}
SCORE_COLUMNS = ["method", "unique_id", "measure", "scheme", "region", "months", "mape_model", "mape_baseline"]


@dataclass(frozen=True)
class Holdout:
    """The held-out months: `first`..`last` (first days); history is everything before `first`."""

    first: dt.date
    last: dt.date

    @classmethod
    def ending(cls, last: dt.date, months: int) -> Holdout:
        """The `months` months ending with the month of `last`."""
        end = month_index(last)
        return cls(month_start(end - months + 1), month_start(end))

    @property
    def last_observed(self) -> dt.date:
        """Last month before the hold-out (the projection's observed month)."""
        return month_start(month_index(self.first) - 1)


def with_aggregates(series: pd.DataFrame) -> pd.DataFrame:
    """Add `measure|all|ALL`: each measure summed over the schemes' all-region series."""
    parts = series["unique_id"].str.split("|", expand=True)
    top = series[parts[2] == ALL_REGIONS].assign(measure=parts[0])
    total = top.groupby(["measure", "ds"], as_index=False)["y"].sum()
    total["unique_id"] = total["measure"] + f"|{ALL_SCHEMES}|{ALL_REGIONS}"
    return pd.concat([series, total[["unique_id", "ds", "y"]]], ignore_index=True)


def projection_series(fund: pd.DataFrame, scenario: str = "reform") -> pd.DataFrame:
    """gold.fund_projection rows of one scenario (month as index) as unique_id, ds, yhat."""
    rows = fund[fund["scenario"] == scenario]
    out = []
    for measure, column in PROJECTED.items():
        out.append(pd.DataFrame({
            "unique_id": measure + "|" + rows["scheme"].astype(str) + "|" + rows["region"].astype(str),
            "ds": [pd.Timestamp(month_start(int(m))) for m in rows["month"]], "y": rows[column].astype(float)}))
    pred = with_aggregates(pd.concat(out, ignore_index=True))
    return pred.rename(columns={"y": "yhat"})


def seasonal_naive_scores(pred: pd.DataFrame, series: pd.DataFrame, holdout: Holdout, season: int) -> pd.DataFrame:
    """MAPE per series of `pred` (unique_id, ds, yhat) over the hold-out, beside the seasonal-naive
    baseline (the actual value `season` months before). Only series with history for the baseline."""
    actual = series.set_index(["unique_id", "ds"])["y"]
    months = pd.date_range(pd.Timestamp(holdout.first), pd.Timestamp(holdout.last), freq="MS")
    lengths = series[series["ds"] < pd.Timestamp(holdout.first)].groupby("unique_id").size()
    rows = []
    for uid, g in pred[pred["ds"].isin(months)].groupby("unique_id"):
        if lengths.get(uid, 0) < season:
            continue
        g = g.sort_values("ds")
        truth = actual.reindex(pd.MultiIndex.from_product([[uid], g["ds"]])).fillna(0.0).to_numpy()
        lagged = [(uid, d - pd.DateOffset(months=season)) for d in g["ds"]]
        naive = actual.reindex(pd.MultiIndex.from_tuples(lagged)).fillna(0.0).to_numpy()
        rows.append({"unique_id": uid, "months": int(lengths[uid]) + len(g),
                     "mape_model": mape(truth, g["yhat"].to_numpy()), "mape_baseline": mape(truth, naive)})
    return pd.DataFrame(rows, columns=["unique_id", "months", "mape_model", "mape_baseline"])


def short_term_scores(series: pd.DataFrame, holdout: Holdout, conf: ForecastConf) -> pd.DataFrame:
    """AutoETS vs seasonal naive (statsforecast) on the hold-out, aggregates included."""
    upto = with_aggregates(series[series["ds"] <= pd.Timestamp(holdout.last)])
    return backtest(upto, conf)


def _split(scores: pd.DataFrame, method: str) -> pd.DataFrame:
    parts = scores["unique_id"].str.split("|", expand=True)
    out = scores.assign(method=method, measure=parts[0], scheme=parts[1], region=parts[2])
    return out[SCORE_COLUMNS]


def combine(short_term: pd.DataFrame, projection: pd.DataFrame) -> pd.DataFrame:
    """One table of scores: method, unique_id, measure, scheme, region, months, mape_model, mape_baseline."""
    both = pd.concat([_split(short_term, "short_term"), _split(projection, "projection")], ignore_index=True)
    rank = {ALL_SCHEMES: "0"}
    return both.sort_values(["method", "measure", "scheme", "region"],
                            key=lambda c: c.map(lambda v: rank.get(v, str(v)))).reset_index(drop=True)


def aggregate(scores: pd.DataFrame, measure: str, method: str) -> pd.Series:
    """The score row of one method on one measure summed over every scheme and region."""
    row = scores[(scores["method"] == method) & (scores["unique_id"] == f"{measure}|{ALL_SCHEMES}|{ALL_REGIONS}")]
    if len(row) != 1:
        raise KeyError(f"no aggregate {measure} score for {method}")
    return row.iloc[0]


def _pct(value: float) -> str:
    return "–" if value != value else f"{100 * value:.2f} %"


def report_markdown(scores: pd.DataFrame, meta: dict[str, Any], measures: Sequence[str] = ("expenditure", "income")) -> str:
    """The backtest report: aggregates first, then every series of both methods."""
    lines = [f"# Forecast backtest {meta.get('name', '')}".rstrip(), "",
             f"config: {json.dumps(meta, ensure_ascii=False, default=str)}  ", "",
             "MAPE over the held-out months; baseline = seasonal naive (the same month a year before). "
             "`short_term` = AutoETS (statsforecast) fitted on the months before the hold-out; `projection` = "
             "the cohort-component projection (scenario reform) started on the last month before it.", "",
             "## Aggregate (all schemes, all regions)", "",
             "| measure | method | MAPE model | MAPE seasonal naive | model better |", "|---|---|---:|---:|---|"]
    for measure in measures:
        for method in METHODS:
            try:
                r = aggregate(scores, measure, method)
            except KeyError:
                continue
            lines.append(f"| {measure} | {method} | {_pct(r.mape_model)} | {_pct(r.mape_baseline)} | "
                         f"{'yes' if r.mape_model < r.mape_baseline else 'no'} |")
    lines += ["", "## Per series", "",
              "| method | measure | scheme | region | months | MAPE model | MAPE seasonal naive | model better |",
              "|---|---|---|---|---:|---:|---:|---|"]
    for r in scores.itertuples(index=False):
        better = "–" if np.isnan(r.mape_model) or np.isnan(r.mape_baseline) else (
            "yes" if r.mape_model < r.mape_baseline else "no")
        lines.append(f"| {r.method} | {r.measure} | {r.scheme} | {r.region} | {r.months} | {_pct(r.mape_model)} | "
                     f"{_pct(r.mape_baseline)} | {better} |")
    wins = {m: int((g["mape_model"] < g["mape_baseline"]).sum()) for m, g in scores.groupby("method")}
    lines += ["", "series where the model beats the baseline: "
              + ", ".join(f"{m} {wins.get(m, 0)} of {int((scores['method'] == m).sum())}" for m in METHODS), ""]
    return "\n".join(lines)

"""`lakehouse forecast`: the monthly projections and fund forecasts by hand."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from lakehouse.commands._options import add_paths, env_from_args, iso_date
from lakehouse.config import REPO_ROOT

BENCH_RESULTS = REPO_ROOT / "bench" / "results"

DESCRIPTION = textwrap.dedent("""\
    Project the insured population and the pension fund month by month under each scenario of
    conf/projection.yaml ("reform" as published in POLICY.md, "no_reform" with pre-2025 ages),
    compare the deaths the lake observed with conf/life_table.yaml, and forecast monthly fund
    income and expenditure 12 months ahead (statsforecast AutoETS, backtested against the
    seasonal-naive baseline, tracked in MLflow experiment fund_forecast).

    Reads  silver.person, silver.contribution, silver.pension_payment, silver.death_event,
           gold.fund_monthly (run the nightly steps up to --run-date first)
    Writes gold.population_projection, gold.fund_projection, gold.mortality_check,
           gold.fund_forecast
    Observations are the 12 complete months before the run date's month; the projection
    starts in the month after it.

    --backtest instead generates a city with three years of monthly history (first extract
    2027-01-02, pension history from 2024-01), holds out its last 12 months and scores the
    short-term forecast and the cohort-component projection per series (MAPE) beside the
    seasonal-naive baseline; writes bench/results/forecast_backtest_<persons>x<seed>.md/.json.""")


def _backtest(args: argparse.Namespace) -> int:
    from jobs.forecast_backtest import city_backtest
    from lakehouse.spark import get_spark
    from models.forecast.backtest import METHODS, aggregate

    spark = get_spark(env_from_args(args), "forecast-backtest")
    scores, meta = city_backtest(spark, args.persons, args.seed, Path(args.out))
    for measure in ("expenditure", "income"):
        for method in METHODS:
            r = aggregate(scores, measure, method)
            print(f"{measure:<12}{method:<12}MAPE {100 * r.mape_model:6.2f} %  seasonal naive "
                  f"{100 * r.mape_baseline:6.2f} %")
    print(f"report: {Path(args.out) / (meta['name'] + '.md')}")
    return 0


def _forecast(args: argparse.Namespace) -> int:
    from lakehouse.pipeline import run_step

    if args.backtest:
        return _backtest(args)
    if args.run_date is None:
        raise SystemExit("lakehouse forecast: --run-date is required (or --backtest)")
    counts = run_step("forecast", args.run_date, env_from_args(args), args.run_id or f"forecast__{args.run_date}")
    for name, value in counts.items():
        print(f"{name:<18}{value:>10}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `forecast` subcommand."""
    p = sub.add_parser("forecast", help="population and fund projection (both scenarios) and 12-month fund forecasts",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  lakehouse forecast --run-date 2026-11-01\n"
                              "  lakehouse forecast --backtest --persons 5000 --seed 1")
    add_paths(p, "lake")
    p.add_argument("--run-date", type=iso_date,
                   help="as-of date (YYYY-MM-DD); the monthly DAG runs on the 1st of each month")
    p.add_argument("--run-id", help="lineage run id (default forecast__<date>)")
    p.add_argument("--backtest", action="store_true",
                   help="backtest both forecasts on a generated city instead (see above); no lake needed")
    p.add_argument("--persons", type=int, default=5000, metavar="N", help="backtest city size (default 5000)")
    p.add_argument("--seed", type=int, default=1, metavar="S", help="backtest city seed (default 1)")
    p.add_argument("--out", default=str(BENCH_RESULTS), metavar="DIR",
                   help="folder of the backtest report (default bench/results)")
    p.set_defaults(handler=_forecast)

"""`lakehouse forecast`: the monthly projections and fund forecasts by hand."""

from __future__ import annotations

import argparse
import textwrap

from lakehouse.commands._options import add_paths, env_from_args, iso_date

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
    starts in the month after it.""")


def _forecast(args: argparse.Namespace) -> int:
    from lakehouse.pipeline import run_step

    counts = run_step("forecast", args.run_date, env_from_args(args), args.run_id or f"forecast__{args.run_date}")
    for name, value in counts.items():
        print(f"{name:<18}{value:>10}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `forecast` subcommand."""
    p = sub.add_parser("forecast", help="population and fund projection (both scenarios) and 12-month fund forecasts",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="example:\n  lakehouse forecast --run-date 2026-11-01")
    add_paths(p, "lake")
    p.add_argument("--run-date", type=iso_date, required=True,
                   help="as-of date (YYYY-MM-DD); the monthly DAG runs on the 1st of each month")
    p.add_argument("--run-id", help="lineage run id (default forecast__<date>)")
    p.set_defaults(handler=_forecast)

"""`lakehouse ingest | step | nightly | backfill | train`: the pipeline by hand."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import time

from lakehouse.commands._options import add_paths, env_from_args, iso_date
from lakehouse.config import Env
from lakehouse.pipeline import NIGHTLY_STEPS, STEPS_BY_NAME, run_step
from lakehouse.runlock import lake_lock
from lakehouse.sources import load_sources

log = logging.getLogger("lakehouse")


def _dates(start: dt.date, end: dt.date) -> list[dt.date]:
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def _ingest(args: argparse.Namespace) -> int:
    from jobs import bronze_ingest

    env = env_from_args(args)
    run_id = args.run_id or f"manual__{args.run_date}"
    with lake_lock(env, run_id, f"lakehouse ingest {args.run_date}"):
        outcomes = bronze_ingest.run(args.run_date, env, run_id, args.source)
    print(f"{'source':<16}{'extract_date':<14}{'seq':>4} {'status':<9}{'records':>9}  reason")
    for o in outcomes:
        print(f"{o.source:<16}{o.extract_date.isoformat():<14}{o.sequence:>4} {o.status:<9}{o.rows:>9}  {o.reason}")
    return 0


def run_dates(env: Env, dates: list[dt.date], only: list[str] | None = None, run_id: str | None = None) -> None:
    """Every nightly step (or only some) for each date in order, in this one process (one Spark session)."""
    steps = [s for s in NIGHTLY_STEPS if not only or s.name in only]
    command = f"lakehouse nightly/backfill {dates[0]}..{dates[-1]}" if dates else "lakehouse nightly"
    # the whole command holds the lake: no other run slips in between two steps or two dates
    with lake_lock(env, run_id or f"manual__{dates[0] if dates else ''}", command):
        for i, day in enumerate(dates, start=1):
            for step in steps:
                t0 = time.monotonic()
                run_step(step.name, day, env, run_id or f"manual__{day}")
                log.info("[%d/%d] %s %-12s done in %.1fs", i, len(dates), day, step.name, time.monotonic() - t0)


def _nightly_dates(args: argparse.Namespace, dates: list[dt.date]) -> int:
    env = env_from_args(args)
    run_dates(env, dates, args.only, args.run_id)
    print(f"exports: {env.paths.exports}")
    return 0


def _nightly(args: argparse.Namespace) -> int:
    return _nightly_dates(args, [args.run_date])


def _backfill(args: argparse.Namespace) -> int:
    return _nightly_dates(args, _dates(getattr(args, "from"), args.to))


def _step(args: argparse.Namespace) -> int:
    run_step(args.name, args.run_date, env_from_args(args), args.run_id)
    return 0


def _train(args: argparse.Namespace) -> int:
    env = env_from_args(args)
    versions = run_step("train", args.run_date, env, args.run_id or f"train__{args.run_date}")
    for name, version in versions.items():
        print(f"registered {name} version {version} as @challenger")
    print(f"promote: lakehouse promote --lake {env.paths.lake} --run-date {args.run_date}")
    return 0


def _promote(args: argparse.Namespace) -> int:
    champions = run_step("promote", args.run_date, env_from_args(args), args.run_id or f"promote__{args.run_date}")
    for name, version in champions.items():
        print(f"{name}@champion: version {version}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the pipeline subcommands."""
    steps_help = ", ".join(f"{s.name} ({s.label})" for s in NIGHTLY_STEPS)

    p = sub.add_parser("ingest", help="land deliveries up to a date into bronze",
                       description="Verify and land every new delivery with extract_date <= --run-date into bronze; "
                                   "corrupt deliveries are rejected whole and logged in ops.deliveries.")
    add_paths(p, "landing", "lake")
    p.add_argument("--run-date", type=iso_date, required=True, help="extract date of the night (YYYY-MM-DD)")
    p.add_argument("--source", action="append", choices=sorted(load_sources()), help="only this source (repeatable)")
    p.add_argument("--run-id", help="lineage run id (default manual__<date>)")
    p.set_defaults(handler=_ingest)

    for name, fn, helptext in (
        ("nightly", _nightly, "run every nightly step for one date"),
        ("backfill", _backfill, "run the nightly steps for each date of a range, in order"),
    ):
        p = sub.add_parser(name, help=helptext, description=f"{helptext}. Steps: {steps_help}.")
        add_paths(p, "landing", "lake", "exports")
        if name == "nightly":
            p.add_argument("--run-date", type=iso_date, required=True, help="extract date (YYYY-MM-DD)")
        else:
            p.add_argument("--from", type=iso_date, required=True, help="first date (YYYY-MM-DD)")
            p.add_argument("--to", type=iso_date, required=True, help="last date, inclusive")
        p.add_argument("--only", action="append", choices=list(STEPS_BY_NAME), help="run only these steps")
        p.add_argument("--run-id", help="lineage run id (default manual__<date>)")
        p.set_defaults(handler=fn)

    p = sub.add_parser("step", help="run one nightly step", description=f"Run one step. Steps: {steps_help}.")
    p.add_argument("name", choices=list(STEPS_BY_NAME))
    add_paths(p, "landing", "lake", "exports")
    p.add_argument("--run-date", type=iso_date, required=True, help="extract date (YYYY-MM-DD)")
    p.add_argument("--run-id", help="lineage run id")
    p.set_defaults(handler=_step)

    p = sub.add_parser("train", help="train and register the models (survival, medical fraud) as @challenger",
                       description="Train survival_status and medical_fraud as of --run-date on everyone outside the "
                                   "frozen holdout, log to the lake's MLflow registry and register each as @challenger "
                                   "(tags, model card). `lakehouse promote` decides about @champion.")
    add_paths(p, "lake")
    p.add_argument("--run-date", type=iso_date, required=True)
    p.add_argument("--run-id")
    p.set_defaults(handler=_train)

    p = sub.add_parser("promote", help="promote each @challenger that beats @champion on the frozen holdout",
                       description="Score @challenger and @champion on the same frozen holdout as of --run-date; the "
                                   "challenger becomes @champion only past the margin of conf/models.yaml promotion.")
    add_paths(p, "lake")
    p.add_argument("--run-date", type=iso_date, required=True)
    p.add_argument("--run-id")
    p.set_defaults(handler=_promote)

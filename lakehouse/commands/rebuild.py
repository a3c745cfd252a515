"""`lakehouse rebuild --run-date D`: the night's steps with silver rebuilt from bronze.

The nightly silver step applies only new deliveries (jobs/silver_build.py); this rebuilds every
silver table from all of bronze as known on D, then runs the steps after silver. It is the
oracle the incremental path is tested against, and the way back after changing silver logic
by hand in a way its logic version does not see.
"""

from __future__ import annotations

import argparse
import logging
import time

from lakehouse.commands._options import add_paths, env_from_args, iso_date
from lakehouse.pipeline import NIGHTLY_STEPS, run_step
from lakehouse.runlock import lake_lock

log = logging.getLogger("lakehouse")


def steps(silver_only: bool) -> list[str]:
    """`rebuild`, then (unless `silver_only`) the nightly steps after silver."""
    if silver_only:
        return ["rebuild"]
    return ["rebuild" if s.name == "silver" else s.name for s in NIGHTLY_STEPS if s.name != "ingest"]


def _rebuild(args: argparse.Namespace) -> int:
    env = env_from_args(args)
    run_id = args.run_id or f"rebuild__{args.run_date}"
    with lake_lock(env, run_id, f"lakehouse rebuild --run-date {args.run_date}"):
        for name in steps(args.silver_only):
            t0 = time.monotonic()
            run_step(name, args.run_date, env, run_id)
            log.info("%s %-12s done in %.1fs", args.run_date, name, time.monotonic() - t0)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `rebuild`."""
    p = sub.add_parser(
        "rebuild", help="rebuild silver from all of bronze, then run the rest of the night",
        description="Rebuild every silver table from bronze as known on --run-date (instead of applying only new "
                    "deliveries), then run the steps after silver. Ingest is not run: bronze is the input.",
        epilog="example: lakehouse rebuild --run-date 2026-10-05 --silver-only")
    add_paths(p, "landing", "lake", "exports")
    p.add_argument("--run-date", type=iso_date, required=True, help="the night to rebuild (YYYY-MM-DD)")
    p.add_argument("--silver-only", action="store_true", help="rebuild silver and stop")
    p.add_argument("--run-id", help="lineage run id (default rebuild__<date>)")
    p.set_defaults(handler=_rebuild)

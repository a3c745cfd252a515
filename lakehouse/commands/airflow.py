"""`lakehouse airflow …`: the project's local Airflow (init, start, stop, status) and DAG runs by hand."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from lakehouse.commands._options import add_paths, env_from_args, iso_date

EPILOG = """\
run dates: the nightly DAG's run at 00:00 Asia/Shanghai of day D (its logical date and data
interval) processes the extracts dated D, so `test --run-date D` runs exactly date D and
`airflow backfill create --from-date D1 --to-date D2` runs D1..D2.

examples:
  lakehouse airflow start                        # api-server, scheduler, dag-processor; prints the URL
  lakehouse airflow test --run-date 2026-11-21   # the nightly DAG through `airflow dags test`
  lakehouse airflow test --all-dates             # every extract date in the landing zone, in order
  lakehouse airflow backfill --from 2026-11-18 --to 2026-11-21 --unpause   # via the started scheduler
  lakehouse airflow status
"""


def _init(args: argparse.Namespace) -> int:
    from lakehouse.services import airflow

    s = airflow.init(env_from_args(args), force=True)
    print(f"Airflow metadata and pools ready in {s.home}")
    return 0


def _start(args: argparse.Namespace) -> int:
    from lakehouse.services import airflow

    env = env_from_args(args)
    seconds = airflow.start(env, timeout=args.timeout)
    s = airflow.settings(env)
    user, _ = airflow._admin(env)
    print(f"Airflow is up at {s.url} after {seconds:.0f}s: user {user!r}, password AIRFLOW_ADMIN_PASSWORD")
    print(f"  (from the environment or {env.secrets_file}); logs in {s.run_dir}")
    pending = airflow.pending_dags()
    if pending:
        print("  not built yet (steps missing in lakehouse.pipeline): " + ", ".join(f"{d} ({', '.join(m)})" for d, m in pending.items()))
    return 0


def _stop(args: argparse.Namespace) -> int:
    from lakehouse.services import airflow

    airflow.stop(env_from_args(args))
    print("Airflow stopped")
    return 0


def _status(args: argparse.Namespace) -> int:
    from lakehouse.services import airflow

    print(json.dumps(airflow.status(env_from_args(args)), indent=2, ensure_ascii=False, default=str))
    return 0


def _dates(args: argparse.Namespace) -> list[dt.date]:
    from lakehouse.services import airflow

    if args.all_dates:
        return airflow.landing_dates(env_from_args(args))
    if args.run_date is None:
        raise SystemExit("lakehouse airflow test: give --run-date D [--to D2] or --all-dates")
    last = args.to or args.run_date
    if last < args.run_date:
        raise SystemExit(f"lakehouse airflow test: --to {last} is before --run-date {args.run_date}")
    return [args.run_date + dt.timedelta(days=i) for i in range((last - args.run_date).days + 1)]


def _test(args: argparse.Namespace) -> int:
    from lakehouse.services import airflow

    env = env_from_args(args)
    dates = _dates(args)
    timings = airflow.run_nightly_range(env, dates, dag_id=airflow.resolve_dag_id(args.dag))
    for day, seconds in timings.items():
        print(f"{args.dag} {day}: success in {seconds:.0f}s")
    return 0


def _backfill(args: argparse.Namespace) -> int:
    from lakehouse.services import airflow

    env = env_from_args(args)
    last = args.to or args.from_date
    states = airflow.backfill(
        env, args.dag, args.from_date, last, reprocess=args.reprocess, unpause=args.unpause, wait=not args.no_wait
    )
    if not states:
        print(f"backfill of {args.dag} {args.from_date}..{last} created; follow it at {airflow.settings(env).url}")
    for day, state in states.items():
        print(f"{args.dag} {day}: {state}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `lakehouse airflow` and its subcommands."""
    parser = subparsers.add_parser(
        "airflow",
        help="local Airflow: init, start, stop, status; run a DAG for dates through `airflow dags test`",
        description="The project's local Airflow (SQLite, LocalExecutor) under the environment's "
        "services.airflow.home, with the DAGs of dags/ and the settings of conf/airflow/.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="airflow_command", metavar="ACTION", required=True)

    p = sub.add_parser("init", help="migrate the metadata DB and import conf/airflow/pools.json")
    p.set_defaults(handler=_init)

    p = sub.add_parser(
        "start",
        help="start api-server, scheduler and dag-processor; wait until every DAG is listed",
        description="Admin user and password: AIRFLOW_ADMIN_USER / AIRFLOW_ADMIN_PASSWORD from the "
        "environment or the environment's secrets file (`make secrets`).",
    )
    p.add_argument("--timeout", type=float, default=180, help="seconds to wait for readiness (default 180)")
    p.set_defaults(handler=_start)

    p = sub.add_parser("stop", help="stop the servers `start` started")
    p.set_defaults(handler=_stop)

    p = sub.add_parser("status", help="components running, health, DAGs, import errors (JSON)")
    p.set_defaults(handler=_status)

    p = sub.add_parser(
        "test",
        help="run a DAG through real Airflow (`airflow dags test`) for one date or a range",
        description="Runs the DAG once per run date, oldest first, stopping at the first failed run. "
        "Output of each run: <paths.state>/airflow/dags_test/<dag>__<date>.log; "
        "failed tasks and missing deliveries: <paths.state>/airflow/failures.log.",
    )
    p.add_argument("--dag", default="nightly_pipeline", help="DAG id (default nightly_pipeline; alias: nightly)")
    p.add_argument("--run-date", type=iso_date, metavar="D", help="extract date to process (YYYY-MM-DD)")
    p.add_argument("--to", type=iso_date, metavar="D2", help="last date of a range starting at --run-date")
    p.add_argument(
        "--all-dates", action="store_true", help="every extract date found in the landing zone (`make run`)"
    )
    add_paths(p, "landing", "lake", "exports")
    p.set_defaults(handler=_test)

    p = sub.add_parser(
        "backfill",
        help="`airflow backfill create` on the running scheduler for run dates D1..D2, one run at a time",
        description="Needs `lakehouse airflow start`; the servers keep the environment they were started "
        "with (so no path flags here). Airflow runs no backfill of a paused DAG, and unpausing a DAG also "
        "resumes its schedule: pass --unpause to accept that.",
    )
    p.add_argument("--dag", default="nightly_pipeline", help="DAG id (default nightly_pipeline; alias: nightly)")
    p.add_argument("--from", dest="from_date", type=iso_date, required=True, metavar="D1", help="first run date")
    p.add_argument("--to", type=iso_date, metavar="D2", help="last run date (default: D1)")
    p.add_argument(
        "--reprocess",
        choices=("none", "failed", "completed"),
        default="failed",
        help="dates that already have a run: keep them (none), re-run failed ones (default), re-run all",
    )
    p.add_argument("--unpause", action="store_true", help="unpause the DAG first if it is paused (it stays unpaused)")
    p.add_argument("--no-wait", action="store_true", help="create the backfill and return")
    p.set_defaults(handler=_backfill)

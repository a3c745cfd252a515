"""`lakehouse superset start|stop|status|import|export`: the local Superset over Trino, dashboards as code."""

from __future__ import annotations

import argparse
import json
import time

from lakehouse.commands._options import env_from_args

DESCRIPTION = """\
Apache Superset 6.1.0 from its own virtualenv (make setup-superset), with
conf/superset/superset_config.py, its SQLite metadata in the environment's `superset.home` and
the web server on `superset.port` (conf/env/<env>.yaml). The first start creates the metadata
database and the admin user from the secrets SUPERSET_ADMIN_USER / SUPERSET_ADMIN_PASSWORD
(SUPERSET_SECRET_KEY signs sessions; `make secrets` creates all three locally).

Dashboards are kept as code in conf/superset/dashboards/<name>/ (Superset's export format).
`import` loads them through the assets API, with the database pointed at this environment's
Trino (trino://superset@HOST:PORT/lakehouse), overwriting what Superset has: the repository is
the source of truth. To change a dashboard: edit it in the UI, `export`, review the diff.
Superset shows what Trino serves: run `lakehouse trino start` first."""

EXAMPLES = """\
examples:
  lakehouse superset start                   # set up if needed, start, import the dashboards
  lakehouse superset status
  lakehouse superset import                  # re-import conf/superset/dashboards after an edit
  lakehouse superset export fund_income_expenditure
  lakehouse superset stop"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `superset` subcommand and its actions."""
    parser = subparsers.add_parser(
        "superset",
        help="local Superset over Trino: start, stop, status, import/export dashboards",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    start = actions.add_parser(
        "start",
        help="set up (once), start the web server, wait for /health, import the dashboards",
        description="Create the metadata database and admin user when needed (superset db upgrade, "
        "fab create-admin, superset init; skipped when done), start gunicorn on the environment's "
        "port (no-op when already running), wait until /health answers, then import "
        "conf/superset/dashboards.",
    )
    start.add_argument("--no-import", action="store_true", help="only start the server")
    start.add_argument(
        "--timeout", type=float, default=240, metavar="S", help="start-up wait (default 240 s)"
    )
    start.set_defaults(handler=_start)

    stop = actions.add_parser("stop", help="stop the server this environment started")
    stop.set_defaults(handler=_stop)

    status = actions.add_parser("status", help="running/healthy, URL, home, dashboard URL (JSON)")
    status.set_defaults(handler=_status)

    imp = actions.add_parser(
        "import",
        help="import conf/superset/dashboards into the running Superset",
        description="Zip each bundle under conf/superset/dashboards with this environment's Trino URI and "
        "import it through /api/v1/assets/import/ (database, dataset, charts and dashboard are "
        "overwritten, matched by UUID).",
    )
    imp.set_defaults(handler=_import)

    exp = actions.add_parser(
        "export",
        help="export a dashboard of the running Superset into conf/superset/dashboards/<name>/",
        description="Export the dashboard with this slug and write its bundle (YAML, Superset's export "
        "format, Chinese unescaped) into conf/superset/dashboards/<name>/. Existing files keep their "
        "names (matched by UUID), the database URI is written as the local default, ids of this "
        "instance are dropped.",
    )
    exp.add_argument("slug", help="the dashboard's slug, e.g. fund_income_expenditure")
    exp.add_argument("--name", help="bundle folder name (default: the slug)")
    exp.set_defaults(handler=_export)


def _start(args: argparse.Namespace) -> int:
    from lakehouse.services import superset

    env = env_from_args(args)
    began = time.monotonic()
    s = superset.start(env, timeout=args.timeout)
    print(f"superset ready on {s.url} after {time.monotonic() - began:.1f}s (home: {s.home})")
    if not args.no_import:
        if not superset.trino_answers(env):
            print(f"dashboards not imported: Trino does not answer for {superset.trino_uri(env)}; "
                  "run `lakehouse trino start`, then `lakehouse superset import`")
            return 1
        for name in superset.import_dashboards(env):
            print(f"imported {name}: {superset.dashboard_url(env, name)}")
    return 0


def _stop(args: argparse.Namespace) -> int:
    from lakehouse.services import superset

    superset.stop(env_from_args(args))
    print("superset stopped")
    return 0


def _status(args: argparse.Namespace) -> int:
    from lakehouse.services import superset

    info = superset.status(env_from_args(args))
    print(json.dumps(info, indent=2, ensure_ascii=False))
    return 0 if info.get("healthy") else 3


def _import(args: argparse.Namespace) -> int:
    from lakehouse.services import superset

    env = env_from_args(args)
    for name in superset.import_dashboards(env):
        print(f"imported {name} (Trino: {superset.trino_uri(env)})")
    return 0


def _export(args: argparse.Namespace) -> int:
    from lakehouse.services import superset

    target = superset.export_dashboard(env_from_args(args), args.slug, args.name)
    print(f"exported {args.slug} into {target}")
    return 0

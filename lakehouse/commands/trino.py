"""`lakehouse trino start|stop|status|register|sql`: the local Trino over the lake's Delta tables."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from lakehouse.commands._options import add_paths, env_from_args

DESCRIPTION = """\
A single-node Trino 476 over the lake (catalog `lakehouse`, Delta Lake connector, file metastore).
Tables are written by Spark and registered here as lakehouse.<layer>.<table> for the layers
gold, silver and restricted; bronze, quarantine and ops are never exposed.

Clients connect over HTTPS (127.0.0.1) with a password. Users, roles, column masks and row
filters are conf/access.yaml; certificate and passwords are created per installation at the
first start under <state_dir>/auth/ (`sql` reads the password of --user from there, or from
LAKEHOUSE_TRINO_PASSWORD_<USER>):
  engineer              gold and silver (account/card numbers masked)
  analyst, superset     gold and a curated silver; birth dates as the year, numbers masked
  supervisor_<region>   gold.risk_clue and gold.certification of that region only
  auditor               gold like analysts, and every user's queries (system.runtime.queries)
  breakglass            restricted (raw 身份证号, names); every query lands in the audit log
Nobody writes through Trino. Every query is logged to <state_dir>/audit/queries.jsonl.

Port and state folder come from the environment's `trino:` section (conf/env/<env>.yaml).
Install the server first with `make setup-trino` (scripts/setup_trino.sh)."""

EXAMPLES = """\
examples:
  lakehouse trino start                      # render config, start, wait, register tables and views
  lakehouse trino sql "SELECT month_label, sum(expenditure_yuan) FROM gold.fund_monthly GROUP BY 1"
  lakehouse trino sql -f sql/queries/fund_monthly_balance.sql --format csv
  lakehouse trino sql --user breakglass "SELECT count(*) FROM restricted.identity"   # audited
  lakehouse trino register --lake /data/other-lake
  lakehouse trino status
  lakehouse trino stop"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `trino` subcommand and its actions."""
    parser = subparsers.add_parser(
        "trino",
        help="local Trino over the lake: start, stop, status, register tables, run SQL",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    start = actions.add_parser(
        "start",
        help="render the config, start the server, wait until ready, register the lake's tables",
        description="Render <state_dir>/etc from conf/trino, start Trino (no-op when already running), "
        "wait until /v1/info reports it started, then register the lake's tables and views.",
    )
    add_paths(start, "lake")
    start.add_argument("--no-register", action="store_true", help="only start the server")
    start.add_argument(
        "--timeout", type=float, default=240, metavar="S", help="start-up wait (default 240 s)"
    )
    start.set_defaults(handler=_start)

    stop = actions.add_parser("stop", help="stop the server this environment started")
    stop.set_defaults(handler=_stop)

    status = actions.add_parser("status", help="running/ready, URL, version, state folder (JSON)")
    status.set_defaults(handler=_status)

    reg = actions.add_parser(
        "register",
        help="(re)register the lake's Delta tables and create sql/views/*.sql",
        description="Register every <lake>/{gold,silver,restricted}/<table> folder holding a _delta_log "
        "as lakehouse.<layer>.<table>. Idempotent: unchanged tables are skipped, tables whose folder "
        "moved are re-registered, tables gone from the lake are unregistered (their data is never "
        "touched). Then runs each sql/views/*.sql.",
    )
    add_paths(reg, "lake")
    reg.add_argument("--no-views", action="store_true", help="skip sql/views/*.sql")
    reg.set_defaults(handler=_register)

    sql = actions.add_parser(
        "sql",
        help="run one SQL statement and print the result",
        description="Run one statement in catalog `lakehouse` (unqualified names such as gold.fund_monthly "
        "resolve there) as the given user and print the rows.",
    )
    sql.add_argument("statement", nargs="?", help="the SQL statement (or use -f)")
    sql.add_argument("-f", "--file", type=Path, help="read the statement from a .sql file")
    sql.add_argument(
        "--user", default="analyst", help="a Trino user of conf/access.yaml (default analyst)"
    )
    sql.add_argument(
        "--format", choices=("table", "tsv", "csv", "json"), default="table", help="output (default table)"
    )
    sql.set_defaults(handler=_sql)


def _start(args: argparse.Namespace) -> int:
    from lakehouse.services import trino

    env = env_from_args(args)
    began = time.monotonic()
    s = trino.start(env, timeout=args.timeout)
    print(f"trino ready on {s.url} after {time.monotonic() - began:.1f}s (state: {s.state_dir})")
    if not args.no_register:
        result = trino.register_lake_tables(env)
        print("registered: " + result.summary())
        return 1 if result.failed else 0
    return 0


def _stop(args: argparse.Namespace) -> int:
    from lakehouse.services import trino

    trino.stop(env_from_args(args))
    print("trino stopped")
    return 0


def _status(args: argparse.Namespace) -> int:
    from lakehouse.services import trino

    info = trino.status(env_from_args(args))
    print(json.dumps(info, indent=2, ensure_ascii=False))
    return 0 if info.get("ready") else 3


def _register(args: argparse.Namespace) -> int:
    from lakehouse.services import trino

    env = env_from_args(args)
    if not trino.is_ready(env):
        raise RuntimeError(
            f"trino is not running on {trino.settings(env).url}: `lakehouse trino start` first"
        )
    result = trino.register_lake_tables(env, views=not args.no_views)
    print("registered: " + result.summary())
    for label, names in (
        ("new", result.registered),
        ("moved", result.reregistered),
        ("removed", result.removed),
    ):
        for name in names:
            print(f"  {label:8} {name}")
    for name, error in sorted(result.failed.items()):
        print(f"  FAILED   {name}: {error}")
    return 1 if result.failed else 0


def _sql(args: argparse.Namespace) -> int:
    from lakehouse.services import trino

    if bool(args.statement) == bool(args.file):
        raise ValueError("give either a statement or -f FILE")
    statement = args.file.read_text(encoding="utf-8") if args.file else args.statement
    statement = statement.strip().rstrip(";").strip()
    env = env_from_args(args)
    if not trino.is_ready(env):
        raise RuntimeError(
            f"trino is not running on {trino.settings(env).url}: `lakehouse trino start` first"
        )
    from trino.exceptions import TrinoQueryError

    conn = trino.connect(env, user=args.user)
    try:
        cur = conn.cursor()
        cur.execute(statement)
        rows = cur.fetchall()
        columns = [d[0] for d in cur.description or []]
    except TrinoQueryError as exc:  # the server's message, without the client's repr
        raise RuntimeError(f"{exc.error_name}: {exc.message}") from exc
    finally:
        conn.close()
    _print(columns, rows, args.format)
    return 0


def _print(columns: list[str], rows: list[list[object]], fmt: str) -> None:
    def text(v: object) -> str:
        return "NULL" if v is None else str(v)

    if fmt == "json":
        print(json.dumps([dict(zip(columns, r, strict=True)) for r in rows], ensure_ascii=False, default=str))
    elif fmt in ("csv", "tsv"):
        import csv

        writer = csv.writer(sys.stdout, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([["" if v is None else v for v in r] for r in rows])
    else:
        cells = [columns] + [[text(v) for v in r] for r in rows]
        widths = [max(_width(c[i]) for c in cells) for i in range(len(columns))]
        for n, line in enumerate(cells):
            print("  ".join(_pad(v, w) for v, w in zip(line, widths, strict=True)).rstrip())
            if n == 0:
                print("  ".join("-" * w for w in widths))
        print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


def _width(s: str) -> int:
    """Display width: CJK characters take two columns."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, width: int) -> str:
    return s + " " * (width - _width(s))

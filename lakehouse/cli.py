"""`lakehouse` command line: every step the DAGs run, runnable and re-runnable by hand.

Each subcommand lives in its own module under `lakehouse/commands/` exposing
`register(subparsers)`; this file only discovers and dispatches them.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

import lakehouse.commands as commands_pkg
from lakehouse.logs import setup_logging
from lakehouse.runlock import LakeBusy


def build_parser() -> argparse.ArgumentParser:
    """The full parser with one subcommand per module in lakehouse.commands."""
    parser = argparse.ArgumentParser(
        prog="lakehouse",
        description="智慧人社 lakehouse: generate, ingest, build, score and export (see README.md).",
    )
    parser.add_argument("--env", help="environment in conf/env (default: $LAKEHOUSE_ENV or local)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands_pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"lakehouse.commands.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `lakehouse` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose)
    from lakehouse.permissions import restrict_umask

    restrict_umask()  # every file and server this command creates: owner and group only
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except LakeBusy as exc:  # another run holds the lake: try again later (EX_TEMPFAIL)
        print(f"lakehouse {args.command}: busy: {exc}", file=sys.stderr)
        return 75
    except Exception as exc:  # one readable line for people; the traceback with -v
        logging.getLogger("lakehouse").debug("failed", exc_info=True)
        print(f"lakehouse {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

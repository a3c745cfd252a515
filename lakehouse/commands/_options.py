"""Flags shared by several subcommands, each defaulting to the environment in conf/env."""

from __future__ import annotations

import argparse
import datetime as dt

from lakehouse.config import Env, load_env

PATH_HELP = {
    "landing": "landing zone to read (never written); default: the environment's paths.landing",
    "lake": "lake root holding the Delta tables; default: the environment's paths.lake",
    "exports": "folder receiving <run_date>/ export folders; default: the environment's paths.exports",
}


def add_paths(parser: argparse.ArgumentParser, *names: str) -> None:
    """Add --landing/--lake/--exports flags."""
    for name in names:
        parser.add_argument(f"--{name}", metavar="PATH", help=PATH_HELP[name])


def iso_date(value: str) -> dt.date:
    """argparse type for YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {value!r}") from exc


def env_from_args(args: argparse.Namespace) -> Env:
    """The environment named by --env with any path flags applied."""
    env = load_env(getattr(args, "env", None))
    overrides = {k: getattr(args, k, None) for k in ("landing", "lake", "exports")}
    return env.with_paths(**overrides)

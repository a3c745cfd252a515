"""`lakehouse synth`: generate a synthetic city (landing zone + planted truth)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import textwrap
import time
from pathlib import Path

from lakehouse.commands._options import iso_date

DESCRIPTION = textwrap.dedent("""\
    Generate a synthetic city: a true population and every source extract of
    shared/contracts/SOURCES.md, deliberately messy, one delivery folder per source and
    extract date, plus the planted truth (who died when, which risks were planted).

    Writes  <out>/landing/<source>/<YYYY-MM-DD>/   the landing zone after the last night
            <out>/truth/                            persons.csv, planted_risks.csv, city.json, ...
            <out>/superseded/seq-<n>/<source>/<date>/  first deliveries later replaced by a re-send
    The first extract date is each source's initial load (its history); every further day
    is a nightly increment. Same arguments, same bytes. Parameters: conf/synth.yaml.""")

EPILOG = textwrap.dedent("""\
    examples:
      lakehouse synth --persons 2000 --days 10 --seed 1
      lakehouse synth --persons 20000 --days 30 --seed 42 --corrupt --out /tmp/city""")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `synth` subcommand."""
    parser = subparsers.add_parser(
        "synth", help="generate a synthetic city (landing zone + planted truth)", description=DESCRIPTION,
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=2000, metavar="N", help="true population size (default 2000)")
    parser.add_argument("--days", type=int, default=10, metavar="D",
                        help="extract nights including the initial load (default 10)")
    parser.add_argument("--seed", type=int, default=1, metavar="S", help="random seed (default 1)")
    parser.add_argument("--start", type=iso_date, default=dt.date(2026, 10, 1), metavar="YYYY-MM-DD",
                        help="extract date of the initial load (default 2026-10-01)")
    parser.add_argument("--out", metavar="DIR",
                        help="city folder (landing/, truth/ inside); default: the environment's paths.city")
    parser.add_argument("--corrupt", action="store_true",
                        help="add corrupt deliveries (sha256, row count, truncated gzip, wrong encoding)")
    parser.add_argument("--verify", action="store_true",
                        help="check that every strict rule hit in the city is a planted one (slow for big cities)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines, only the summary")
    parser.set_defaults(handler=run)


def _out(args: argparse.Namespace) -> Path:
    if args.out:
        return Path(args.out).resolve()
    from lakehouse.config import load_env

    return load_env(args.env).paths.city


def run(args: argparse.Namespace) -> int:
    """Generate the city and print a summary."""
    from lakehouse.synth import generate_city

    if args.persons < 1 or args.days < 1:
        print("lakehouse synth: --persons and --days must be at least 1", file=sys.stderr)
        return 2
    out = _out(args)
    began = time.monotonic()

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"[synth {time.monotonic() - began:7.1f}s] {message}", file=sys.stderr, flush=True)

    info = generate_city(args.persons, args.days, args.seed, out, start=args.start, corrupt=args.corrupt,
                         progress=progress, verify=args.verify)
    elapsed = time.monotonic() - began
    hits = sum(info.planted.values())
    per_rule = ", ".join(f"{code.split('_')[0]} {n}" for code, n in info.planted.items())
    print(f"city: {out}")
    print(f"  {info.persons} persons, {info.days} nights from {info.start}, seed {info.seed}")
    print(f"  {info.deliveries} deliveries, {info.files} files, {info.bytes / 2**20:.1f} MiB in {elapsed:.0f} s")
    print(f"  planted: {hits} hits ({per_rule}), {sum(info.decoys.values())} decoys")
    if info.corrupt_deliveries:
        print(f"  corrupt: {'; '.join(info.corrupt_deliveries)}")
    for note in info.skipped + [f"not detectable within the nights: {u}" for u in info.undetectable]:
        print(f"  note: {note}")
    if args.verify:
        print(f"  verify: {len(info.unplanted_hits)} unplanted rule hits")
        for hit in info.unplanted_hits:
            print(f"    {hit}")
        return 1 if info.unplanted_hits else 0
    return 0

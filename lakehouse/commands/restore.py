"""`lakehouse restore --run-date D`: roll every table of the lake back to the end of night D."""

from __future__ import annotations

import argparse

from lakehouse.commands._options import add_paths, env_from_args, iso_date
from lakehouse.runlock import lake_lock


def _restore(args: argparse.Namespace) -> int:
    from lakehouse.recovery import restore, versions_after

    env = env_from_args(args)
    with lake_lock(env, f"restore__{args.run_date}", f"lakehouse restore --run-date {args.run_date}"):
        if args.dry_run:
            for name, version in sorted(versions_after(env, args.run_date).items()):
                print(f"{name:<40} version {version}")
            return 0
        changes = restore(env, args.run_date)
    print(f"{'table':<40}{'from':>8}{'to':>8}")
    for name, (before, after) in sorted(changes.items()):
        print(f"{name:<40}{before if before is not None else '':>8}{after if after is not None else 'moved':>8}")
    print(f"{len(changes)} table(s) back at the end of {args.run_date}; now re-run the nights after it "
          f"(lakehouse backfill --from <next date> --to <last date>)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `restore`."""
    p = sub.add_parser(
        "restore", help="roll every table back to the end of a night (Delta RESTORE)",
        description="Bring every Delta table of the lake back to the version it had at the end of night "
                    "--run-date (recorded in ops.run_versions after each step); tables created later are moved "
                    "to <lake>/_restored_away/. Audit logs are kept. Then re-run the following nights.",
        epilog="example: lakehouse restore --run-date 2026-10-02 && "
               "lakehouse backfill --from 2026-10-03 --to 2026-10-05")
    add_paths(p, "lake")
    p.add_argument("--run-date", type=iso_date, required=True, help="the last good night (YYYY-MM-DD)")
    p.add_argument("--dry-run", action="store_true", help="only list the versions it would restore")
    p.set_defaults(handler=_restore)

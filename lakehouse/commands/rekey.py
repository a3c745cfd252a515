"""`lakehouse rekey`: rotate the pseudonymisation key, rewriting every person_ref and clue_id."""

from __future__ import annotations

import argparse
import os

from lakehouse.commands._options import add_paths, env_from_args

DESCRIPTION = """\
Rotate LAKEHOUSE_PSEUDONYM_KEY. The current key (secrets file or environment) must be the lake's
(its fingerprint is checked); the new key is read from the environment variable named by
--new-key-env. Every person_ref and clue_id of silver, gold, restricted, quarantine and ops is
rewritten for the new key, old → new clue ids are kept in restricted.clue_id_map (dispositions
naming an old id are translated), and the lake records the new key's fingerprint. Then put the
new key in the secrets before the next run; the old key no longer opens the lake."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `rekey` subcommand."""
    parser = subparsers.add_parser("rekey", help="rotate the pseudonymisation key (rewrites every person_ref)",
                                   description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_paths(parser, "lake")
    parser.add_argument("--new-key-env", default="LAKEHOUSE_NEW_PSEUDONYM_KEY", metavar="VAR",
                        help="environment variable holding the new key (default LAKEHOUSE_NEW_PSEUDONYM_KEY)")
    parser.set_defaults(handler=_rekey)


def _rekey(args: argparse.Namespace) -> int:
    from lakehouse.rekey import rekey
    from lakehouse.runlock import lake_lock
    from lakehouse.secrets import pseudonym_key

    env = env_from_args(args)
    new_key = os.environ.get(args.new_key_env, "")
    if len(new_key) < 16:
        raise ValueError(f"{args.new_key_env} must hold the new key (at least 16 characters)")
    with lake_lock(env, "rekey", "lakehouse rekey"):
        counts = rekey(env, pseudonym_key(env), new_key.encode("utf-8"))
    print(f"rekeyed {len(counts)} tables ({sum(counts.values())} rows); now set LAKEHOUSE_PSEUDONYM_KEY "
          f"to the new key in the secrets before the next run")
    return 0

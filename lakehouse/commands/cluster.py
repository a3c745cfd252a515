"""`lakehouse cluster`: a local Spark standalone cluster and spark-submit of pipeline steps."""

from __future__ import annotations

import argparse

from lakehouse.config import load_env


def _cluster(args: argparse.Namespace) -> int:
    from lakehouse.services import spark_cluster

    env = load_env(args.env or "cluster")
    if args.action == "start":
        print(f"master: {spark_cluster.start(env)}")
    elif args.action == "stop":
        spark_cluster.stop(env)
    else:
        cli_args = [a for a in args.cli_args if a != "--"]
        if not cli_args:
            raise ValueError("nothing to submit: give lakehouse arguments after --, e.g. -- step silver --run-date D")
        spark_cluster.submit(env, args.master, cli_args)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `cluster`."""
    p = sub.add_parser(
        "cluster", help="local Spark standalone cluster; spark-submit a step to it",
        description="start/stop a standalone master + worker, or submit `lakehouse ARGS` with spark-submit, "
                    "e.g. `lakehouse --env cluster cluster submit -- nightly --run-date 2026-10-02`.")
    p.add_argument("action", choices=["start", "stop", "submit"])
    p.add_argument("--master", default="spark://127.0.0.1:7077", help="master URL for submit")
    p.add_argument("cli_args", nargs=argparse.REMAINDER, help="lakehouse arguments after --")
    p.set_defaults(handler=_cluster)

"""`lakehouse models`: each model's @champion and @challenger in the lake's registry, with tags."""

from __future__ import annotations

import argparse

from lakehouse.commands._options import add_paths, env_from_args

SHOWN_TAGS = ("trained_as_of", "rows", "data_watermark", "threshold", "promotion")


def _models(args: argparse.Namespace) -> int:
    from models.promote import trainers
    from models.registry import CHALLENGER, CHAMPION, alias_ref

    env = env_from_args(args)
    print(f"registry {env.mlflow_tracking_uri}  (lake {env.paths.lake})")
    for name in trainers():
        for alias in (CHAMPION, CHALLENGER):
            ref = alias_ref(env, name, alias)
            if ref is None:
                print(f"  {name}@{alias}: none (train: lakehouse train --lake {env.paths.lake} --run-date D)")
                continue
            print(f"  {name}@{alias}: version {ref.version}  run {ref.run_id}")
            for key in SHOWN_TAGS:
                if key in ref.tags:
                    print(f"      {key}: {ref.tags[key]}")
            metrics = {k.removeprefix("metric."): v for k, v in sorted(ref.tags.items()) if k.startswith("metric.")}
            if metrics:
                print("      metrics: " + ", ".join(f"{k}={v}" for k, v in metrics.items()))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `models` subcommand."""
    p = sub.add_parser("models", help="show each model's @champion and @challenger (versions, tags, metrics)",
                       description="The lake's MLflow registry: per model the @champion nightly scoring uses and the "
                                   "last @challenger, with training as-of, rows, watermark, threshold, metrics and "
                                   "the promotion decision. The model card is the version's description "
                                   "(`make mlflow` or the MLflow UI) and the run's artifact model_card.md.")
    add_paths(p, "lake")
    p.set_defaults(handler=_models)

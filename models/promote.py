"""The `promote` step: `@challenger` replaces `@champion` only when it is better on the frozen holdout.

Both versions score the same frozen-holdout persons as of the run date (neither was trained on
them, models/holdout.py); the challenger is promoted when its metric beats the champion's by more
than the margin of conf/models.yaml `promotion.<model>`. With no champion yet, the challenger is
promoted. The decision and both metrics are tagged on the challenger version.
"""

from __future__ import annotations

import datetime as dt
import logging
from types import ModuleType

import mlflow

from lakehouse.config import Env, load_conf
from lakehouse.spark import get_spark
from models.registry import CHALLENGER, CHAMPION, ModelRef, alias_ref, set_alias, tag_version

log = logging.getLogger(__name__)


def trainers() -> dict[str, ModuleType]:
    """Model name → its train module (holdout_frame, holdout_metrics, run)."""
    from models import fraud, survival
    from models.fraud import train as fraud_train
    from models.survival import train as survival_train

    return {survival.MODEL_NAME: survival_train, fraud.MODEL_NAME: fraud_train}


def decide(challenger: float | None, champion: float | None, margin: float) -> bool:
    """Promote when the challenger has a metric and beats the champion's by more than `margin`."""
    if challenger is None:
        return False
    return champion is None or challenger > champion + margin


def _metric(ref: ModelRef, trainer: ModuleType, rows: object, metric: str) -> float | None:
    model = mlflow.sklearn.load_model(ref.uri)
    value = trainer.holdout_metrics(model, rows).get(metric)
    return None if value is None else float(value)


def promote_one(env: Env, name: str, run_date: dt.date) -> str | None:
    """Compare `name@challenger` with `@champion`; returns the champion version afterwards."""
    challenger, champion = alias_ref(env, name, CHALLENGER), alias_ref(env, name, CHAMPION)
    if challenger is None or (champion is not None and champion.version == challenger.version):
        return champion.version if champion else None
    if champion is None:
        set_alias(name, CHAMPION, challenger.version)
        tag_version(name, challenger.version, {"promotion": f"{run_date}: first champion"})
        return challenger.version
    rule = load_conf("models.yaml")["promotion"][name]
    trainer = trainers()[name]
    rows = trainer.holdout_frame(get_spark(env, "promote"), env, run_date)
    ours, theirs = (_metric(r, trainer, rows, rule["metric"]) for r in (challenger, champion))
    promoted = decide(ours, theirs, float(rule["margin"]))
    verdict = (f"{run_date}: {rule['metric']} on the frozen holdout ({len(rows)} rows) {ours} vs champion "
               f"v{champion.version} {theirs}, margin {rule['margin']}: " + ("promoted" if promoted else "kept"))
    tag_version(name, challenger.version, {"promotion": verdict})
    log.info("%s v%s: %s", name, challenger.version, verdict)
    if promoted:
        set_alias(name, CHAMPION, challenger.version)
        return challenger.version
    return champion.version


def run(run_date: dt.date, env: Env, run_id: str) -> dict[str, str | None]:
    """Promotion for every model; returns the champion version per model."""
    return {name: promote_one(env, name, run_date) for name in trainers()}

"""MLflow tracking and model registry of an environment (local: SQLite + file artifacts)."""

from __future__ import annotations

import logging

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from lakehouse.config import Env

log = logging.getLogger(__name__)
CHAMPION = "champion"


def use_tracking(env: Env, experiment: str) -> str:
    """Point MLflow at the environment's store; create the experiment with its artifact root."""
    env.mlflow_artifact_root.mkdir(parents=True, exist_ok=True)
    if env.mlflow_tracking_uri.startswith("sqlite:///"):
        from pathlib import Path

        Path(env.mlflow_tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(env.mlflow_tracking_uri)
    mlflow.set_registry_uri(env.mlflow_tracking_uri)
    found = mlflow.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found is not None else mlflow.create_experiment(
        experiment, artifact_location=(env.mlflow_artifact_root / experiment).as_uri())
    # also when just created: runs started without an experiment id must not land in "Default"
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def champion_version(env: Env, name: str) -> str | None:
    """Version number behind the `champion` alias, or None when no model was promoted yet."""
    use_tracking(env, name)
    try:
        return MlflowClient().get_model_version_by_alias(name, CHAMPION).version
    except MlflowException:
        return None


def promote(name: str, version: str) -> None:
    """Point the `champion` alias at a registered version."""
    MlflowClient().set_registered_model_alias(name, CHAMPION, version)
    log.info("model %s version %s is now @%s", name, version, CHAMPION)


def promote_if_better(env: Env, name: str, version: str, auc: float) -> None:
    """Point @champion at `version` unless the current champion has a better logged AUC."""
    current = champion_version(env, name)
    if current is None or auc >= _auc_of(name, current):
        promote(name, version)
    else:
        log.info("version %s not promoted: @%s (version %s) has the better AUC", version, CHAMPION, current)


def _auc_of(name: str, version: str) -> float:
    client = MlflowClient()
    mv = client.get_model_version(name, version)
    return float(client.get_run(mv.run_id).data.metrics.get("auc", 0.0))

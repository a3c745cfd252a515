"""The MLflow registry of a lake: aliases, version tags, model cards, and the lake's binding to it.

Each model has two aliases: `@challenger`, the version the last training registered, and
`@champion`, the version nightly scoring uses (set only by the promotion step,
models/promote.py). The registry lives with the lake it scores (conf/env `mlflow`, default
`{lake}/_mlflow`) and the lake records which registry it belongs to (`<lake>/_model_registry.json`):
scoring refuses a registry that is not the lake's, so no city is scored with another city's champion.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from lakehouse.config import Env
from lakehouse.errors import DataError

log = logging.getLogger(__name__)
CHAMPION = "champion"
CHALLENGER = "challenger"
BINDING_FILE = "_model_registry.json"
# version tags every training sets (models/card.py writes them; the manifest reads them back)
TAG_AS_OF = "trained_as_of"
TAG_RUN = "pipeline_run_id"


class ModelNotTrained(DataError):
    """No version of a model behind the alias scoring needs: train (and promote) first."""

    def __init__(self, env: Env, name: str, alias: str = CHAMPION) -> None:
        lake = env.paths.lake
        super().__init__(
            f"no {name}@{alias} in the registry of the lake {lake} ({env.mlflow_tracking_uri}); scoring never "
            f"trains. Train and promote first: `lakehouse train --lake {lake} --run-date <last night>` then "
            f"`lakehouse promote --lake {lake} --run-date <same date>` (or the Airflow DAG train_models)")


class RegistryMismatch(DataError):
    """The environment points at a registry that is not the one this lake was scored with."""


@dataclass(frozen=True)
class ModelRef:
    """One registered version, named unambiguously (what an export manifest records)."""

    name: str
    version: str
    run_id: str
    trained_as_of: str | None
    tags: dict[str, str]

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    def manifest(self) -> dict[str, str | None]:
        return {"version": self.version, "mlflow_run_id": self.run_id, "trained_as_of": self.trained_as_of}


def use_tracking(env: Env, experiment: str) -> str:
    """Point MLflow at the environment's store; create the experiment with its artifact root."""
    env.mlflow_artifact_root.mkdir(parents=True, exist_ok=True)
    if env.mlflow_tracking_uri.startswith("sqlite:///"):
        Path(env.mlflow_tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(env.mlflow_tracking_uri)
    mlflow.set_registry_uri(env.mlflow_tracking_uri)
    found = mlflow.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found is not None else mlflow.create_experiment(
        experiment, artifact_location=(env.mlflow_artifact_root / experiment).as_uri())
    # also when just created: runs started without an experiment id must not land in "Default"
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def version_ref(name: str, version: str) -> ModelRef:
    """The registered `version` of `name` with its tags (tracking already set)."""
    mv = MlflowClient().get_model_version(name, version)
    return ModelRef(name, str(mv.version), str(mv.run_id), mv.tags.get(TAG_AS_OF), dict(mv.tags))


def alias_ref(env: Env, name: str, alias: str) -> ModelRef | None:
    """The version behind `name@alias`, or None when the alias is not set."""
    use_tracking(env, name)
    try:
        mv = MlflowClient().get_model_version_by_alias(name, alias)
    except MlflowException:
        return None
    return version_ref(name, str(mv.version))


def champion_version(env: Env, name: str) -> str | None:
    """Version number behind `@champion`, or None when no version was promoted yet."""
    ref = alias_ref(env, name, CHAMPION)
    return ref.version if ref else None


def require_champion(env: Env, name: str) -> ModelRef:
    """The champion scoring must use; ModelNotTrained (how to train) when there is none."""
    check_binding(env)
    ref = alias_ref(env, name, CHAMPION)
    if ref is None:
        raise ModelNotTrained(env, name)
    return ref


def set_alias(name: str, alias: str, version: str) -> None:
    """Point `name@alias` at `version`."""
    MlflowClient().set_registered_model_alias(name, alias, version)
    log.info("model %s version %s is now @%s", name, version, alias)


def tag_version(name: str, version: str, tags: dict[str, object]) -> None:
    """Set tags on a registered version (values as strings)."""
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, str(value))


def describe_version(name: str, version: str, text: str) -> None:
    """The version's description in the registry (the model card, so the UI shows it)."""
    MlflowClient().update_model_version(name, version, description=text)


def _binding_path(env: Env) -> Path:
    return env.paths.lake / BINDING_FILE


def _portable(env: Env) -> str:
    """The registry URI with the lake's own path as `{lake}`: a copied or moved lake keeps its registry."""
    return env.mlflow_tracking_uri.replace(str(env.paths.lake), "{lake}")


def bind_lake(env: Env) -> None:
    """Record in the lake which registry its models live in (first training; refuses another one)."""
    check_binding(env)
    path = _binding_path(env)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"tracking_uri": _portable(env)}, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def check_binding(env: Env) -> None:
    """RegistryMismatch when the lake already names another registry than the environment's."""
    path = _binding_path(env)
    if not path.exists():
        return
    recorded = json.loads(path.read_text(encoding="utf-8"))["tracking_uri"]
    if recorded != _portable(env):
        raise RegistryMismatch(
            f"the lake {env.paths.lake} is scored with the registry {recorded}, but this environment points at "
            f"{env.mlflow_tracking_uri}: fix conf/env `mlflow` (a lake moved by hand: edit {path})")

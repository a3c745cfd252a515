"""Environment configuration (conf/env/<name>.yaml) and paths, loaded into typed objects."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

# Under spark-submit the package may be imported from a --py-files zip: LAKEHOUSE_HOME names the checkout.
REPO_ROOT = Path(os.environ.get("LAKEHOUSE_HOME") or Path(__file__).resolve().parent.parent)
CONF_DIR = REPO_ROOT / "conf"
CACHE_DIR = Path(os.environ.get("LAKEHOUSE_CACHE", Path.home() / ".cache" / "lakehouse"))
# A whole environment handed to a child process (an Airflow task, a CLI run by a test), paths and
# all, when it was changed in code and has no conf/env file of its own.
ENV_JSON_VAR = "LAKEHOUSE_ENV_JSON"


@dataclass(frozen=True)
class Paths:
    """Where an environment keeps its data. `landing` is never written by the pipeline."""

    city: Path
    landing: Path
    lake: Path
    exports: Path
    state: Path


@dataclass(frozen=True)
class Env:
    """One deployment environment (local, cluster, production)."""

    name: str
    paths: Paths
    secrets_file: Path | None
    spark_master: str
    spark_conf: dict[str, str]
    mlflow_tracking_uri: str
    mlflow_artifact_root: Path
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    # conf/env `mlflow` as written, when it names `{lake}`: the registry follows the lake (--lake)
    mlflow_templates: dict[str, str] = field(default_factory=dict)
    # conf/env `models`, e.g. bootstrap_when_no_champion (models/bootstrap.py)
    models: dict[str, Any] = field(default_factory=dict)

    def with_paths(self, **overrides: Path | str | None) -> Env:
        """A copy with some paths replaced (CLI flags such as --lake); a registry kept in the lake moves with it."""
        current = {k: getattr(self.paths, k) for k in Paths.__dataclass_fields__}
        current.update({k: Path(v).resolve() for k, v in overrides.items() if v is not None})
        paths = Paths(**current)
        return Env(**{**self.__dict__, "paths": paths, **_mlflow_locations(self.mlflow_templates, paths)})


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _raw_env(name: str) -> dict[str, Any]:
    path = CONF_DIR / "env" / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in (CONF_DIR / "env").glob("*.yaml"))
        raise ValueError(f"unknown environment {name!r} (conf/env has: {', '.join(known)})")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    parent = data.pop("extends", None)
    return _merge(_raw_env(parent), data) if parent else data


def _mlflow_locations(templates: dict[str, str], paths: Paths) -> dict[str, Any]:
    """mlflow_tracking_uri / mlflow_artifact_root from `{lake}` templates (empty without templates)."""
    out: dict[str, Any] = {}
    if "tracking_uri" in templates:
        uri = templates["tracking_uri"].format(lake=paths.lake)
        if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
            uri = "sqlite:///" + str(_abs(uri.removeprefix("sqlite:///")))
        out["mlflow_tracking_uri"] = uri
    if "artifact_root" in templates:
        out["mlflow_artifact_root"] = _abs(templates["artifact_root"].format(lake=paths.lake))
    return out


def _abs(p: str | Path) -> Path:
    path = Path(os.path.expandvars(str(p))).expanduser()
    return path if path.is_absolute() else (REPO_ROOT / path).resolve()


def env_to_json(env: Env) -> str:
    """The whole environment as JSON, for `ENV_JSON_VAR` of a child process."""
    return json.dumps(dataclasses.asdict(env), default=str, ensure_ascii=False, sort_keys=True)


def env_from_json(text: str) -> Env:
    """Inverse of `env_to_json`."""
    raw = json.loads(text)
    raw["paths"] = Paths(**{k: Path(v) for k, v in raw["paths"].items()})
    raw["secrets_file"] = Path(raw["secrets_file"]) if raw.get("secrets_file") else None
    raw["mlflow_artifact_root"] = Path(raw["mlflow_artifact_root"])
    return Env(**raw)


def load_env(name: str | None = None) -> Env:
    """Load `conf/env/<name>.yaml`; without a name, the environment handed over in
    $LAKEHOUSE_ENV_JSON, else the one named by $LAKEHOUSE_ENV, else `local`."""
    if name is None and os.environ.get(ENV_JSON_VAR):
        return env_from_json(os.environ[ENV_JSON_VAR])
    return _load_env_file(name or os.environ.get("LAKEHOUSE_ENV", "local"))


@cache
def _load_env_file(name: str) -> Env:
    raw = _raw_env(name)
    paths = Paths(**{k: _abs(v) for k, v in raw["paths"].items()})
    # default: the registry lives with the lake it scores, so another --lake never uses this lake's champion
    mlflow = {"tracking_uri": "sqlite:///{lake}/_mlflow/mlflow.db", "artifact_root": "{lake}/_mlflow/artifacts",
              **raw.get("mlflow", {})}
    fixed = {k: v for k, v in mlflow.items() if "{lake}" not in str(v)}
    templates = {k: str(v) for k, v in mlflow.items() if "{lake}" in str(v)}
    locations = {**_mlflow_locations(templates, paths), **_mlflow_locations(fixed, paths)}
    return Env(
        name=raw.get("name", name),
        paths=paths,
        secrets_file=_abs(raw["secrets_file"]) if raw.get("secrets_file") else None,
        spark_master=raw.get("spark", {}).get("master", "local[2]"),
        spark_conf={k: str(v) for k, v in raw.get("spark", {}).get("conf", {}).items()},
        services={k: raw[k] for k in ("trino", "superset", "airflow") if k in raw},
        mlflow_templates=templates,
        models=dict(raw.get("models", {})),
        **locations,
    )


def load_conf(relative: str) -> Any:
    """Load a YAML file of project configuration, e.g. `load_conf('rules.yaml')`."""
    return yaml.safe_load((CONF_DIR / relative).read_text(encoding="utf-8"))

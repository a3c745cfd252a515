"""Session fixtures: one local[2] Spark with Delta, a small generated city, and a lake built
from it by the nightly DAG through real Airflow (shared by the Airflow, Trino, Superset and export tests)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from lakehouse.config import Env, load_env

SMALL_CITY = {"persons": 800, "days": 3, "seed": 11}


@pytest.fixture(scope="session", autouse=True)
def pseudonym_key() -> bytes:
    """A random key per test session (the pipeline itself has no built-in key)."""
    if not os.environ.get("LAKEHOUSE_PSEUDONYM_KEY"):
        os.environ["LAKEHOUSE_PSEUDONYM_KEY"] = secrets.token_urlsafe(24)
    return os.environ["LAKEHOUSE_PSEUDONYM_KEY"].encode()


def make_env(root: Path, landing: Path | None = None) -> Env:
    """A local environment whose lake, exports and state live under `root` (the MLflow registry with
    the lake, `<lake>/_mlflow`, as conf/env/local.yaml says)."""
    base = load_env("local")
    env = base.with_paths(lake=root / "lake", exports=root / "exports", state=root / "state",
                          landing=landing or base.paths.landing, city=root / "city")
    return dataclasses.replace(env, secrets_file=None)


@pytest.fixture(scope="session")
def spark():  # type: ignore[no-untyped-def]
    from lakehouse.spark import get_spark

    session = get_spark(load_env("local"), "tests")
    yield session
    session.stop()


@dataclass
class City:
    root: Path
    landing: Path
    truth: Path
    dates: list[dt.date]
    info: object


@pytest.fixture(scope="session")
def small_city(tmp_path_factory: pytest.TempPathFactory) -> City:
    """A small generated city with corrupt deliveries mixed in."""
    from lakehouse.synth import generate_city

    root = tmp_path_factory.mktemp("city")
    info = generate_city(out=root, corrupt=True, **SMALL_CITY)
    dates = sorted({dt.date.fromisoformat(p.name) for p in (root / "landing").glob("*/*") if p.is_dir()})
    return City(root, root / "landing", root / "truth", dates, info)


@dataclass
class Lake:
    env: Env
    spark: object
    city: City
    dates: list[dt.date]
    seconds: dict[dt.date, float] = dataclasses.field(default_factory=dict)  # per date, when run by Airflow


@pytest.fixture(scope="session")
def nightly_lake(tmp_path_factory: pytest.TempPathFactory, small_city: City, spark) -> Lake:  # type: ignore[no-untyped-def]
    """The nightly DAG run by real Airflow (`airflow dags test`, a throw-away Airflow home) over
    every date of the small city, in order: the lake every export, Trino and Superset test reads."""
    from lakehouse.services import airflow as airflow_service

    root = tmp_path_factory.mktemp("lake")
    env = airflow_service.with_airflow(make_env(root, landing=small_city.landing), home=root / "airflow")
    seconds = airflow_service.run_nightly_range(env, small_city.dates)
    return Lake(env, spark, small_city, small_city.dates, seconds)


@dataclass
class MiniLake:
    """A lake of the hand-written landing (tests/fixtures/mini_landing.py) after ingest and silver."""

    root: Path
    dates: list[dt.date]


@pytest.fixture(scope="session")
def mini_silver(tmp_path_factory: pytest.TempPathFactory, spark) -> MiniLake:  # type: ignore[no-untyped-def]
    """The hand-written landing ingested by the operator's command (`lakehouse ingest --landing`, in its
    own process) at its last date and silver built; modules that go on from it work on a copy (`copy_of`)."""
    from lakehouse.pipeline import run_step
    from tests.fixtures import mini_landing as mini

    root = tmp_path_factory.mktemp("mini")
    dates = mini.write_mini_landing(root / "landing")
    env = make_env(root, landing=root / "landing")
    done = subprocess.run(
        [sys.executable, "-m", "lakehouse.cli", "ingest", "--landing", str(root / "landing"),
         "--lake", str(env.paths.lake), "--run-date", dates[-1].isoformat()],
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    run_step("silver", dates[-1], env, f"mini__{dates[-1]}")
    return MiniLake(root, dates)


def copy_of(mini: MiniLake, root: Path) -> Env:
    """An environment on a copy of the mini lake (landing, lake and state) under `root`."""
    shutil.copytree(mini.root, root, dirs_exist_ok=True)
    return make_env(root, landing=root / "landing")

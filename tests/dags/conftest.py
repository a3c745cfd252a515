"""Airflow for the DAG tests: the project's own settings (conf/airflow) with a throw-away home.

Airflow reads its configuration once, at first import, so the environment is set here before any
test imports it; nothing of the developer's `.local/airflow` (or ~/airflow) is touched.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from lakehouse.config import load_env
from lakehouse.services import airflow as airflow_service


@pytest.fixture(scope="session")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """os.environ set up as for every Airflow process of the project, home in a temp dir."""
    env = airflow_service.with_airflow(load_env("local"), home=tmp_path_factory.mktemp("airflow_home"))
    environ = airflow_service.airflow_environ(env)
    os.environ.update({k: v for k, v in environ.items() if k != "PYTHONPATH"})
    return environ


@pytest.fixture(scope="session")
def dagbag(airflow_env: dict[str, str]) -> Any:
    """Every DAG file of dags/, parsed the way the dag-processor parses its bundle."""
    from airflow.dag_processing.dagbag import BundleDagBag

    folder = Path(airflow_env["AIRFLOW__CORE__DAGS_FOLDER"])
    return BundleDagBag(dag_folder=folder, bundle_path=folder, bundle_name="dags-folder")

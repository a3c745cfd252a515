"""The same job, unchanged, submitted with spark-submit to a Spark standalone master
(slow: `make test-all`). It must produce the same silver tables as local mode."""

from __future__ import annotations

import pytest

from lakehouse import lake
from lakehouse.config import load_env
from lakehouse.pipeline import run_step
from lakehouse.services import spark_cluster
from tests.conftest import make_env
from tests.fixtures.mini_landing import write_mini_landing

pytestmark = pytest.mark.slow


def test_spark_submit_to_a_standalone_master_gives_the_local_result(spark, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dates = write_mini_landing(tmp_path / "landing")
    local = make_env(tmp_path / "local", landing=tmp_path / "landing")
    for step in ("ingest", "silver"):
        run_step(step, dates[0], local, "local")
    cluster_env = load_env("cluster")
    master = spark_cluster.start(cluster_env)
    try:
        spark_cluster.submit(cluster_env, master, [
            "nightly", "--only", "ingest", "--only", "silver", "--run-date", dates[0].isoformat(),
            "--landing", str(tmp_path / "landing"), "--lake", str(tmp_path / "cluster" / "lake"),
            "--exports", str(tmp_path / "cluster" / "exports"),
        ])
    finally:
        spark_cluster.stop(cluster_env)
    on_cluster = local.with_paths(lake=tmp_path / "cluster" / "lake")
    for table in ("silver.person", "silver.pension_payment", "silver.death_event", "quarantine.records"):
        ours = sorted(map(tuple, lake.read(spark, local, table).drop("run_date").collect()))
        theirs = sorted(map(tuple, lake.read(spark, on_cluster, table).drop("run_date").collect()))
        assert ours == theirs, table

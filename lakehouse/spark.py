"""The one way to get a SparkSession: Delta jars from the local cache, settings from conf/env."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from lakehouse.config import CACHE_DIR, Env, load_env

log = logging.getLogger(__name__)
DELTA_VERSION = "4.4.0"


def delta_jars() -> list[Path]:
    """Delta jars resolved by scripts/setup_jars.sh; a clear error when they are missing."""
    folder = CACHE_DIR / "jars" / f"delta-{DELTA_VERSION}"
    jars = sorted(folder.glob("*.jar"))
    if not jars:
        raise RuntimeError(f"no Delta jars in {folder}: run `make setup` (scripts/setup_jars.sh)")
    return jars


def get_spark(env: Env | None = None, app_name: str = "lakehouse") -> SparkSession:
    """Return the active session or build one for the environment (local[2] by default).

    Under spark-submit the master comes from the command line and is not overridden.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    env = env or load_env()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.appName(app_name)
        .config("spark.jars", ",".join(str(j) for j in delta_jars()))
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.databricks.delta.schema.autoMerge.enabled", "false")
        # Python workers must be this interpreter (the one with pandas, pyarrow and the project)
        .config("spark.pyspark.python", os.environ["PYSPARK_PYTHON"])
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # Hadoop's local file system sets permissions itself (default umask 022): owner and group only
        .config("spark.hadoop.fs.permissions.umask-mode", "027")
    )
    for key, value in env.spark_conf.items():
        builder = builder.config(key, value)
    from pyspark import SparkConf

    if not SparkConf().contains("spark.master"):
        builder = builder.master(env.spark_master)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    log.info("spark session %s on %s", spark.version, spark.sparkContext.master)
    return spark

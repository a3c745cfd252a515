"""What silver may read from bronze: only deliveries the deliveries log marks LOADED."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakehouse import lake
from lakehouse.config import Env
from lakehouse.sources import FileSpec, load_sources

DELIVERIES = "ops.deliveries"


def file_spec(bronze_table: str) -> FileSpec:
    """The FileSpec behind `<source>__<table>`."""
    source, _, _ = bronze_table.partition("__")
    return next(f for f in load_sources()[source].files if f.bronze_table == bronze_table)


def _empty(spark: SparkSession, spec: FileSpec) -> DataFrame:
    fields = [T.StructField(c, T.StringType()) for c in spec.columns] + [
        T.StructField("_extra", T.StringType()), T.StructField("_malformed", T.StringType()),
        T.StructField("_raw", T.StringType()), T.StructField("_source", T.StringType()),
        T.StructField("_extract_date", T.DateType()), T.StructField("_sequence", T.IntegerType()),
        T.StructField("_file", T.StringType()), T.StructField("_row", T.LongType()),
        T.StructField("_run_id", T.StringType()),
    ]
    return spark.createDataFrame([], T.StructType(fields))


def loaded(spark: SparkSession, env: Env, bronze_table: str, run_date: dt.date) -> DataFrame:
    """Bronze rows of LOADED deliveries with extract_date <= run_date (empty if none yet)."""
    spec = file_spec(bronze_table)
    name = f"bronze.{bronze_table}"
    if not lake.exists(env, name) or not lake.exists(env, DELIVERIES):
        return _empty(spark, spec)
    log_df = (
        lake.read(spark, env, DELIVERIES)
        .where((F.col("status") == "LOADED") & (F.col("extract_date") <= F.lit(run_date)))
        .select(F.col("source").alias("_source"), F.col("extract_date").alias("_extract_date"),
                F.col("sequence").alias("_sequence"))
    )
    return lake.read(spark, env, name).join(F.broadcast(log_df), ["_source", "_extract_date", "_sequence"], "left_semi")


def latest_snapshot(df: DataFrame) -> DataFrame:
    """Rows of the most recent registry snapshot in `df` (registries are full snapshots)."""
    last = df.agg(F.max("_extract_date").alias("_last"))
    return df.join(F.broadcast(last), F.col("_extract_date") == F.col("_last")).drop("_last")


def dedupe_exact(df: DataFrame, columns: list[str]) -> DataFrame:
    """One row per identical record (exact re-sends), keeping the earliest delivery."""
    w = Window.partitionBy(*columns).orderBy("_extract_date", "_file", "_row")
    return df.withColumn("_n", F.row_number().over(w)).where("_n = 1").drop("_n")

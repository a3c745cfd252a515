"""The lake: Delta tables at `<lake>/<layer>/<table>`, read and written only through here.

Every write is one Delta transaction, so a failed job leaves the previous version readable.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from lakehouse.config import Env

LAYERS = ("bronze", "silver", "gold", "restricted", "quarantine", "ops")


def table_path(env: Env, name: str) -> Path:
    """`layer.table` → its folder under the environment's lake."""
    layer, _, table = name.partition(".")
    if layer not in LAYERS or not table:
        raise ValueError(f"table name must be <layer>.<table> with layer in {LAYERS}: {name!r}")
    return env.paths.lake / layer / table


def exists(env: Env, name: str) -> bool:
    """True when the Delta table has at least one commit."""
    return (table_path(env, name) / "_delta_log").is_dir()


def read(spark: SparkSession, env: Env, name: str) -> DataFrame:
    """Read the current version of a Delta table; a clear error when it was never written."""
    if not exists(env, name):
        raise FileNotFoundError(f"table {name} does not exist yet at {table_path(env, name)}")
    return spark.read.format("delta").load(str(table_path(env, name)))


def overwrite(df: DataFrame, env: Env, name: str, partition_by: list[str] | None = None) -> None:
    """Replace the whole table (schema included) in one transaction."""
    writer = df.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    writer.save(str(table_path(env, name)))


def replace_where(df: DataFrame, env: Env, name: str, predicate: str, partition_by: list[str] | None = None) -> None:
    """Replace the rows matching `predicate` (e.g. one extract date) in one transaction."""
    if not exists(env, name):
        overwrite(df, env, name, partition_by)
        return
    (
        df.write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", predicate)
        .option("mergeSchema", "true")
        .save(str(table_path(env, name)))
    )


def delete_where(spark: SparkSession, env: Env, name: str, predicate: str) -> None:
    """Delete matching rows when the table exists."""
    if exists(env, name):
        from delta.tables import DeltaTable

        DeltaTable.forPath(spark, str(table_path(env, name))).delete(predicate)


def last_commit_rows(spark: SparkSession, env: Env, name: str) -> int:
    """Rows written by the table's latest commit (from the Delta log, without scanning data)."""
    from delta.tables import DeltaTable

    row = DeltaTable.forPath(spark, str(table_path(env, name))).history(1).select("operationMetrics").first()
    metrics = (row.operationMetrics or {}) if row else {}
    return int(metrics.get("numOutputRows", 0))

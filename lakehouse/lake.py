"""The lake: Delta tables at `<lake>/<layer>/<table>`, read and written only through here.

Every write is one Delta transaction, so a failed job leaves the previous version readable.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
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


def version(env: Env, name: str) -> int | None:
    """The latest committed version of a Delta table (from its log's file names, no engine); None if none."""
    commits = [int(p.stem) for p in (table_path(env, name) / "_delta_log").glob("*.json") if p.stem.isdigit()]
    return max(commits) if commits else None


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


def replace_where_arrow(data: pa.RecordBatchReader, env: Env, name: str, predicate: str,
                        partition_by: list[str]) -> None:
    """Replace the rows matching `predicate` with Arrow batches, streamed, in one Delta transaction.

    Written by delta-rs, without a JVM: bronze ingest is file I/O and needs no Spark job per
    table. The table stays a plain Delta table (protocol 1/2) that Spark and Trino read.
    """
    from deltalake import write_deltalake

    path = table_path(env, name)
    if exists(env, name):
        write_deltalake(str(path), data, mode="overwrite", predicate=predicate, schema_mode="merge",
                        partition_by=partition_by)
    else:
        write_deltalake(str(path), data, mode="overwrite", partition_by=partition_by)


def upsert_arrow(rows: pa.Table, env: Env, name: str, keys: list[str], update_matched: bool = True) -> int:
    """Insert `rows` by `keys` in one transaction, updating rows already there (a small log table,
    e.g. ops.deliveries) or, with `update_matched=False`, leaving them (an append-only audit).
    Returns the number of rows inserted."""
    from deltalake import DeltaTable, write_deltalake

    path = str(table_path(env, name))
    if not exists(env, name):
        write_deltalake(path, rows, mode="overwrite")
        return rows.num_rows
    on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    # merge_schema: a column added since the table was created (e.g. ops.deliveries.fingerprint)
    merge = DeltaTable(path).merge(rows, on, source_alias="s", target_alias="t", merge_schema=True)
    if update_matched:
        merge = merge.when_matched_update_all()
    metrics = merge.when_not_matched_insert_all().execute()
    return int(metrics.get("num_target_rows_inserted", 0))


def append_arrow(rows: pa.Table, env: Env, name: str) -> None:
    """Append rows (a log table, e.g. ops.delivery_attempts) in one transaction."""
    from deltalake import write_deltalake

    write_deltalake(str(table_path(env, name)), rows, mode="append", schema_mode="merge")


def read_arrow(env: Env, name: str, columns: list[str] | None = None) -> pa.Table:
    """The current version of a (small) Delta table as Arrow, without Spark."""
    return arrow_of(table_path(env, name), columns)


def arrow_of(folder: Path, columns: list[str] | None = None) -> pa.Table:
    """The current version of the Delta table in `folder` as Arrow.

    Its files are read through pyarrow's own local filesystem: the default (delta-rs's Python
    filesystem) leaves threads that abort the interpreter at exit now and then
    (delta-io/delta-rs#2184: "terminate called without an active exception").
    """
    import pyarrow.fs as pa_fs
    from deltalake import DeltaTable

    local = pa_fs.SubTreeFileSystem(str(folder.resolve()), pa_fs.LocalFileSystem())
    return DeltaTable(str(folder)).to_pyarrow_table(columns=columns, filesystem=local)


def delete_where(spark: SparkSession, env: Env, name: str, predicate: str) -> None:
    """Delete matching rows when the table exists."""
    if exists(env, name):
        from delta.tables import DeltaTable

        DeltaTable.forPath(spark, str(table_path(env, name))).delete(predicate)


def last_commit_rows(env: Env, name: str) -> int:
    """Rows written by the table's latest commit (a MERGE: inserted or updated), from its Delta log entry."""
    from deltalake import DeltaTable

    history = DeltaTable(str(table_path(env, name))).history(1)
    metrics = (history[0].get("operationMetrics") or {}) if history else {}
    if "numOutputRows" in metrics:
        return int(metrics["numOutputRows"])
    # a MERGE: the rows it inserted or changed
    return int(metrics.get("numTargetRowsInserted", 0)) + int(metrics.get("numTargetRowsUpdated", 0))


def replace_rows(spark: SparkSession, env: Env, name: str, rows: DataFrame, scope: DataFrame, on: list[str]) -> None:
    """Make the table's rows whose `on` keys are in `scope` exactly `rows`, in one transaction.

    `rows` are the recomputed rows of that scope (their keys within it). Rows already there
    and unchanged are left alone; when nothing already there changes or goes (the usual night:
    only new records), the new rows are appended, otherwise one MERGE applies everything.
    """
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    target = DeltaTable.forPath(spark, str(table_path(env, name)))
    current = target.toDF()
    columns = current.columns
    digest = F.xxhash64(*[F.col(c) for c in columns]).alias("_digest")
    rows = rows.select(*columns)
    before = current.join(scope.select(*on).distinct(), on, "left_semi").select(*on, digest).persist()
    changed = rows.select("*", digest).join(before, [*on, "_digest"], "left_anti").drop("_digest")
    gone = before.join(rows.select(*on), on, "left_anti").select(*on)
    replaced = changed.join(before.select(*on), on, "left_semi").select(*on)
    changed = changed.persist()
    try:
        if gone.isEmpty() and replaced.isEmpty():
            changed.write.format("delta").mode("append").save(str(table_path(env, name)))
            return
        source = changed.withColumn("_gone", F.lit(False)).unionByName(gone.withColumn("_gone", F.lit(True)),
                                                                       allowMissingColumns=True)
        match = " AND ".join(f"t.`{c}` = s.`{c}`" for c in on)
        (target.alias("t").merge(source.alias("s"), match)
         .whenMatchedDelete(condition="s._gone")
         .whenMatchedUpdate(set={c: f"s.`{c}`" for c in columns})
         .whenNotMatchedInsert(condition="NOT s._gone", values={c: f"s.`{c}`" for c in columns})
         .execute())
    finally:
        changed.unpersist()
        before.unpersist()

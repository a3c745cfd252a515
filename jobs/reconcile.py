"""Reconciliation: every bronze record of a delivery is accounted for in silver (issue 3 item 6).

For each bronze table with a declared home (conf/tables/silver.<t>.yaml `home_of`) and each
delivered file (source, extract_date, file), up to the run date:

    bronze rows = rows in the home table carrying that lineage
                + rows in ops.deduplicated + rows in quarantine.records

`ops.reconciliation` keeps the counts per run date; a mismatch raises `ReconciliationFailed`
naming every offending source/date/file, so the silver step fails visibly instead of losing
(or inventing) records. Bronze tables without a home yet are logged, not checked.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse import bronze, lake
from lakehouse.config import CONF_DIR, Env
from lakehouse.errors import DataError
from lakehouse.sources import load_sources

log = logging.getLogger(__name__)
TABLE = "ops.reconciliation"
KEYS = ["_source", "_extract_date", "_file"]
TABLE_DOCS = CONF_DIR / "tables"


class ReconciliationFailed(DataError):
    """Bronze records of a delivery are missing from (or counted twice in) silver."""


def home_tables() -> dict[str, str]:
    """bronze table → its home silver table, from conf/tables/silver.*.yaml; one home per bronze table."""
    import yaml

    homes: dict[str, str] = {}
    known = {f.bronze_table for s in load_sources().values() for f in s.files}
    for path in sorted(TABLE_DOCS.glob("silver.*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for b in doc.get("home_of") or []:
            if b not in known:
                raise ValueError(f"{path.name}: home_of names {b!r}, not a bronze table of conf/sources.yaml")
            if b in homes:
                raise ValueError(f"bronze table {b} has two homes: {homes[b]} and {doc['table']}")
            homes[b] = doc["table"]
    return homes


def homeless() -> list[str]:
    """Bronze tables of conf/sources.yaml that no silver table declares as home (yet)."""
    homes = home_tables()
    return sorted(f.bronze_table for s in load_sources().values() for f in s.files if f.bronze_table not in homes)


def _counts(df: DataFrame, name: str) -> DataFrame:
    return df.groupBy(*KEYS).agg(F.count(F.lit(1)).alias(name))


def accounting(bronze_rows: DataFrame, home: DataFrame, deduplicated: DataFrame, quarantined: DataFrame) -> DataFrame:
    """Counts per delivered file: bronze, silver, deduplicated, quarantined and whether they balance.

    `bronze_rows` carries `bronze_table` and `home_table` beside the lineage keys; the three
    right-hand frames may hold rows of any file: a file (source, extract date, name) belongs to
    one bronze table, so counts join on the lineage keys and other files' rows fall away.
    """
    out = bronze_rows.groupBy("bronze_table", "home_table", *KEYS).agg(F.count(F.lit(1)).alias("bronze_rows"))
    for df, name in ((home, "silver_rows"), (deduplicated, "deduplicated_rows"), (quarantined, "quarantined_rows")):
        out = out.join(_counts(df, name), KEYS, "left")
    out = out.fillna(0, ["silver_rows", "deduplicated_rows", "quarantined_rows"])
    return out.withColumn("balanced", F.col("bronze_rows") == F.col("silver_rows") + F.col("deduplicated_rows")
                          + F.col("quarantined_rows"))


def reconcile(spark: SparkSession, env: Env, run_date: dt.date) -> DataFrame:
    """The accounting of every homed bronze table for `run_date` (one row per delivered file)."""
    homes = home_tables()
    # one union per side and one aggregation each: a few Spark stages, not a few per table
    delivered = reduce(DataFrame.unionByName, [
        bronze.loaded(spark, env, b, run_date).select(*KEYS, F.lit(b).alias("bronze_table"), F.lit(h).alias("home_table"))
        for b, h in sorted(homes.items())
    ])
    in_silver = reduce(DataFrame.unionByName, [lake.read(spark, env, h).select(*KEYS) for h in sorted(set(homes.values()))])
    dedup = lake.read(spark, env, "ops.deduplicated").select(*KEYS)
    quarantine = lake.read(spark, env, "quarantine.records").select(*KEYS)
    return accounting(delivered, in_silver, dedup, quarantine).select(
        "bronze_table", "home_table", F.col("_source").alias("source"), F.col("_extract_date").alias("extract_date"),
        F.col("_file").alias("file"), "bronze_rows", "silver_rows", "deduplicated_rows", "quarantined_rows", "balanced",
        F.lit(run_date).alias("run_date"),
    )


def run(spark: SparkSession, env: Env, run_date: dt.date) -> list:
    """Write ops.reconciliation for the run date; raise ReconciliationFailed on any mismatch."""
    for b in homeless():
        log.warning("reconciliation: bronze table %s has no home table yet (conf/tables home_of)", b)
    lake.replace_where(reconcile(spark, env, run_date), env, TABLE, f"run_date = DATE'{run_date}'",
                       partition_by=["run_date"])
    rows = lake.read(spark, env, TABLE).where(F.col("run_date") == F.lit(run_date))
    bad = rows.where(~F.col("balanced")).orderBy("source", "extract_date", "file").collect()
    if bad:
        lines = [f"{r.source}/{r.extract_date}/{r.file} ({r.bronze_table} → {r.home_table}): bronze {r.bronze_rows} "
                 f"≠ silver {r.silver_rows} + deduplicated {r.deduplicated_rows} + quarantined {r.quarantined_rows}"
                 for r in bad]
        raise ReconciliationFailed(
            f"reconciliation failed for {run_date}: {len(bad)} delivered file(s) do not balance:\n  "
            + "\n  ".join(lines) + f"\nsee {TABLE} (run_date {run_date})")
    n = rows.count()
    log.info("reconciliation %s: %d delivered files balance", run_date, n)
    return bad

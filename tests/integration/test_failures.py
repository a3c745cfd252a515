"""Failures on the hand-written landing (tests/fixtures/mini_landing.py), cheap enough for every run:
a silver job dying inside a Spark write leaves every table at a readable, unchanged state and a
re-run completes; a home table that loses a record fails the silver step by reconciliation."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from jobs import silver_activity, silver_build
from jobs.reconcile import ReconciliationFailed
from lakehouse import applied, lake
from lakehouse.pipeline import run_step
from lakehouse.recovery import AUDIT_TABLES
from tests.conftest import copy_of


@pytest.fixture(scope="module")
def silver_lake(tmp_path_factory, spark, mini_silver):  # type: ignore[no-untyped-def]
    env = copy_of(mini_silver, tmp_path_factory.mktemp("failures"))
    return env, spark, mini_silver.dates[-1]


def _tables(env) -> list[str]:  # type: ignore[no-untyped-def]
    """The lake's data tables; the audit logs (ops.run_versions, ops.delivery_attempts) grow with every
    step that completes, by design, so they are not compared."""
    return [f"{p.parent.name}.{p.name}" for p in sorted(env.paths.lake.glob("*/*"))
            if (p / "_delta_log").is_dir() and f"{p.parent.name}.{p.name}" not in AUDIT_TABLES]


def _version(spark, env, name: str) -> int:  # type: ignore[no-untyped-def]
    from delta.tables import DeltaTable

    return int(DeltaTable.forPath(spark, str(lake.table_path(env, name))).history(1).first().version)


def _same_as(spark, env, name: str, version: int) -> bool:  # type: ignore[no-untyped-def]
    old = spark.read.format("delta").option("versionAsOf", version).load(str(lake.table_path(env, name)))
    now = lake.read(spark, env, name)
    return now.exceptAll(old).isEmpty() and old.exceptAll(now).isEmpty()


def test_a_silver_job_dying_mid_write_leaves_readable_tables_and_a_rerun_completes(silver_lake, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env, spark, day = silver_lake
    tables = _tables(env)
    before = {t: _version(spark, env, t) for t in tables}

    @F.udf("string")
    def crash_in_task(value: str) -> str:
        raise RuntimeError("executor lost while writing")

    real_table = silver_build.SilverWriter.table

    def dying_table(self, name, df, layer="silver"):  # type: ignore[no-untyped-def]
        if name == "bank_txn":  # tables before it in the run are already committed
            df = df.withColumn("acct_no", crash_in_task(F.col("acct_no")))
        return real_table(self, name, df, layer)

    monkeypatch.setattr(silver_build.SilverWriter, "table", dying_table)
    with pytest.raises(Exception, match="executor lost"):
        run_step("rebuild", day, env, "failures__dies")  # every table written again
    monkeypatch.undo()

    assert _version(spark, env, "silver.bank_txn") == before["silver.bank_txn"], "no commit of a half-written table"
    committed = [t for t in tables if _version(spark, env, t) != before[t]]
    assert committed and "quarantine.records" not in committed and "ops.reconciliation" not in committed
    assert applied.TABLE not in committed, "only a reconciled night is recorded as applied"
    # every table reads whole: untouched ones at their version, recommitted ones with the same rows
    assert [t for t in committed if not _same_as(spark, env, t, before[t])] == []

    run_step("silver", day, env, "failures__rerun")
    # the re-run derives again the tables whose inputs the dead run recommitted, and records that
    # (ops.silver_applied: new input versions and run id); every data table holds the same rows
    data = [t for t in tables if t != applied.TABLE]
    assert len(data) == len(tables) - 1 and [t for t in data if not _same_as(spark, env, t, before[t])] == []


def test_a_home_table_losing_a_record_fails_the_silver_step(silver_lake, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env, spark, day = silver_lake
    honest = silver_activity.bank_txns

    def lossy(records):  # type: ignore[no-untyped-def]
        kept, dedup = honest(records)
        return kept.where(F.col("channel") != "COUNTER"), dedup  # the counter withdrawal silently lost

    monkeypatch.setattr(silver_activity, "bank_txns", lossy)
    with pytest.raises(ReconciliationFailed) as failed:
        run_step("rebuild", day, env, "failures__lossy")
    message = str(failed.value)
    assert "txn_20260930.txt" in message and "bank__txn → silver.bank_txn" in message and "silver 1 " in message
    assert "pension/" not in message and "medical/" not in message  # only the offending file is named
    bad = lake.read(spark, env, "ops.reconciliation").where((F.col("run_date") == F.lit(day)) & ~F.col("balanced"))
    assert {r.source for r in bad.collect()} == {"bank"}

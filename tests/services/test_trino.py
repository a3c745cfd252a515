"""Trino over the nightly lake: same numbers as Spark, access rules, idempotent registration."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import functions as F
from trino.exceptions import TrinoUserError

from lakehouse import lake
from lakehouse.services import trino

pytestmark = pytest.mark.services


def test_gold_fund_monthly_matches_spark(trino_server: Any, nightly_lake: Any) -> None:
    """Row counts and Decimal sums per month, read by an analyst, equal Spark's on the same Delta table."""
    df = lake.read(nightly_lake.spark, nightly_lake.env, "gold.fund_monthly")
    expected = {
        r["month"]: (r["n"], r["expenditure"], r["income"])
        for r in df.groupBy("month")
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.sum("expenditure_yuan").alias("expenditure"),
            F.sum("income_yuan").alias("income"),
        )
        .collect()
    }
    rows = trino_server.query(
        "SELECT month, count(*), sum(expenditure_yuan), sum(income_yuan) "
        "FROM lakehouse.gold.fund_monthly GROUP BY month",
        user="analyst",
    )
    actual = {month: (n, expenditure, income) for month, n, expenditure, income in rows}
    assert expected, "gold.fund_monthly is empty in the nightly lake"
    assert all(isinstance(v, Decimal) for n, *sums in actual.values() for v in sums if v is not None)
    assert actual == expected


def test_chinese_labels_and_totals_per_scheme_match_spark(trino_server: Any, nightly_lake: Any) -> None:
    """Scheme names (UTF-8 Chinese) survive the round trip; per-scheme totals agree exactly."""
    df = lake.read(nightly_lake.spark, nightly_lake.env, "gold.fund_monthly")
    expected = {
        (r["scheme"], r["scheme_name"]): (r["payers"], r["income"])
        for r in df.groupBy("scheme", "scheme_name")
        .agg(F.sum("payers").alias("payers"), F.sum("income_yuan").alias("income"))
        .collect()
    }
    rows = trino_server.query(
        "SELECT scheme, scheme_name, sum(payers), sum(income_yuan) FROM gold.fund_monthly "
        "GROUP BY scheme, scheme_name",
        user="superset",
    )
    assert {(s, name): (payers, income) for s, name, payers, income in rows} == expected


@pytest.mark.parametrize("user", ["analyst", "superset"])
def test_analysts_are_denied_restricted(trino_server: Any, user: str) -> None:
    with pytest.raises(TrinoUserError) as denied:
        trino_server.query("SELECT person_ref, certno, name FROM lakehouse.restricted.identity LIMIT 1", user)
    assert denied.value.error_name == "PERMISSION_DENIED"
    schemas = {r[0] for r in trino_server.query("SHOW SCHEMAS FROM lakehouse", user)}
    assert "restricted" not in schemas and "bronze" not in schemas
    assert "gold" in schemas


@pytest.mark.parametrize(
    "statement",
    [
        # written so that even a broken rule would change no data
        "INSERT INTO lakehouse.gold.fund_monthly SELECT * FROM lakehouse.gold.fund_monthly WHERE 1 = 0",
        "DELETE FROM lakehouse.gold.fund_monthly WHERE 1 = 0",
        "CREATE TABLE lakehouse.gold.analyst_copy (x integer)",
        "CALL lakehouse.system.unregister_table(schema_name => 'gold', table_name => 'fund_monthly')",
    ],
)
def test_analysts_are_read_only(trino_server: Any, statement: str) -> None:
    with pytest.raises(TrinoUserError) as denied:
        trino_server.query(statement, "analyst")
    assert denied.value.error_name == "PERMISSION_DENIED"


def test_only_breakglass_reads_restricted(trino_server: Any, nightly_lake: Any) -> None:
    expected = lake.read(nightly_lake.spark, nightly_lake.env, "restricted.identity").count()
    assert trino_server.query("SELECT count(*) FROM lakehouse.restricted.identity", "breakglass") == [
        [expected]
    ]
    assert "restricted" in {r[0] for r in trino_server.query("SHOW SCHEMAS FROM lakehouse", "breakglass")}
    for user in ("engineer", "auditor", "supervisor_330102", trino.ADMIN_USER):
        with pytest.raises(TrinoUserError) as denied:
            trino_server.query("SELECT count(*) FROM lakehouse.restricted.identity", user)
        assert denied.value.error_name == "PERMISSION_DENIED", user


def test_bronze_is_never_registered(trino_server: Any) -> None:
    layers = {r[0] for r in trino_server.query("SHOW SCHEMAS FROM lakehouse", trino.ADMIN_USER)}
    assert layers <= {"gold", "silver", "restricted", "information_schema"}


def test_registration_is_idempotent(trino_server: Any) -> None:
    env = trino_server.env
    in_lake = trino.lake_tables(env)
    assert {"gold.fund_monthly", "restricted.identity"} <= set(in_lake)
    assert trino_server.registration.failed == {}
    assert trino_server.registration.tables == sorted(in_lake)

    before = trino.registered_tables(env)
    again = trino.register_lake_tables(env)
    assert again.registered == again.reregistered == again.removed == []
    assert again.unchanged == sorted(in_lake) == again.tables
    assert trino.registered_tables(env) == before == in_lake


def test_moved_lake_is_reregistered_and_new_versions_are_seen(
    trino_server: Any, nightly_lake: Any, tmp_path: Path
) -> None:
    """Registering another lake re-points tables; Spark writes after registration are visible at once."""
    env = trino_server.env
    original = trino.lake_tables(env)
    moved = env.with_paths(lake=tmp_path / "lake")
    shutil.copytree(original["gold.fund_monthly"], moved.paths.lake / "gold" / "fund_monthly")
    try:
        result = trino.register_lake_tables(moved)
        assert result.reregistered == ["gold.fund_monthly"]
        assert set(result.removed) == set(original) - {"gold.fund_monthly"}
        assert trino.registered_tables(env) == {
            "gold.fund_monthly": moved.paths.lake / "gold" / "fund_monthly"
        }

        count = "SELECT count(*) FROM lakehouse.gold.fund_monthly"
        rows = trino_server.query(count)[0][0]
        spark = nightly_lake.spark
        lake.read(spark, moved, "gold.fund_monthly").limit(3).write.format("delta").mode("append").save(
            str(lake.table_path(moved, "gold.fund_monthly"))
        )
        assert trino_server.query(count)[0][0] == rows + min(rows, 3)
    finally:
        restored = trino.register_lake_tables(env)
        assert trino.registered_tables(env) == original
        assert restored.reregistered == ["gold.fund_monthly"]


def test_views_from_sql_files(trino_server: Any, tmp_path: Path) -> None:
    """A view file creates (replaces) a view analysts can read; the registrar owns only the
    names of sql/views, so the test replaces one of them and restores it."""
    stem = trino.view_statements()[0][0]
    (tmp_path / f"{stem}.sql").write_text(
        f"CREATE OR REPLACE VIEW lakehouse.gold.{stem} AS\n"
        "SELECT sum(expenditure_yuan) AS expenditure_yuan FROM lakehouse.gold.fund_monthly;\n",
        encoding="utf-8",
    )
    try:
        assert trino.create_views(trino_server.env, views_dir=tmp_path) == [stem]
        total = trino_server.query("SELECT sum(expenditure_yuan) FROM lakehouse.gold.fund_monthly")
        assert trino_server.query(f"SELECT * FROM lakehouse.gold.{stem}", "analyst") == total
        # views are not tables: registration neither counts nor removes them
        assert f"gold.{stem}" not in trino.register_lake_tables(trino_server.env, views=False).tables
        assert trino_server.query(f"SELECT count(*) FROM lakehouse.gold.{stem}", "analyst") == [[1]]
    finally:
        assert stem in trino.create_views(trino_server.env)


def test_registrar_creates_views_but_no_tables(trino_server: Any) -> None:
    """Registration writes the metastore's entries itself: no Trino user creates or drops tables."""
    for statement in (
        "CREATE TABLE lakehouse.gold.registrar_copy AS SELECT * FROM lakehouse.gold.fund_monthly WHERE 1 = 0",
        "DROP TABLE lakehouse.gold.fund_monthly",
        "CALL lakehouse.system.unregister_table(schema_name => 'gold', table_name => 'fund_monthly')",
        "CREATE VIEW lakehouse.gold.not_a_view_of_sql_views AS SELECT 1 AS x",
        "CREATE SCHEMA lakehouse.scratch",
    ):
        with pytest.raises(TrinoUserError) as denied:
            trino_server.query(statement, trino.ADMIN_USER)
        assert denied.value.error_name == "PERMISSION_DENIED", statement

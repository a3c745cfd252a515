"""Analyst views over the gold fund marts (sql/views): registered, readable by analysts, same
totals as Spark, and no person-level column."""

from __future__ import annotations

from typing import Any

import pytest
from pyspark.sql import functions as F

from jobs.gold_marts import MARTS
from lakehouse import lake

pytestmark = pytest.mark.services

MART_VIEWS = ("coverage_by_region", "dependency_ratio_by_region", "disease_chapter_share", "drug_top10_monthly")


def test_mart_views_are_registered(trino_server: Any) -> None:
    assert set(MART_VIEWS) <= set(trino_server.registration.views)


def test_coverage_by_region_matches_spark(trino_server: Any, nightly_lake: Any) -> None:
    df = lake.read(nightly_lake.spark, nightly_lake.env, "gold.coverage")
    expected = {r["region"]: (r["pop"], r["ins"]) for r in df.groupBy("region").agg(
        F.sum("hukou_population").alias("pop"), F.sum("insured").alias("ins")).collect()}
    rows = trino_server.query(
        "SELECT region, hukou_population, insured, coverage_rate FROM lakehouse.gold.coverage_by_region", "analyst")
    assert expected and {r: (p, i) for r, p, i, _ in rows} == expected
    assert all(0 <= rate <= 1 for *_, rate in rows)


def test_drug_top10_holds_only_the_top_ten(trino_server: Any) -> None:
    rows = trino_server.query(
        "SELECT max(least(cost_rank, volume_rank)), count(*) FROM lakehouse.gold.drug_top10_monthly", "analyst")
    assert rows[0][1] > 0 and rows[0][0] <= 10


def test_marts_and_views_carry_no_person_columns(trino_server: Any) -> None:
    names = ", ".join(f"'{n}'" for n in (*MARTS, *MART_VIEWS))
    cols = trino_server.query(
        "SELECT table_name, column_name FROM lakehouse.information_schema.columns "
        f"WHERE table_schema = 'gold' AND table_name IN ({names})", "engineer")
    assert {t for t, _ in cols} == set(MARTS) | set(MART_VIEWS)
    assert not [c for c in cols if c[1] in ("person_ref", "certno", "name", "psn_no", "aac001")]

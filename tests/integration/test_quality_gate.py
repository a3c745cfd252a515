"""The Great Expectations gate stops promotion with a readable message."""

from __future__ import annotations

import datetime as dt

import pytest

from jobs import quality_gate
from lakehouse import lake
from lakehouse.errors import ExpectationFailed
from tests.conftest import make_env


def test_failing_expectation_stops_promotion_naming_table_and_check(spark, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tmp_path)
    rows = [("aaaaaaaaaaaaaaaa", "1", dt.date(1950, 1, 1)), ("aaaaaaaaaaaaaaaa", "3", dt.date(1950, 1, 1))]
    df = spark.createDataFrame(rows, "person_ref string, sex string, birth_date date")
    lake.overwrite(df, env, "silver.person")
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "silver.person.json").write_text((quality_gate.SUITES_DIR / "silver.person.json").read_text())
    with pytest.raises(ExpectationFailed) as err:
        quality_gate.run(dt.date(2026, 10, 1), env, "test", suites_dir=suites)
    message = str(err.value)
    assert "silver.person" in message and "expect_column_values_to_be_unique" in message
    assert "expect_column_values_to_be_in_set" in message and "not promoting" in message
    assert (env.paths.state / "gx" / "2026-10-01" / "silver.person.json").exists()


def test_clean_table_passes(spark, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tmp_path)
    df = spark.createDataFrame([("aaaaaaaaaaaaaaaa", "1", dt.date(1950, 1, 1))], "person_ref string, sex string, birth_date date")
    lake.overwrite(df, env, "silver.person")
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "silver.person.json").write_text((quality_gate.SUITES_DIR / "silver.person.json").read_text())
    results = quality_gate.run(dt.date(2026, 10, 1), env, "test", suites_dir=suites)
    assert [r.success for r in results] == [True]

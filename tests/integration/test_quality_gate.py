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
    # the fast pass only says pass/fail: a failing suite is validated again to name what is wrong
    assert "'unexpected_count': 1" in message and "'partial_unexpected_list': ['3']" in message
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


def test_an_unchanged_table_that_passed_is_not_validated_again(spark, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tmp_path)
    schema = "person_ref string, sex string, birth_date date"
    lake.overwrite(spark.createDataFrame([("aaaaaaaaaaaaaaaa", "1", dt.date(1950, 1, 1))], schema), env, "silver.person")
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "silver.person.json").write_text((quality_gate.SUITES_DIR / "silver.person.json").read_text())
    validated = []
    real = quality_gate.validate
    monkeypatch.setattr(quality_gate, "validate", lambda df, path: validated.append(path.stem) or real(df, path))

    nights = [dt.date(2026, 10, 1), dt.date(2026, 10, 2), dt.date(2026, 10, 3)]
    first = quality_gate.run(nights[0], env, "n1", suites_dir=suites)
    second = quality_gate.run(nights[1], env, "n2", suites_dir=suites)
    assert validated == ["silver.person"] and [r.success for r in first + second] == [True, True]
    assert "reused_from" in second[0].raw and (env.paths.state / "gx" / "2026-10-02" / "silver.person.json").exists()

    # written again (a bad row now): validated again, and it fails
    bad = [("aaaaaaaaaaaaaaaa", "1", dt.date(1950, 1, 1)), ("aaaaaaaaaaaaaaaa", "3", dt.date(1950, 1, 1))]
    lake.overwrite(spark.createDataFrame(bad, schema), env, "silver.person")
    with pytest.raises(ExpectationFailed):
        quality_gate.run(nights[2], env, "n3", suites_dir=suites)
    assert validated == ["silver.person", "silver.person"]

"""Registry history on the hand-written landing plus two later weekly snapshots
(tests/fixtures/mini_landing.py): a 户口状态 change and a lost card are dated by valid_from,
"as of" an earlier date gives the earlier state, and every bronze registry row is accounted for."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F

from jobs import quality_gate
from jobs.silver_registry import REGISTRIES
from lakehouse import bronze, history, lake
from lakehouse.identity import normalise_certno, person_ref
from lakehouse.pipeline import run_step
from tests.conftest import copy_of
from tests.fixtures import mini_landing as mini

INITIAL = dt.date(2026, 9, 30)  # window end of the initial loads
WEEK1, WEEK2 = dt.date(2026, 10, 7), dt.date(2026, 10, 14)  # window ends of the later snapshots


@pytest.fixture(scope="module")
def lake_env(tmp_path_factory, spark, mini_silver):  # type: ignore[no-untyped-def]
    # the later snapshots arrive after the mini lake's nights: silver applies them incrementally
    env = copy_of(mini_silver, tmp_path_factory.mktemp("registries"))
    last = mini.write_registry_updates(env.paths.landing)[-1]
    for step in ("ingest", "silver"):  # ingest lands every delivery up to the run date
        run_step(step, last, env, f"registries__{last}")
    return env, spark, last


def ref(raw: str, key: bytes) -> str:
    return person_ref(normalise_certno(raw).certno or "", key)


def read(lake_env, table: str):  # type: ignore[no-untyped-def]
    env, spark, _ = lake_env
    return lake.read(spark, env, f"silver.{table}")


def test_a_hukou_cancellation_is_dated_and_as_of_gives_the_earlier_state(lake_env, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    b = ref(mini.B, pseudonym_key)
    hist = read(lake_env, "hukou_person_history")
    rows = hist.where(F.col("person_ref") == b).orderBy("valid_from").collect()
    assert [(r.hukou_status, r.valid_from, r.valid_to) for r in rows] == [
        ("NORMAL", INITIAL, WEEK1), ("CANCELLED", WEEK1, None)]
    assert history.as_of(hist, WEEK1 - dt.timedelta(days=1)).where(F.col("person_ref") == b).first().hukou_status \
        == "NORMAL"
    # the current table other jobs read shows the state of the run date, with its columns unchanged
    current = read(lake_env, "hukou_person")
    assert current.columns == ["person_ref", "hukou_region", "hukou_status", "source_sex", "source_birth_date",
                               "_extract_date"]
    assert current.where(F.col("person_ref") == b).first().hukou_status == "CANCELLED"
    # A was cancelled in every snapshot: one state since the initial load
    a = hist.where(F.col("person_ref") == ref(mini.A, pseudonym_key)).collect()
    assert [(r.hukou_status, r.valid_from, r.valid_to) for r in a] == [("CANCELLED", INITIAL, None)]


def test_a_lost_card_is_dated_and_a_missing_card_comes_back(lake_env) -> None:  # type: ignore[no-untyped-def]
    hist = read(lake_env, "card_registry_history")

    def states(card: str) -> list[tuple]:
        rows = hist.where(F.col("card_no") == card).orderBy("valid_from").collect()
        return [(r.card_status, r.valid_from, r.valid_to) for r in rows]

    assert states("000000000001") == [("ACTIVE", INITIAL, WEEK1), ("LOST", WEEK1, None)]
    assert states("000000000002") == [("ACTIVE", WEEK1, None)]
    # the anonymous card was absent from one snapshot: closed then, open again when it came back
    assert states("000000000009") == [("ACTIVE", INITIAL, WEEK1), ("ACTIVE", WEEK2, None)]
    on = {r.card_no: r.card_status for r in history.as_of(hist, dt.date(2026, 10, 1)).collect()}
    assert on == {"000000000001": "ACTIVE", "000000000009": "ACTIVE"}
    current = read(lake_env, "card_registry")
    assert current.columns == ["card_no", "person_ref", "card_type", "card_status", "issued_on"]
    assert {r.card_no: r.card_status for r in current.collect()} == {
        "000000000001": "LOST", "000000000002": "ACTIVE", "000000000009": "ACTIVE"}


def test_bank_medical_and_dibao_registries(lake_env, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    env, spark, _ = lake_env
    b = ref(mini.B, pseudonym_key)
    acct = read(lake_env, "bank_account_history").orderBy("valid_from").collect()
    assert [(r.acct_no, r.person_ref, r.account_status, r.valid_from, r.valid_to) for r in acct] == [
        ("6222002", b, "NORMAL", INITIAL, WEEK1), ("6222002", b, "FROZEN", WEEK1, None)]
    insured = read(lake_env, "medical_insured_history").orderBy("valid_from").collect()
    assert [(r.psn_no, r.scheme, r.insured_status, r.end_date, r.valid_from) for r in insured] == [
        ("M002", "310", "ACTIVE", None, INITIAL), ("M002", "310", "TERMINATED", dt.date(2026, 10, 5), WEEK1)]
    dibao = read(lake_env, "dibao_history").orderBy("person_ref", "valid_from").collect()
    got = {(r.person_ref, r.dibao_type, r.start_date, r.end_date, str(r.monthly_amount), r.valid_from, r.valid_to)
           for r in dibao}
    d = ref(mini.D, pseudonym_key)
    assert got == {  # a real Excel date, text 2025年6月1日 and text 2026-06-30 all parse; B's raise is dated
        (b, "URBAN_DIBAO", dt.date(2026, 3, 1), None, "900.00", WEEK1, WEEK2),
        (b, "URBAN_DIBAO", dt.date(2026, 3, 1), None, "950.50", WEEK2, None),
        (d, "RURAL_DIBAO", dt.date(2025, 6, 1), dt.date(2026, 6, 30), "500.00", WEEK1, None),
    }
    q = lake.read(spark, env, "quarantine.records").where(F.col("silver_table") == "dibao_history").collect()
    assert [r.reasons for r in q] == [["CERTNO_BAD_CHECKSUM"], ["CERTNO_BAD_CHECKSUM"]]
    assert {r.person_ref for r in read(lake_env, "dibao").collect()} == {b, d}


@pytest.mark.parametrize("spec", REGISTRIES, ids=[r.name for r in REGISTRIES])
def test_every_bronze_registry_row_is_accounted_for(lake_env, spec) -> None:  # type: ignore[no-untyped-def]
    env, spark, run_date = lake_env
    delivered = bronze.loaded(spark, env, spec.bronze_table, run_date).count()
    kept = read(lake_env, spec.home).count()
    dedup = lake.read(spark, env, "ops.deduplicated").where(F.col("silver_table") == spec.home)
    assert dedup.where(~F.col("dedup_reason").isin("SNAPSHOT_UNCHANGED", "DUPLICATE_KEY_IN_SNAPSHOT",
                                                    "SNAPSHOT_SUPERSEDED")).count() == 0
    quarantined = lake.read(spark, env, "quarantine.records").where(F.col("silver_table") == spec.home).count()
    assert delivered > 0 and kept + dedup.count() + quarantined == delivered


@pytest.mark.parametrize("table", [t for r in REGISTRIES for t in (r.name, r.home)])
def test_registry_suites_pass(lake_env, table: str) -> None:  # type: ignore[no-untyped-def]
    res = quality_gate.validate(read(lake_env, table), quality_gate.SUITES_DIR / f"silver.{table}.json")
    assert res.success, res.failures

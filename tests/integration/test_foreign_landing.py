"""A landing written by hand to the contract (not by lakehouse.synth) flows through bronze,
silver and gold: the pipeline does not depend on its own generator's habits."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F

from jobs.rules import load_rules
from lakehouse import lake
from lakehouse.identity import normalise_certno, person_ref
from lakehouse.pipeline import run_step
from tests.conftest import copy_of
from tests.fixtures import mini_landing as mini


@pytest.fixture(scope="module")
def mini_lake(tmp_path_factory, spark, mini_silver):  # type: ignore[no-untyped-def]
    # one night at the last date: ingest landed every delivery up to it and silver was built from
    # all of bronze, so the lake equals one built night by night (nightly_lake proves that path).
    env = copy_of(mini_silver, tmp_path_factory.mktemp("foreign"))
    day = mini_silver.dates[-1]
    for step in ("feedback", "quality_gate", "gold"):
        run_step(step, day, env, f"mini__{day}")
    return env, spark, mini_silver.dates


def ref(raw: str, key: bytes) -> str:
    return person_ref(normalise_certno(raw).certno or "", key)


def test_deliveries_log_records_loaded_and_missing(mini_lake) -> None:  # type: ignore[no-untyped-def]
    env, spark, dates = mini_lake
    log = {(r.source, r.extract_date): r.status for r in lake.read(spark, env, "ops.deliveries").collect()}
    assert all(log[(s, dates[0])] == "LOADED" for s in ("pension", "medical", "public_security", "civil_affairs",
                                                          "transit", "bank"))
    assert log[("pension", dates[1])] == "LOADED" and log[("bank", dates[1])] == "MISSING"


def test_legacy_15_digit_number_is_upgraded_and_linked(mini_lake, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    env, spark, _ = mini_lake
    person = lake.read(spark, env, "silver.person").where(F.col("person_ref") == ref(mini.C_LEGACY, pseudonym_key))
    assert person.first().birth_date == dt.date(1970, 1, 1)


def test_invalid_check_character_is_quarantined_never_guessed(mini_lake, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    env, spark, _ = mini_lake
    q = lake.read(spark, env, "quarantine.records").where(F.col("_file") == "czrk.csv").collect()
    assert [r.reasons for r in q] == [["CERTNO_BAD_CHECKSUM"]]
    assert mini.E_BAD in q[0].raw_record
    identity = {r.certno for r in lake.read(spark, env, "restricted.identity").collect()}
    assert mini.E_BAD not in identity


def test_old_and_new_scheme_codes_of_one_month_are_one_payment(mini_lake, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    env, spark, _ = mini_lake
    pay = lake.read(spark, env, "silver.pension_payment").where(F.col("person_ref") == ref(mini.B, pseudonym_key))
    assert [(r.scheme, r.pay_month, str(r.amount)) for r in pay.collect()] == [("110", dt.date(2026, 9, 1), "2800.00")]
    dedup = lake.read(spark, env, "ops.deduplicated").where(F.col("_file") == "ic80_payment.csv").collect()
    assert [r.dedup_reason for r in dedup] == ["SAME_SCHEME_MONTH"]


def test_malformed_bank_line_is_quarantined_with_its_raw_text(mini_lake) -> None:  # type: ignore[no-untyped-def]
    env, spark, _ = mini_lake
    q = lake.read(spark, env, "quarantine.records").where(F.col("silver_table") == "bank_txn").collect()
    assert len(q) == 1 and q[0].reasons[0].startswith("MALFORMED") and "6222002|broken" in q[0].raw_record
    txns = lake.read(spark, env, "silver.bank_txn").collect()
    assert {(r.channel, str(r.amount)) for r in txns} == {("AUTO", "2800.00"), ("COUNTER", "500.00")}


def test_duplicate_device_taps_are_one_tap_and_anonymous_cards_stay_unlinked(mini_lake) -> None:  # type: ignore[no-untyped-def]
    env, spark, _ = mini_lake
    taps = lake.read(spark, env, "silver.transit_tap").collect()
    assert len(taps) == 2
    assert {r.card_no: r.person_ref is None for r in taps} == {"000000000001": False, "000000000009": True}


def test_full_width_certno_settlement_is_linked_and_is_a_strong_signal(mini_lake, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    env, spark, _ = mini_lake
    prof = lake.read(spark, env, "gold.person_profile").where(F.col("person_ref") == ref(mini.B, pseudonym_key)).first()
    assert prof.last_strong_signal == dt.date(2026, 9, 25) and prof.last_strong_source == "bank_counter"
    assert prof.last_medical_visit == dt.date(2026, 9, 20)
    assert "老年卡持有" in prof.labels


@pytest.mark.parametrize("code,who,amount", [("R01_PAID_AFTER_DEATH", "A", "6200.00"),
                                             ("R08_EMIGRATED_STILL_PAID", "D", "2900.00")])
def test_rules_on_the_foreign_landing(mini_lake, pseudonym_key, code: str, who: str, amount: str) -> None:  # type: ignore[no-untyped-def]
    env, spark, dates = mini_lake
    rule = next(r for r in load_rules() if r.code == code)
    inputs = {n: lake.read(spark, env, f"silver.{n}") for n in ("person", "pension_payment", "death_event",
                                                                 "emigration_event")}
    hits = rule.hits(inputs, dates[-1]).collect()
    assert [(h.person_ref, str(h.amount_at_risk)) for h in hits] == [(ref(getattr(mini, who), pseudonym_key), amount)]
    assert hits[0].evidence


def test_a_missing_delivery_does_not_stop_the_others_and_its_watermark_stays(mini_lake) -> None:  # type: ignore[no-untyped-def]
    from jobs.export_nightly import watermarks

    env, spark, dates = mini_lake
    marks = watermarks(spark, env, dates[1])  # what the night's exports/manifest.json records
    assert marks["pension"] == dates[1].isoformat()  # delivered that night, loaded
    assert marks["bank"] == dates[0].isoformat()  # bank sent nothing: its last extract date loaded


def test_one_ingest_run_writes_each_bronze_table_in_one_commit(mini_lake) -> None:  # type: ignore[no-untyped-def]
    """Every delivery of the run (several dates) lands in one Delta commit per bronze table, and
    each table holds exactly the records the manifests of its LOADED deliveries declare."""
    import json

    env, spark, _ = mini_lake
    log = lake.read(spark, env, "ops.deliveries").where("status = 'LOADED'").collect()
    declared: dict[str, int] = {}
    from lakehouse.sources import load_sources

    specs = {s.name: s for s in load_sources().values()}
    for row in log:
        for f in json.loads(row.files_json):
            spec = specs[row.source].spec_for(f["name"])
            if spec is not None:
                declared[spec.bronze_table] = declared.get(spec.bronze_table, 0) + f["rows"]
    tables = sorted(p.name for p in (env.paths.lake / "bronze").iterdir())
    assert tables and set(declared) <= set(tables)
    checked = 0
    for name in tables:
        commits = sorted((env.paths.lake / "bronze" / name / "_delta_log").glob("*.json"))
        assert len(commits) == 1, (name, [c.name for c in commits])
        assert lake.read(spark, env, f"bronze.{name}").count() == declared.get(name, 0), name
        checked += 1
    assert checked == len(tables) >= 10

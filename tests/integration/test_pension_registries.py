"""silver.employer and silver.enrolment on the nightly lake, checked against the generator's truth."""

from __future__ import annotations

import csv

from pyspark.sql import functions as F

from lakehouse import bronze, lake
from lakehouse.identity import person_ref

NEW_CODE = {"11": "110", "12": "120", "17": "170", "JG": "120"}


def _truth(city, name: str) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    with open(city.truth / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_a_person_under_old_and_new_codes_of_one_scheme_has_one_enrolment(nightly_lake, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    env, spark = nightly_lake.env, nightly_lake.spark
    both = {(person_ref(q["key"], pseudonym_key), NEW_CODE[q["raw"]])
            for q in _truth(nightly_lake.city, "quirks.csv")
            if q["quirk"] == "old_scheme_code" and q["note"] == "also under the new code"}
    rows = lake.read(spark, env, "silver.enrolment").groupBy("person_ref", "scheme").agg(
        F.count(F.lit(1)).alias("n"), F.min("start_date").alias("start")).collect()
    enrolled = {(r.person_ref, r.scheme): r for r in rows}
    found = [k for k in both if k in enrolled]
    assert len(found) >= max(1, len(both) // 2), "the city plants persons under both code systems"
    assert all(enrolled[k].n == 1 for k in found)
    # the merged enrolment starts when the old system's record did, before the 2015 migration
    persons = {person_ref(p["certno"], pseudonym_key): p for p in _truth(nightly_lake.city, "persons.csv")}
    assert any(enrolled[k].start.year < 2015 for k in found)
    assert all(persons[k[0]]["pension_scheme"] == k[1] for k in found)
    reasons = lake.read(spark, env, "ops.deduplicated").where(F.col("silver_table") == "enrolment")
    assert reasons.where(F.col("dedup_reason") == "SAME_SCHEME").count() >= len(found)


def test_enrolment_scheme_and_employer_follow_the_truth(nightly_lake, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    env, spark = nightly_lake.env, nightly_lake.spark
    enrolment = {(r.person_ref, r.scheme): r.employer_id
                 for r in lake.read(spark, env, "silver.enrolment").collect()}
    checked = 0
    for p in _truth(nightly_lake.city, "persons.csv"):
        key = (person_ref(p["certno"], pseudonym_key), p["pension_scheme"])
        if p["pension_scheme"] and key in enrolment:
            assert enrolment[key] == (p["employer_id"] or None), p["aac001"]
            checked += 1
    assert checked > 100


def test_every_registry_record_lands_in_silver_dedup_or_quarantine(nightly_lake) -> None:  # type: ignore[no-untyped-def]
    env, spark = nightly_lake.env, nightly_lake.spark
    lineage = ["_source", "_extract_date", "_file", "_row"]
    for table, bronze_table in (("employer", "pension__ab01_employer"), ("enrolment", "pension__ac20_enrollment")):
        delivered = bronze.loaded(spark, env, bronze_table, nightly_lake.dates[-1]).select(*lineage)
        landed = (
            lake.read(spark, env, f"silver.{table}").select(*lineage)
            .unionByName(lake.read(spark, env, "ops.deduplicated").where(F.col("silver_table") == table).select(*lineage))
            .unionByName(lake.read(spark, env, "quarantine.records").where(F.col("silver_table") == table).select(*lineage))
        )
        assert landed.count() == landed.distinct().count(), f"{table}: a record landed twice"
        assert delivered.exceptAll(landed).count() == 0 and landed.exceptAll(delivered).count() == 0, table


def test_current_employers_have_one_version(nightly_lake) -> None:  # type: ignore[no-untyped-def]
    env, spark = nightly_lake.env, nightly_lake.spark
    current = lake.read(spark, env, "silver.employer").where(F.col("valid_to").isNull())
    assert current.count() > 0
    assert current.groupBy("employer_id").count().where("count > 1").count() == 0

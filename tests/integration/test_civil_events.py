"""Public-security and civil-affairs events: every hkzx/huohua/crj record has a home, R04's
amount is the fund's share the generator planted, and a pensioner abroad by the last border
crossing is certified ABROAD (OUTPUTS.md), checked against the generator's truth."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from pyspark.sql import functions as F

from jobs.gold_build import abroad
from lakehouse import bronze, lake
from lakehouse.identity import normalise_certno, person_ref

LINEAGE = ["_source", "_extract_date", "_file", "_row"]
HOMES = {"public_security__hkzx": "hukou_cancellation", "civil_affairs__huohua": "cremation",
         "public_security__crj": "border_crossing"}


def truth_rows(city, name: str) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    with open(city.truth / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def ref(certno: str, key: bytes) -> str:
    return person_ref(normalise_certno(certno).certno, key)


def certification(nightly_lake) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    folder = nightly_lake.env.paths.exports / nightly_lake.dates[-1].isoformat() / "certification"
    rows = {}
    for p in folder.glob("*.csv"):
        for row in csv.DictReader(p.read_text(encoding="utf-8-sig").splitlines()):
            rows[row["person_ref"]] = row
    return rows


@pytest.mark.parametrize("bronze_table", sorted(HOMES))
def test_every_record_lands_in_its_home_table_dedup_or_quarantine(nightly_lake, bronze_table: str) -> None:  # type: ignore[no-untyped-def]
    env, spark, run_date = nightly_lake.env, nightly_lake.spark, nightly_lake.dates[-1]
    home = HOMES[bronze_table]
    delivered = bronze.loaded(spark, env, bronze_table, run_date).select(*LINEAGE)
    kept = lake.read(spark, env, f"silver.{home}").select(*LINEAGE)
    dedup = lake.read(spark, env, "ops.deduplicated").where(F.col("silver_table") == home).select(*LINEAGE)
    quarantined = lake.read(spark, env, "quarantine.records").where(F.col("silver_table") == home).select(*LINEAGE)
    accounted = kept.unionByName(dedup).unionByName(quarantined)
    assert delivered.count() > 0
    assert accounted.count() == delivered.count(), "each record is counted exactly once"
    assert delivered.join(accounted, LINEAGE, "left_anti").count() == 0


def test_pensioners_abroad_by_last_crossing_or_emigrated_are_certified_abroad(nightly_lake, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    listed = certification(nightly_lake)
    first, run_date = nightly_lake.dates[0].isoformat(), nightly_lake.dates[-1].isoformat()
    # the generator plants pensioners who left months before the first extract and never came back
    away = {p["certno"] for p in truth_rows(nightly_lake.city, "planted_risks.csv")
            if p["scenario"] == "m01_decoy_alive_abroad"}
    checked = 0
    for p in truth_rows(nightly_lake.city, "persons.csv"):
        if p["retired"] != "1" or (p["death_known_from"] and p["death_known_from"] <= run_date):
            continue
        if p["certno"] in away:
            assert p["abroad_at_end"] == "1"
        # an emigration registered before the first extract is in the initial load
        elif not (p["emigrated_on"] and p["emigrated_on"] < first and ref(p["certno"], pseudonym_key) in listed):
            continue
        assert listed[ref(p["certno"], pseudonym_key)]["status"] == "ABROAD", p["planted"]
        checked += 1
    assert checked > len(away) > 0


def test_claim_after_death_puts_the_planted_fund_share_at_risk(nightly_lake, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    env, spark, run_date = nightly_lake.env, nightly_lake.spark, nightly_lake.dates[-1]
    clues = {r.person_ref: r for r in lake.read(spark, env, "gold.risk_clue")
             .where(F.col("rule_code") == "R04_CLAIM_AFTER_DEATH").collect()}
    due = [p for p in truth_rows(nightly_lake.city, "planted_risks.csv") if p["rule_code"] == "R04_CLAIM_AFTER_DEATH"
           and p["is_decoy"] == "0" and dt.date.fromisoformat(p["detectable_from"]) <= run_date]
    assert due
    for p in due:
        clue = clues[ref(p["certno"], pseudonym_key)]
        assert f"{clue.amount_at_risk:.2f}" == p["amount_at_risk"], p["detail"]
        assert "死亡" in clue.evidence and clue.score == 100


def test_abroad_is_read_from_the_last_crossing_up_to_the_run_date(spark) -> None:  # type: ignore[no-untyped-def]
    d = dt.date
    rows = [
        ("a", "EXIT", d(2026, 9, 1)),                                   # still away: 9-02 … 10-01
        ("b", "EXIT", d(2026, 9, 1)), ("b", "ENTRY", d(2026, 9, 11)),   # back: 9 days away
        ("c", "EXIT", d(2026, 9, 20)), ("c", "ENTRY", d(2026, 9, 20)),  # a day trip
        ("d", "ENTRY", d(2026, 9, 5)), ("d", "EXIT", d(2026, 10, 5)),   # leaves after the run date
        ("e", "EXIT", d(2025, 1, 1)),                                    # away longer than the window
    ]
    got = {r.person_ref: (r.abroad_since, r.days_abroad_365) for r in abroad(
        spark.createDataFrame(rows, "person_ref string, direction string, crossed_on date"), d(2026, 10, 1)).collect()}
    assert got == {"a": (d(2026, 9, 1), 30), "b": (None, 9), "c": (None, 0), "d": (None, 0),
                   "e": (d(2025, 1, 1), 365)}

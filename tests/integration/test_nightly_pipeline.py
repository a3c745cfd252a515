"""The nightly pipeline end to end on a generated city, checked against the generator's truth
and the contracts (OUTPUTS.md), from the outside."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from jobs.rules import load_rules
from lakehouse import bronze, lake
from lakehouse.identity import normalise_certno, person_ref

RISK_HEADER = ("clue_id,rule_code,risk_type,person_ref,name_masked,certno_masked,region,score,amount_at_risk,"
               "evidence,first_seen,status,suggested_action")
CERT_HEADER = "person_ref,name_masked,certno_masked,region,status,p_alive,last_strong_signal,last_signal_source,cycle"


def truth_rows(city, name: str) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    with open(city.truth / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def export_dir(nightly_lake) -> Path:  # type: ignore[no-untyped-def]
    return nightly_lake.env.paths.exports / nightly_lake.dates[-1].isoformat()


def test_export_folder_follows_the_output_contract(nightly_lake, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    folder = export_dir(nightly_lake)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["run_date"] == nightly_lake.dates[-1].isoformat()
    assert manifest["model_versions"].get("survival_status")
    on_disk = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert sorted(f["path"] for f in manifest["files"]) == [p for p in on_disk if p != "manifest.json"]
    persons = truth_rows(nightly_lake.city, "persons.csv")
    refs = {person_ref(p["certno"], pseudonym_key) for p in persons}
    full_names = {p["name"] for p in persons if len(p["name"]) >= 2}
    # not inside a longer hex run: a person_ref (16 hex) may by chance hold 15 decimal digits
    id_pattern = re.compile(r"(?<![0-9a-fA-F])(\d{17}[\dXx]|\d{15})(?![0-9a-fA-F])")
    for f in manifest["files"]:
        data = (folder / f["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"], f["path"]
        if not f["path"].endswith(".csv"):
            continue
        assert data.startswith(b"\xef\xbb\xbf"), f"{f['path']} has no BOM"
        text = data.decode("utf-8-sig")
        lines = text.splitlines()
        assert lines[0] == (RISK_HEADER if f["path"].startswith("risk_list/") else CERT_HEADER)
        assert len(lines) - 1 == f["rows"]
        assert not id_pattern.search(text), f"raw identity number in {f['path']}"
        rows = list(csv.DictReader(lines))
        for row in rows:
            assert row["person_ref"] in refs
            assert row["name_masked"] not in full_names or len(row["name_masked"]) < 2
            assert re.fullmatch(r"\d{6}\*{8}[\dX]{4}", row["certno_masked"])


def test_certification_lists_every_pensioner_with_a_status(nightly_lake, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    folder = export_dir(nightly_lake)
    listed = {}
    for p in (folder / "certification").glob("*.csv"):
        for row in csv.DictReader(p.read_text(encoding="utf-8-sig").splitlines()):
            listed[row["person_ref"]] = row
    # every pensioner the lake can know of is listed, and nobody else: retired by the end of the window
    # of the latest pension registry snapshot delivered intact by the run date (a retirement after it,
    # or in a snapshot that arrived corrupt, is not in any delivered registry yet)
    run_date = nightly_lake.dates[-1].isoformat()
    known_until = max(d["window_to"] for d in truth_rows(nightly_lake.city, "deliveries.csv")
                      if d["source"] == "pension" and d["registry"] == "1" and d["status"] == "ok"
                      and d["extract_date"] <= run_date)
    retired = {person_ref(p["certno"], pseudonym_key) for p in truth_rows(nightly_lake.city, "persons.csv")
               if p["retired"] == "1" and p["retirement_date"] <= known_until}
    assert len(retired) > 50
    assert sorted(retired - set(listed)) == [], f"{len(retired - set(listed))} pensioners not listed"
    assert sorted(set(listed) - retired) == [], f"{len(set(listed) - retired)} listed are not pensioners"
    assert {r["status"] for r in listed.values()} <= {"CERTIFIED_BY_DATA", "SUSPECT", "DECEASED", "ABROAD"}
    assert all(0 <= float(r["p_alive"]) <= 1 for r in listed.values())
    assert {r["cycle"] for r in listed.values()} == {str(nightly_lake.dates[-1].year)}
    # every pensioner whose death record has been delivered by the run date is certified DECEASED
    checked = 0
    for p in truth_rows(nightly_lake.city, "persons.csv"):
        ref = person_ref(p["certno"], pseudonym_key)
        if ref in listed and p["death_known_from"] and p["death_known_from"] <= run_date:
            assert listed[ref]["status"] == "DECEASED", p["certno"][-4:]
            checked += 1
    assert checked > 0


def test_corrupt_deliveries_are_rejected_whole_and_the_night_goes_on(nightly_lake) -> None:  # type: ignore[no-untyped-def]
    env, spark = nightly_lake.env, nightly_lake.spark
    corrupt = truth_rows(nightly_lake.city, "corrupt_deliveries.csv")
    assert corrupt, "the test city plants corrupt deliveries"
    log = {(r.source, r.extract_date.isoformat()): r for r in lake.read(spark, env, "ops.deliveries").collect()}
    for c in corrupt:
        entry = log[(c["source"], c["extract_date"])]
        if entry.status == "LOADED":  # replaced by a correct re-send of that date
            assert entry.sequence > int(c.get("sequence") or 1)
            continue
        assert entry.status == "REJECTED"
        assert c["file"] in entry.reason
        for spec_table in {f"{c['source']}__{t}" for t in _tables(c["source"])}:
            rows = bronze.loaded(spark, env, spec_table, nightly_lake.dates[-1]).where(
                F.col("_extract_date") == F.lit(dt.date.fromisoformat(c["extract_date"]))).count()
            assert rows == 0
        others = [r for (s, d), r in log.items() if d == c["extract_date"] and s != c["source"]]
        assert any(r.status == "LOADED" for r in others)


def _tables(source: str) -> list[str]:
    from lakehouse.sources import load_sources

    return [f.table for f in load_sources()[source].files]


# every hard rule of the knowledge base (M01 is a model, measured by its own tests)
@pytest.mark.parametrize("rule", [r.code for r in load_rules() if r.code.startswith("R")])
def test_planted_cases_are_found_and_decoys_are_not(nightly_lake, pseudonym_key, rule: str) -> None:  # type: ignore[no-untyped-def]
    env, spark = nightly_lake.env, nightly_lake.spark
    run_date = nightly_lake.dates[-1]
    flagged = {r.person_ref for r in lake.read(spark, env, "gold.risk_clue").where(F.col("rule_code") == rule).collect()}
    planted = [p for p in truth_rows(nightly_lake.city, "planted_risks.csv") if p["rule_code"] == rule]
    due = [p for p in planted if p["is_decoy"] == "0" and dt.date.fromisoformat(p["detectable_from"]) <= run_date]
    decoys = [p for p in planted if p["is_decoy"] == "1"]
    assert due, f"the city plants detectable {rule} cases"
    for p in due:
        assert person_ref(normalise_certno(p["certno"]).certno, pseudonym_key) in flagged, p["detail"]
    for p in decoys:
        assert person_ref(normalise_certno(p["certno"]).certno, pseudonym_key) not in flagged, p["detail"]
    # the other direction: every flag was planted (a case detectable later may already show)
    hits = {person_ref(normalise_certno(p["certno"]).certno, pseudonym_key) for p in planted if p["is_decoy"] == "0"}
    assert flagged, f"{rule} flagged nobody"
    assert sorted(flagged - hits) == [], f"{rule} flagged {len(flagged - hits)} persons nobody planted"


def test_fund_expenditure_reconciles_with_silver_payments(nightly_lake) -> None:  # type: ignore[no-untyped-def]
    env, spark = nightly_lake.env, nightly_lake.spark
    pay = lake.read(spark, env, "silver.pension_payment").where("status = 'PAID' AND amount > 0")
    expected = {(r.m, r.scheme): r.total for r in pay.groupBy(F.col("pay_month").alias("m"), "scheme")
                .agg(F.sum("amount").alias("total")).collect()}
    gold = lake.read(spark, env, "gold.fund_monthly").where(F.col("scheme").isin("110", "120", "170"))
    got = {(r.month, r.scheme): r.total for r in gold.groupBy("month", "scheme")
           .agg(F.sum("expenditure_yuan").alias("total")).collect()}
    # months with contributions but no pension paid carry expenditure 0.00
    assert expected and {k: v for k, v in got.items() if v != 0} == expected


def test_survival_model_is_registered_and_scores_probabilities(nightly_lake) -> None:  # type: ignore[no-untyped-def]
    from models.registry import champion_version

    env, spark = nightly_lake.env, nightly_lake.spark
    version = champion_version(env, "survival_status")
    assert version is not None
    scores = lake.read(spark, env, "gold.survival_score")
    stats = scores.agg(F.min("p_alive").alias("lo"), F.max("p_alive").alias("hi"),
                       F.countDistinct("model_version").alias("versions")).first()
    assert 0 <= stats.lo <= stats.hi <= 1 and stats.versions == 1
    # persons with a registered death score lower than the rest on average
    prof = lake.read(spark, env, "gold.person_profile").select("person_ref", F.col("death_date").isNotNull().alias("dead"))
    means = {r.dead: r.p for r in scores.join(prof, "person_ref").groupBy("dead").agg(F.avg("p_alive").alias("p")).collect()}
    assert means[True] < means[False]


def test_rerunning_a_date_reproduces_identical_exports(nightly_lake) -> None:  # type: ignore[no-untyped-def]
    from lakehouse.pipeline import run_step

    folder = export_dir(nightly_lake)
    before = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for step in ("rules", "export"):
        run_step(step, nightly_lake.dates[-1], nightly_lake.env, "test__rerun")
    after = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert after == before
    assert not list(folder.parent.glob(".*staging*")), "no staging folder left behind"


def test_hukou_cancellations_are_dated_from_the_snapshots(nightly_lake, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    """户口状态 history against the truth: a cancelled 户口 shows CANCELLED from the first snapshot
    on or after the cancellation, and never before it (SOURCES.md registries, issue 3)."""
    from lakehouse import history

    env, spark = nightly_lake.env, nightly_lake.spark
    hist = lake.read(spark, env, "silver.hukou_person_history")
    last = hist.agg(F.max("valid_from")).first()[0]
    cancelled = hist.where("hukou_status = 'CANCELLED'").groupBy("person_ref").agg(F.min("valid_from").alias("since"))
    since = {r.person_ref: r.since for r in cancelled.collect()}
    known = {r.person_ref for r in hist.select("person_ref").distinct().collect()}
    checked = 0
    for p in truth_rows(nightly_lake.city, "persons.csv"):
        ref = person_ref(p["certno"], pseudonym_key)
        if not p["hukou_region"] or not p["cancelled_on"] or ref not in known:
            continue
        day = dt.date.fromisoformat(p["cancelled_on"])
        if day > last or p["death_date"]:
            continue
        assert ref in since and since[ref] >= day, p["certno"][-4:]
        before = history.as_of(hist, day - dt.timedelta(days=1)).where(F.col("person_ref") == ref).collect()
        assert all(r.hukou_status == "NORMAL" for r in before)
        checked += 1
    assert checked > 0
    current = {r.person_ref: r.hukou_status for r in lake.read(spark, env, "silver.hukou_person").collect()}
    assert all(current.get(ref) == "CANCELLED" for ref in since if ref in current)

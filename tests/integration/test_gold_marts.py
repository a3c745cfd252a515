"""silver.settlement_detail and the gold fund marts on the session's generated city (the lake the
nightly DAG built through Airflow, corrupt deliveries included), checked against the generator's
truth (persons.csv, invalid_ids.csv) and reconciled with silver and bronze."""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from pyspark.sql import functions as F

from jobs.gold_marts import MARTS
from lakehouse import bronze, lake
from lakehouse.config import REPO_ROOT, load_conf
from tests.conftest import Lake


@pytest.fixture(scope="module")
def marts_lake(nightly_lake: Lake) -> Lake:
    return nightly_lake


def _truth(city: Any, name: str) -> list[dict[str, str]]:
    with open(city.truth / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _read(marts_lake: Any, name: str):  # type: ignore[no-untyped-def]
    return lake.read(marts_lake.spark, marts_lake.env, name)


def _band(birth: dt.date, on: dt.date) -> str:
    """Age band of conf/age_bands.yaml, computed here from the true birth date."""
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    for b in load_conf("age_bands.yaml")["bands"]:
        if age >= b["from"] and (b["to"] is None or age < b["to"]):
            return str(b["code"])
    raise AssertionError(f"no band for age {age}")


# --- silver.settlement_detail -----------------------------------------------------------------


def test_every_detail_record_is_in_silver_deduplicated_or_quarantined(marts_lake: Any) -> None:
    """medical__setl_detail is home to silver.settlement_detail: bronze rows = silver + dedup + quarantine."""
    run_date = marts_lake.dates[-1]
    keys = ["_source", "_extract_date", "_file", "_row"]
    src = bronze.loaded(marts_lake.spark, marts_lake.env, "medical__setl_detail", run_date).select(*keys)
    silver = _read(marts_lake, "silver.settlement_detail").select(*keys)
    dedup = _read(marts_lake, "ops.deduplicated").where(F.col("silver_table") == "settlement_detail")
    quar = _read(marts_lake, "quarantine.records").where(F.col("silver_table") == "settlement_detail")
    landed = silver.unionByName(dedup.select(*keys)).unionByName(quar.select(*keys))
    assert src.count() > 0
    assert landed.count() == src.count() == landed.distinct().count()
    assert {r.dedup_reason for r in dedup.select("dedup_reason").distinct().collect()} <= {"EXACT_RESEND"}


def test_details_add_up_to_their_settlement(marts_lake: Any) -> None:
    """The generator bills medfee_sumamt = sum of its details: re-sends are not counted twice, none lost."""
    det = _read(marts_lake, "silver.settlement_detail").groupBy("setl_id").agg(F.sum("amount").alias("items"))
    setl = _read(marts_lake, "silver.medical_settlement").select("setl_id", "total")
    joined = setl.join(det, "setl_id", "left").collect()
    assert joined
    off = [r for r in joined if r["items"] is None or abs(r["items"] - r["total"]) > Decimal("0.02")]
    assert not off, off[:5]


def test_refunded_settlements_void_their_details(marts_lake: Any) -> None:
    """SOURCES.md: a refund voids the settlement and its details — kept, flagged void (truth: quirks.csv)."""
    refunded_truth = {q["key"] for q in _truth(marts_lake.city, "quirks.csv") if q["quirk"] == "refund"}
    det = _read(marts_lake, "silver.settlement_detail")
    void = {r.setl_id for r in det.where("void").select("setl_id").distinct().collect()}
    refunded = {r.setl_id for r in _read(marts_lake, "silver.medical_settlement").where("refunded").collect()}
    assert void, "the city has refunds: some details must be void"
    assert void <= refunded_truth
    assert void == refunded & {r.setl_id for r in det.select("setl_id").distinct().collect()}
    labels = set(load_conf("codes.yaml")["list_type"]["labels"])
    assert {r.list_type for r in det.select("list_type").distinct().collect()} <= labels


# --- reconciliation of the marts with silver --------------------------------------------------


def _monthly_fund_pay(marts_lake: Any) -> dict[dt.date, Decimal]:
    s = _read(marts_lake, "silver.medical_settlement").where(~F.col("refunded"))
    rows = s.groupBy(F.trunc("visit_start", "month").alias("m")).agg(F.sum("fund_pay").alias("v")).collect()
    return {r.m: r.v for r in rows}


def test_medical_fund_pay_per_month_reconciles_with_silver(marts_lake: Any) -> None:
    """gold.fund_monthly (schemes 310/390) and gold.disease_monthly both equal silver hifp_pay of non-void settlements."""
    expected = _monthly_fund_pay(marts_lake)
    fund = (_read(marts_lake, "gold.fund_monthly").where(F.col("scheme").isin("310", "390"))
            .groupBy("month").agg(F.sum("expenditure_yuan").alias("v")).collect())
    disease = _read(marts_lake, "gold.disease_monthly").groupBy("month").agg(
        F.sum("fund_pay_yuan").alias("v"), F.sum("cases").alias("n")).collect()
    assert expected
    assert {r.month: r.v for r in fund} == expected
    assert {r.month: r.v for r in disease} == expected
    cases = _read(marts_lake, "silver.medical_settlement").where(~F.col("refunded")).count()
    assert sum(r.n for r in disease) == cases


def test_disease_chapters_follow_conf(marts_lake: Any) -> None:
    """Generated diagnoses (I10 高血压, J18 肺炎, C34 肺恶性肿瘤, S72 骨折 …) land in their ICD-10 chapters."""
    rows = _read(marts_lake, "gold.disease_monthly").select("chapter", "chapter_name").distinct().collect()
    chapters = {r.chapter: r.chapter_name for r in rows}
    assert chapters.get("IX") == "循环系统疾病" and chapters.get("X") == "呼吸系统疾病"
    assert "UNK" not in chapters  # every generated code has a chapter
    d = _read(marts_lake, "gold.disease_monthly").where(F.col("fund_share").isNotNull()).collect()
    assert all(0 <= r.fund_share <= 1 for r in d)


def test_drug_totals_reconcile_with_non_void_details(marts_lake: Any) -> None:
    det = _read(marts_lake, "silver.settlement_detail").where(~F.col("void"))
    expected = {(r.list_type, r.codg): (r.cost, r.vol) for r in det.groupBy(
        "list_type", F.col("med_list_codg").alias("codg")).agg(F.sum("amount").alias("cost"),
                                                              F.sum("cnt").alias("vol")).collect()}
    mart = _read(marts_lake, "gold.drug_ranking")
    actual = {(r.list_type, r.codg): (r.cost, r.vol) for r in mart.groupBy(
        "list_type", F.col("med_list_codg").alias("codg")).agg(F.sum("cost_yuan").alias("cost"),
                                                              F.sum("volume").alias("vol")).collect()}
    assert expected and actual == expected
    # rank 1 is the item with the highest cost of its month and list type
    top = mart.where("cost_rank = 1").collect()
    best = {(r.month, r.list_type): r.c for r in mart.groupBy("month", "list_type").agg(
        F.max("cost_yuan").alias("c")).collect()}
    assert all(r.cost_yuan == best[(r.month, r.list_type)] for r in top)
    assert {r.list_type_name for r in mart.select("list_type_name").distinct().collect()} <= {"西药", "中成药", "医疗服务"}


# --- coverage and age structure against the truth ---------------------------------------------


def _invalid_in(city: Any, file: str) -> set[str]:
    """True numbers of persons whose record in `file` carries an invalid ID (quarantined, by contract)."""
    return {r["true_certno"] for r in _truth(city, "invalid_ids.csv") if r["file"] == file}


def test_coverage_counts_against_true_population(marts_lake: Any) -> None:
    """Per 户籍 region × age band (true birth dates): the denominator holds every living, uncancelled
    户籍 person of the truth and nobody outside 户籍 or cancelled before the latest snapshot (the dead
    whose death no source reported stay in it); the insured are among those the truth insures, and
    include every living pensioner (a pensioner is insured by definition)."""
    run_date = marts_lake.dates[-1]
    # registries come at least weekly: the latest 户籍 snapshot is at most a week old
    snapshot_floor = (run_date - dt.timedelta(days=8)).isoformat()
    today = run_date.isoformat()
    cov = _read(marts_lake, "gold.coverage").collect()
    got = {(r.region, r.age_band): r for r in cov}
    bad_ac01 = _invalid_in(marts_lake.city, "ac01_person.csv")
    alive, upper, insurable, pensioners = Counter(), Counter(), Counter(), Counter()
    for p in _truth(marts_lake.city, "persons.csv"):
        if not p["hukou_region"]:
            continue
        cell = (p["hukou_region"], _band(dt.date.fromisoformat(p["birth_date"]), run_date))
        living = not (p["death_date"] and p["death_date"] <= today) and not (p["cancelled_on"] and p["cancelled_on"] <= today)
        if living and p["birth_date"] < snapshot_floor:
            alive[cell] += 1
            if p["retired"] == "1" and p["retirement_date"] < snapshot_floor and p["certno"] not in bad_ac01:
                pensioners[cell] += 1
        if not (p["cancelled_on"] and p["cancelled_on"] < snapshot_floor):
            upper[cell] += 1
            insurable[cell] += bool(p["pension_scheme"] or p["insutype"])
    assert sum(alive.values()) > 0 and sum(pensioners.values()) > 0 and cov
    for cell in set(alive) | set(got):
        r = got.get(cell)
        n, insured = (r.hukou_population, r.insured) if r else (0, 0)
        assert alive[cell] <= n <= upper[cell], (cell, alive[cell], n, upper[cell])
        assert pensioners[cell] <= insured <= insurable[cell], (cell, pensioners[cell], insured, insurable[cell])
        if r:
            assert max(r.pension_insured, r.medical_insured) <= r.insured <= r.pension_insured + r.medical_insured
            assert r.coverage_rate == round(r.insured / r.hukou_population, 4)


def test_age_structure_against_true_pensioners(marts_lake: Any) -> None:
    """Pensioners per region: every living retiree of the truth (valid ID), at most every retiree."""
    run_date = marts_lake.dates[-1]
    floor, today = (run_date - dt.timedelta(days=8)).isoformat(), run_date.isoformat()
    got = Counter()
    for r in _read(marts_lake, "gold.age_structure").collect():
        got[r.region] += r.pensioners
        assert r.dependency_ratio is None or r.dependency_ratio == round(r.contributors / r.pensioners, 3)
    bad_ac01 = _invalid_in(marts_lake.city, "ac01_person.csv")
    alive, upper = Counter(), Counter()
    for p in _truth(marts_lake.city, "persons.csv"):
        if p["retired"] != "1" or not p["aac001"]:
            continue
        upper[p["region"]] += 1
        if (not (p["death_date"] and p["death_date"] <= today) and p["retirement_date"] < floor
                and p["certno"] not in bad_ac01):
            alive[p["region"]] += 1
    assert sum(got.values()) > 0
    for region in set(got) | set(alive):
        assert alive[region] <= got[region] <= upper[region], (region, alive[region], got[region], upper[region])


def test_marts_are_documented_and_have_views(marts_lake: Any) -> None:
    """Each mart has conf/tables/gold.<t>.yaml with its grain and every column, and an analyst view reads it."""
    views = " ".join(p.read_text(encoding="utf-8") for p in (REPO_ROOT / "sql" / "views").glob("*.sql"))
    for name in (*MARTS, "fund_monthly"):
        doc = load_conf(f"tables/gold.{name}.yaml")
        assert doc["table"] == f"gold.{name}" and doc["grain"].startswith("one row per")
        assert set(doc["columns"]) == set(_read(marts_lake, f"gold.{name}").columns)
        if name in MARTS:
            assert f"lakehouse.gold.{name}" in views
    doc = load_conf("tables/silver.settlement_detail.yaml")
    assert set(doc["columns"]) == set(_read(marts_lake, "silver.settlement_detail").columns)
    assert doc["home_of"] == ["medical__setl_detail"]

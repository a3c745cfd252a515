"""silver.audit_case from medical audit_cases (SOURCES.md §2): person through psn_no → psn_insu,
standard case types, exact re-sends de-duplicated, bad records quarantined with their reasons."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import functions as F

from jobs.silver_audit import AUDIT_RAW, audit_cases, standardise_audit_cases
from lakehouse.standardise import split_quarantine

LINEAGE = "_source string, _extract_date date, _file string, _row long, _raw string, _malformed string"
D1, D2 = dt.date(2026, 10, 1), dt.date(2026, 10, 2)


def _bronze(spark, rows):  # type: ignore[no-untyped-def]
    schema = ", ".join(f"{c} string" for c in AUDIT_RAW) + ", " + LINEAGE
    return spark.createDataFrame(rows, schema)


def test_audit_cases_link_map_dedupe_and_quarantine(spark) -> None:  # type: ignore[no-untyped-def]
    keys = spark.createDataFrame([("P1", "aaaaaaaaaaaaaaaa"), ("P2", "bbbbbbbbbbbbbbbb")], "_psn_no string, _psn_person string")
    f = "audit_cases.jsonl.gz"
    rows = [
        ("AJ1", "S1", "P1", "CHUANHUAN", "2026-03-01", "2000.50", "medical", D1, f, 1, None, None),
        ("AJ1", "S2", " P1 ", "CHUANHUAN", "2026-03-01", "1500.00", "medical", D1, f, 2, None, None),
        ("AJ1", "S1", "P1", "CHUANHUAN", "2026-03-01", "2000.50", "medical", D2, f, 1, None, None),  # exact re-send
        ("AJ2", None, "P2", "GUACHUANG", "2026-04-02", "3858.24", "medical", D1, f, 3, None, None),  # no settlement named
        ("AJ3", "S3", "P9", "DAOSHUA", "2026-04-02", "100", "medical", D1, f, 4, None, None),  # psn_no unknown
        ("AJ4", "S4", "P1", "QITA", "2026-04-02", "100", "medical", D1, f, 5, None, None),  # unknown case type
        ("AJ5", "S5", "P1", "XUGOU", "2026-13-40", "abc", "medical", D1, f, 6, None, None),  # bad date and amount
        (None, None, None, None, None, None, "medical", D1, f, 7, "{broken", "JSON_PARSE"),
    ]
    std = standardise_audit_cases(_bronze(spark, rows), keys)
    good, bad = split_quarantine(std, "audit_case", AUDIT_RAW)
    kept, dedup = audit_cases(good)

    got = {(r.case_id, r.setl_id): r for r in kept.collect()}
    assert set(got) == {("AJ1", "S1"), ("AJ1", "S2"), ("AJ2", None)}
    assert got[("AJ1", "S2")].person_ref == "aaaaaaaaaaaaaaaa"
    assert got[("AJ2", None)].case_type == "GUACHUANG" and got[("AJ2", None)].person_ref == "bbbbbbbbbbbbbbbb"
    assert got[("AJ1", "S1")].confirmed_date == dt.date(2026, 3, 1) and float(got[("AJ1", "S1")].amount) == 2000.50
    assert got[("AJ1", "S1")]._extract_date == D1  # the first delivery is the record; the re-send is counted
    assert [(r._extract_date, r.dedup_reason) for r in dedup.collect()] == [(D2, "EXACT_RESEND")]

    reasons = {r._row: set(r.reasons) for r in bad.collect()}
    assert reasons[4] == {"UNKNOWN_PERSON:PSN_NO_UNRESOLVED"}
    assert reasons[5] == {"UNMAPPED_CODE:audit_case_type=QITA"}
    assert reasons[6] == {"BAD_DATE:confirmed_date", "BAD_AMOUNT"}
    assert reasons[7] == {"MALFORMED:JSON_PARSE"}
    # every delivered record is accounted for exactly once
    assert kept.count() + dedup.count() + bad.count() == len(rows)
    assert bad.where(F.col("raw_record").isNull()).count() == 0

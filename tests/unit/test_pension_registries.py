"""Pension registries in silver: employer versions over snapshots, one enrolment per scheme
(SOURCES.md: old codes 11/12/17/JG and new codes 110/120/170 of one scheme are one scheme)."""

from __future__ import annotations

import datetime as dt

from jobs.silver_pension_registry import employer_versions, one_enrolment_per_scheme, standardise_employers

D1, D2, D3 = dt.date(2026, 11, 1), dt.date(2026, 11, 8), dt.date(2026, 11, 15)
VALID_USCC = "91110000600037341L"


def _enrolments(spark, rows):  # type: ignore[no-untyped-def]
    cols = "person_ref scheme employer_id status start_date end_date source_scheme_code _source _extract_date _file _row"
    return spark.createDataFrame(
        [(*r[:4], dt.date.fromisoformat(r[4]), dt.date.fromisoformat(r[5]) if r[5] else None, r[6],
          "pension", D3, "ac20_enrollment.csv", i) for i, r in enumerate(rows)],
        "person_ref string, scheme string, employer_id string, status string, start_date date, end_date date, "
        "source_scheme_code string, _source string, _extract_date date, _file string, _row long",
    ).select(*cols.split())


def test_old_and_new_code_of_one_scheme_are_one_enrolment(spark) -> None:  # type: ignore[no-untyped-def]
    rows = [
        ("a", "110", "E1", "ACTIVE", "2010-03-01", "", "11"),     # old system record
        ("a", "110", "E1", "ACTIVE", "2015-01-01", "", "110"),    # its new-code twin from the migration
        ("a", "170", None, "ACTIVE", "2011-07-01", "", "170"),    # a second scheme stays separate
        ("b", "120", "E2", "TERMINATED", "2001-05-01", "2009-12-31", "JG"),
        ("b", "120", "E5", "ACTIVE", "2012-03-01", "", "120"),  # a later enrolment, not overlapping
        ("c", "110", "E3", "TERMINATED", "2000-01-01", "2004-12-31", "110"),  # two separate periods
        ("c", "110", "E4", "ACTIVE", "2008-01-01", "", "110"),
    ]
    kept, dedup = one_enrolment_per_scheme(_enrolments(spark, rows))
    got = sorted((r.person_ref, r.scheme, r.start_date.isoformat(), r.end_date, r.source_scheme_code)
                 for r in kept.collect())
    assert got == [
        ("a", "110", "2010-03-01", None, "110"),
        ("a", "170", "2011-07-01", None, "170"),
        ("b", "120", "2001-05-01", dt.date(2009, 12, 31), "JG"),
        ("b", "120", "2012-03-01", None, "120"),
        ("c", "110", "2000-01-01", dt.date(2004, 12, 31), "110"),
        ("c", "110", "2008-01-01", None, "110"),
    ]
    assert [(r._row, r.dedup_reason) for r in dedup.collect()] == [(0, "SAME_SCHEME")]


def _ab01(spark, rows):  # type: ignore[no-untyped-def]
    return spark.createDataFrame(
        [(*r[1:], None, None, "pension", r[0], "ab01_employer.csv", i) for i, r in enumerate(rows)],
        "AAB001 string, AAB004 string, AAB019 string, AAB301 string, AAB998 string, _malformed string, "
        "_raw string, _source string, _extract_date date, _file string, _row long",
    )


def test_employer_versions_over_snapshots(spark) -> None:  # type: ignore[no-untyped-def]
    rows = [
        (D1, "E1", "甲公司", "10", "330102", VALID_USCC), (D2, "E1", "甲公司", "10", "330102", VALID_USCC),
        (D3, "E1", "甲公司", "10", "330102", VALID_USCC),
        (D1, "E2", "乙局", "30", "330105", None), (D2, "E2", "乙局", "30", "330105", None),
        (D3, "E2", "乙局", "30", "330109", None),  # moved: a new version from D3
        (D1, "E3", "丙厂", "10", "330110", None), (D2, "E3", "丙厂", "10", "330110", None),  # gone at D3
        (D3, "E4", "丁所", "99", "330110", None),  # unmapped employer type
        (D3, "E5", "戊司", "10", "33010", None),  # malformed region
        (D3, "E6", "己司", "50", "330106", VALID_USCC[:-1] + "M"),  # wrong check character
    ]
    raw = _ab01(spark, rows)
    std = standardise_employers(raw)
    bad = {r.employer_id: r._reasons for r in std.where("size(_reasons) > 0").collect()}
    assert bad == {"E4": ["UNMAPPED_CODE:employer_type=99"], "E5": ["BAD_CODE:AAB301"], "E6": ["BAD_CODE:AAB998"]}
    kept, dedup = employer_versions(std.where("size(_reasons) = 0").drop("_reasons"), raw)
    got = sorted((r.employer_id, r.region, r.valid_from, r.valid_to, r._extract_date) for r in kept.collect())
    assert got == [
        ("E1", "330102", D1, None, D3),
        ("E2", "330105", D1, D3, D2),
        ("E2", "330109", D3, None, D3),
        ("E3", "330110", D1, D3, D2),
    ]
    assert sorted(r.dedup_reason for r in dedup.collect()) == ["SUPERSEDED_SNAPSHOT"] * 4

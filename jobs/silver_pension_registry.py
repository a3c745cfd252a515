"""Silver pension registries: employers (ab01) and enrolments (ac20).

`silver.employer` — one row per employer_id × version: every snapshot delivered by the run date,
a version being a run of consecutive snapshots with the same attributes. valid_from is the first
snapshot date of the version, valid_to the date of the first snapshot that no longer carries it
(null = current). The kept row is the version's latest record; its older repeats are documented
de-duplications (SUPERSEDED_SNAPSHOT).

`silver.enrolment` — one row per person_ref × standard scheme × start date, from the latest ac20
snapshot (older snapshots: SUPERSEDED_SNAPSHOT). An old-code record (`11`, `12`, `17`, `JG`) and a
new-code record (`110`, `120`, `170`) of one scheme whose periods overlap are one enrolment
(SAME_SCHEME): the new-code record is kept, with the earliest start of the two.
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.silver_pension import aac001_reasons, link_aac001
from lakehouse import bronze, uscc
from lakehouse.standardise import (
    bad_date,
    clean,
    malformed_reason,
    map_code,
    parse_date,
    reason_when,
    unmapped,
    with_reasons,
)

LINEAGE = ["_source", "_extract_date", "_file", "_row"]
OPEN_END = "9999-12-31"

AB01_RAW = ["AAB001", "AAB004", "AAB019", "AAB301", "AAB998"]
EMPLOYER_ATTRIBUTES = ["employer_name", "employer_type", "region", "credit_code"]
EMPLOYER_COLUMNS = ["employer_id", *EMPLOYER_ATTRIBUTES, "valid_from", "valid_to", *LINEAGE]


@F.pandas_udf(T.BooleanType())
def _uscc_valid(codes: pd.Series) -> pd.Series:
    return pd.Series([uscc.is_valid(c) if isinstance(c, str) else False for c in codes])


def standardise_employers(ab01: DataFrame) -> DataFrame:
    """Typed, code-standardised employer rows of every snapshot; `_reasons` for quarantine."""
    credit = F.upper(clean(F.col("AAB998")))
    df = (
        ab01.withColumn("employer_id", clean(F.col("AAB001")))
        .withColumn("employer_name", clean(F.col("AAB004")))
        .withColumn("employer_type", map_code(F.col("AAB019"), "employer_type", "pension"))
        .withColumn("region", clean(F.col("AAB301")))
        .withColumn("credit_code", credit)
    )
    return with_reasons(
        df,
        malformed_reason(),
        reason_when(F.col("employer_id").isNull(), "MISSING:AAB001"),
        unmapped(F.col("AAB019"), F.col("employer_type"), "employer_type"),
        reason_when(F.col("employer_type").isNull() & clean(F.col("AAB019")).isNull(), "MISSING:AAB019"),
        reason_when(~F.coalesce(F.col("region").rlike(r"^[1-8]\d{5}$"), F.lit(False)), "BAD_CODE:AAB301"),
        reason_when(credit.isNotNull() & ~_uscc_valid(credit), "BAD_CODE:AAB998"),
    )


def employer_versions(employers: DataFrame, snapshot_dates: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(one row per employer × version with valid_from/valid_to, de-duplicated rows).

    `snapshot_dates` (`_extract_date`) lists every ab01 snapshot delivered, quarantined rows included.
    """
    # a second row of one employer in the same snapshot is a duplicate of that snapshot
    in_snapshot = Window.partitionBy("employer_id", "_extract_date").orderBy("_file", "_row")
    ranked = employers.withColumn("_k", F.row_number().over(in_snapshot))
    doubles = ranked.where("_k > 1").select(*LINEAGE, F.lit("DUPLICATE_IN_SNAPSHOT").alias("dedup_reason"))
    rows = ranked.where("_k = 1").drop("_k")

    snapshots = snapshot_dates.select("_extract_date").distinct()
    order = Window.orderBy("_extract_date")
    snapshots = snapshots.select("_extract_date", F.lag("_extract_date").over(order).alias("_prev_snapshot"),
                                 F.lead("_extract_date").over(order).alias("_next_snapshot"))
    by_employer = Window.partitionBy("employer_id").orderBy("_extract_date")
    attrs = F.to_json(F.struct(*EMPLOYER_ATTRIBUTES))
    # a version starts where the attributes change or the employer was absent from the previous snapshot
    starts = (
        rows.join(F.broadcast(snapshots), "_extract_date")
        .withColumn("_attrs", attrs)
        .withColumn("_new", (F.lag("_attrs").over(by_employer).isNull()
                             | ~F.lag("_attrs").over(by_employer).eqNullSafe(F.col("_attrs"))
                             | ~F.lag("_extract_date").over(by_employer).eqNullSafe(F.col("_prev_snapshot")))
                    .cast("int"))
        .withColumn("_version", F.sum("_new").over(by_employer.rowsBetween(Window.unboundedPreceding, 0)))
    )
    version = Window.partitionBy("employer_id", "_version")
    latest_first = version.orderBy(F.col("_extract_date").desc())
    ranked = (
        starts.withColumn("valid_from", F.min("_extract_date").over(version))
        .withColumn("_n", F.row_number().over(latest_first))
    )
    kept = ranked.where("_n = 1").withColumn("valid_to", F.col("_next_snapshot"))
    superseded = ranked.where("_n > 1").select(*LINEAGE, F.lit("SUPERSEDED_SNAPSHOT").alias("dedup_reason"))
    return kept.select(*EMPLOYER_COLUMNS), superseded.unionByName(doubles)


AC20_RAW = ["AAC001", "AAB001", "AAE140", "AAC031", "AAE030", "AAE031"]
ENROLMENT_COLUMNS = ["person_ref", "scheme", "employer_id", "status", "start_date", "end_date",
                     "source_scheme_code", *LINEAGE]


def latest_and_superseded(registry: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(rows of the latest snapshot, de-duplication rows for every older snapshot's records)."""
    latest = bronze.latest_snapshot(registry)
    older = registry.join(latest.select("_extract_date").distinct(), "_extract_date", "left_anti")
    return latest, older.select(*LINEAGE, F.lit("SUPERSEDED_SNAPSHOT").alias("dedup_reason"))


def standardise_enrolments(ac20: DataFrame, pension_keys: DataFrame) -> DataFrame:
    """Typed, code-standardised enrolments linked to person_ref through AAC001; `_reasons` for quarantine."""
    df = link_aac001(ac20, pension_keys)
    start, end = parse_date(F.col("AAE030"), ("yyyyMMdd",)), parse_date(F.col("AAE031"), ("yyyyMMdd",))
    df = (
        df.withColumn("scheme", map_code(F.col("AAE140"), "scheme", "pension"))
        .withColumn("employer_id", clean(F.col("AAB001")))
        .withColumn("status", map_code(F.col("AAC031"), "enrolment_status", "pension"))
        .withColumn("start_date", start)
        .withColumn("end_date", end)
        .withColumn("source_scheme_code", clean(F.col("AAE140")))
    )
    return with_reasons(
        df,
        *aac001_reasons(),
        unmapped(F.col("AAE140"), F.col("scheme"), "scheme"),
        reason_when(clean(F.col("AAE140")).isNull(), "MISSING:AAE140"),
        unmapped(F.col("AAC031"), F.col("status"), "enrolment_status"),
        reason_when(clean(F.col("AAC031")).isNull(), "MISSING:AAC031"),
        bad_date(F.col("AAE030"), start, "AAE030", required=True),
        bad_date(F.col("AAE031"), end, "AAE031"),
        reason_when(end < start, "END_BEFORE_START:AAE031"),
    )


def one_enrolment_per_scheme(records: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(one row per person × scheme × overlapping period, de-duplicated rows).

    Records of one person and standard scheme whose periods overlap (the old-system record and
    its new-code twin from the migration) are one enrolment: the new-code record is kept, starting
    at the earliest start and open if any of them is open.
    """
    person_scheme = Window.partitionBy("person_ref", "scheme")
    by_start = person_scheme.orderBy("start_date", F.length("source_scheme_code"), "_file", "_row")
    end = F.coalesce(F.col("end_date"), F.lit(OPEN_END).cast("date"))
    reach = F.max(end).over(by_start.rowsBetween(Window.unboundedPreceding, -1))
    islands = (
        records.withColumn("_new", F.when(reach.isNull() | (F.col("start_date") > reach), 1).otherwise(0))
        .withColumn("_island", F.sum("_new").over(by_start.rowsBetween(Window.unboundedPreceding, 0)))
    )
    island = Window.partitionBy("person_ref", "scheme", "_island")
    new_code_first = island.orderBy(F.length("source_scheme_code").desc(), F.col("start_date").desc(), "_file", "_row")
    merged = (
        islands.withColumn("_start", F.min("start_date").over(island))
        .withColumn("_open", F.max(F.col("end_date").isNull().cast("int")).over(island))
        .withColumn("_end", F.max("end_date").over(island))
        .withColumn("_n", F.row_number().over(new_code_first))
        .withColumn("_kept_code", F.first("source_scheme_code").over(new_code_first))
    )
    kept = (
        merged.where("_n = 1")
        .withColumn("start_date", F.col("_start"))
        .withColumn("end_date", F.when(F.col("_open") == 1, F.lit(None).cast("date")).otherwise(F.col("_end")))
    )
    dedup = merged.where("_n > 1").select(
        *LINEAGE,
        F.when(F.col("source_scheme_code") != F.col("_kept_code"), "SAME_SCHEME")
        .otherwise("OVERLAPPING_RECORD").alias("dedup_reason"),
    )
    return kept.select(*ENROLMENT_COLUMNS), dedup

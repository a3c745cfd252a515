"""Silver audit cases: confirmed medical fraud from past audits (the M02 model's labels).

- `silver.audit_case` — one row per (case_id, setl_id): a case names the settlements it
  confirmed, or none (setl_id null) when it concerns a stay as a whole; person through
  psn_no → psn_insu (`silver_activity.medical_keys`), case_type in the standard vocabulary.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lakehouse import bronze
from lakehouse.standardise import (
    bad_date,
    clean,
    malformed_reason,
    map_code,
    parse_date,
    parse_decimal,
    reason_when,
    unmapped,
    with_reasons,
)

AUDIT_RAW = ["case_id", "setl_id", "psn_no", "case_type", "confirmed_date", "amount"]
AUDIT_CASE_COLUMNS = ["case_id", "setl_id", "person_ref", "case_type", "confirmed_date", "amount",
                      "_source", "_extract_date", "_file", "_row"]


def standardise_audit_cases(cases: DataFrame, keys: DataFrame) -> DataFrame:
    """Typed audit-case records linked to person_ref by psn_no; `_reasons` for quarantine."""
    df = cases.withColumn("_psn_no", clean(F.col("psn_no"))).join(keys, "_psn_no", "left")
    confirmed = parse_date(F.col("confirmed_date"))
    df = (
        df.withColumn("case_id_c", clean(F.col("case_id")))
        .withColumn("setl_id_c", clean(F.col("setl_id")))
        .withColumn("person_ref", F.col("_psn_person"))
        .withColumn("case_type_c", map_code(F.col("case_type"), "audit_case_type", "medical"))
        .withColumn("confirmed_on", confirmed)
        .withColumn("amount_c", parse_decimal(F.col("amount")))
    )
    return with_reasons(
        df,
        malformed_reason(),
        reason_when(F.col("case_id_c").isNull(), "MISSING:case_id"),
        reason_when(F.col("_psn_no").isNull(), "MISSING:psn_no"),
        reason_when(F.col("_psn_no").isNotNull() & F.col("person_ref").isNull(), "UNKNOWN_PERSON:PSN_NO_UNRESOLVED"),
        reason_when(clean(F.col("case_type")).isNull(), "MISSING:case_type"),
        unmapped(F.col("case_type"), F.col("case_type_c"), "audit_case_type"),
        bad_date(F.col("confirmed_date"), confirmed, "confirmed_date", required=True),
        reason_when(F.col("amount_c").isNull(), "BAD_AMOUNT"),
        reason_when(F.col("amount_c") < 0, "NEGATIVE_AMOUNT"),
    )


def audit_cases(records: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(one row per case_id × setl_id, de-duplicated rows).

    Exact re-sends are one record; a different record for the same case and settlement is a
    correction by the audit office, so the latest delivery wins.
    """
    exact = bronze.dedupe_exact(records, AUDIT_RAW)
    lineage = ["_source", "_extract_date", "_file", "_row"]
    resent = records.join(exact.select(*lineage), lineage, "left_anti")
    w = Window.partitionBy("case_id_c", "setl_id_c").orderBy(
        F.col("_extract_date").desc(), F.col("_file").desc(), F.col("_row").desc())
    ranked = exact.withColumn("_n", F.row_number().over(w))
    out = ranked.where("_n = 1").select(
        F.col("case_id_c").alias("case_id"), F.col("setl_id_c").alias("setl_id"), "person_ref",
        F.col("case_type_c").alias("case_type"), F.col("confirmed_on").alias("confirmed_date"),
        F.col("amount_c").alias("amount"), *lineage,
    )
    dedup = resent.select(*lineage, F.lit("EXACT_RESEND").alias("dedup_reason")).unionByName(
        ranked.where("_n > 1").select(*lineage, F.lit("SUPERSEDED_CORRECTION").alias("dedup_reason")))
    return out, dedup

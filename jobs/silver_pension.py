"""Silver pension events: payments (ic80).

`silver.pension_payment` — one row per person_ref × standardised scheme × pay month.
Exact re-sends collapse to one record; the old/new code double record of one month
(`11` and `110`) is one payment of one scheme (the new code's record is kept). Both are
counted as documented de-duplications.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakehouse import bronze
from lakehouse.standardise import (
    bad_date,
    clean,
    malformed_reason,
    map_code,
    parse_date,
    parse_decimal,
    parse_month,
    reason_when,
    unmapped,
    with_reasons,
)

PAYMENT_RAW = ["AAC001", "AAE140", "AAE002", "AAE019", "AAE010", "AAE008", "AAE036", "AAE117"]
PAYMENT_COLUMNS = [
    "person_ref", "scheme", "pay_month", "amount", "status", "paid_on", "bank_account", "source_scheme_code",
    "_source", "_extract_date", "_file", "_row",
]


def link_aac001(df: DataFrame, pension_keys: DataFrame) -> DataFrame:
    """Add person_ref through the pension 个人编号 (AAC001) of silver.pension_person."""
    keys = pension_keys.select(F.col("aac001").alias("_aac001"), F.col("person_ref"))
    return df.withColumn("_aac001", clean(F.col("AAC001"))).join(keys, "_aac001", "left")


def aac001_reasons() -> list[Column]:
    """Quarantine reasons of a pension event: malformed, no AAC001, or an AAC001 of no known person."""
    return [
        malformed_reason(),
        reason_when(F.col("_aac001").isNotNull() & F.col("person_ref").isNull(), "UNKNOWN_PERSON:AAC001"),
        reason_when(F.col("_aac001").isNull(), "MISSING:AAC001"),
    ]


def standardise_payments(ic80: DataFrame, pension_keys: DataFrame) -> DataFrame:
    """Typed, code-standardised payments linked to person_ref through AAC001; `_reasons` for quarantine."""
    df = link_aac001(ic80, pension_keys)
    month, paid_on, amount = parse_month(F.col("AAE002")), parse_date(F.col("AAE036"), ("yyyyMMdd",)), parse_decimal(F.col("AAE019"))
    df = (
        df.withColumn("scheme", map_code(F.col("AAE140"), "scheme", "pension"))
        .withColumn("status", map_code(F.col("AAE117"), "payment_status", "pension"))
        .withColumn("pay_month", month)
        .withColumn("paid_on", paid_on)
        .withColumn("amount", amount)
        .withColumn("bank_account", clean(F.col("AAE010")))
        .withColumn("source_scheme_code", clean(F.col("AAE140")))
    )
    return with_reasons(
        df,
        *aac001_reasons(),
        unmapped(F.col("AAE140"), F.col("scheme"), "scheme"),
        unmapped(F.col("AAE117"), F.col("status"), "payment_status"),
        reason_when(month.isNull(), "BAD_MONTH:AAE002"),
        bad_date(F.col("AAE036"), paid_on, "AAE036"),
        reason_when(amount.isNull(), "BAD_AMOUNT:AAE019"),
        reason_when(amount < 0, "NEGATIVE_AMOUNT:AAE019"),
    )


def one_payment_per_scheme_month(payments: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(payments, de-duplicated rows): exact re-sends and old/new code doubles collapse to one row."""
    exact = bronze.dedupe_exact(payments, PAYMENT_RAW)
    resent = payments.join(exact.select("_source", "_extract_date", "_file", "_row"),
                           ["_source", "_extract_date", "_file", "_row"], "left_anti")
    new_code_first = F.when(F.length("source_scheme_code") == 3, 0).otherwise(1)
    w = Window.partitionBy("person_ref", "scheme", "pay_month").orderBy(
        (F.col("status") != "PAID").cast("int"), new_code_first, F.col("_extract_date").desc(), "_file", "_row"
    )
    ranked = exact.withColumn("_n", F.row_number().over(w))
    kept = ranked.where("_n = 1").drop("_n")
    doubles = ranked.where("_n > 1").drop("_n")
    dedup = (
        resent.select("_source", "_extract_date", "_file", "_row", F.lit("EXACT_RESEND").alias("dedup_reason"))
        .unionByName(doubles.select("_source", "_extract_date", "_file", "_row",
                                    F.lit("SAME_SCHEME_MONTH").alias("dedup_reason")))
    )
    return kept.select(*PAYMENT_COLUMNS), dedup


CONTRIBUTION_RAW = ["AAC001", "AAB001", "AAE140", "AAE002", "AAE180", "AAE020", "AAE022", "AAE036"]
CONTRIBUTION_COLUMNS = [
    "person_ref", "employer_id", "scheme", "contribution_month", "base", "employer_amount", "personal_amount",
    "received_on", "source_scheme_code", "_source", "_extract_date", "_file", "_row",
]


def standardise_contributions(ac43: DataFrame, pension_keys: DataFrame) -> DataFrame:
    """Typed contributions linked to person_ref through AAC001; `_reasons` for quarantine."""
    df = link_aac001(ac43, pension_keys)
    month, received = parse_month(F.col("AAE002")), parse_date(F.col("AAE036"), ("yyyyMMdd",))
    base, employer, personal = (parse_decimal(F.col(c)) for c in ("AAE180", "AAE020", "AAE022"))
    df = (
        df.withColumn("scheme", map_code(F.col("AAE140"), "scheme", "pension"))
        .withColumn("employer_id", clean(F.col("AAB001")))
        .withColumn("contribution_month", month).withColumn("received_on", received)
        .withColumn("base", base).withColumn("employer_amount", F.coalesce(employer, F.lit(0).cast("decimal(18,2)")))
        .withColumn("personal_amount", F.coalesce(personal, F.lit(0).cast("decimal(18,2)")))
        .withColumn("source_scheme_code", clean(F.col("AAE140")))
    )
    return with_reasons(
        df,
        *aac001_reasons(),
        unmapped(F.col("AAE140"), F.col("scheme"), "scheme"),
        reason_when(month.isNull(), "BAD_MONTH:AAE002"),
        bad_date(F.col("AAE036"), received, "AAE036"),
        reason_when(base.isNull(), "BAD_AMOUNT:AAE180"),
        reason_when((base < 0) | (employer < 0) | (personal < 0), "NEGATIVE_AMOUNT"),
    )


def contributions(records: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(one row per person × employer × scheme × month, de-duplicated rows)."""
    w = Window.partitionBy("person_ref", "employer_id", "scheme", "contribution_month").orderBy(
        F.length("source_scheme_code").desc(), F.col("_extract_date").desc(), "_file", "_row")
    ranked = records.withColumn("_n", F.row_number().over(w))
    dedup = ranked.where("_n > 1").select("_source", "_extract_date", "_file", "_row",
                                          F.lit("SAME_SCHEME_MONTH").alias("dedup_reason"))
    return ranked.where("_n = 1").select(*CONTRIBUTION_COLUMNS), dedup

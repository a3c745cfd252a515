"""Silver death and emigration events from 户籍 注销 (hkzx) and 火化 (huohua).

`silver.death_event` — one row per person_ref: earliest credible death date, every
source that reported it, and the first extract date on which a death record was known.
`silver.emigration_event` — one row per person_ref: 户籍 cancelled for 出国(境)定居.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.standardise import (
    bad_date,
    malformed_reason,
    map_code,
    parse_date,
    reason_when,
    unmapped,
    with_person,
    with_reasons,
)

HKZX_RAW = ["GMSFHM", "XM", "ZXRQ", "ZXYYDM", "SWRQ"]
HUOHUA_RAW = ["姓名", "身份证号", "性别", "死亡日期", "火化日期", "殡仪馆"]



def standardise_hkzx(hkzx: DataFrame, key: bytes) -> DataFrame:
    """户籍 cancellations typed; a death (01) needs a credible 死亡日期 not after its 注销日期."""
    df = with_person(hkzx, "GMSFHM", key)
    cancelled, died = parse_date(F.col("ZXRQ")), parse_date(F.col("SWRQ"))
    df = (
        df.withColumn("cancel_reason", map_code(F.col("ZXYYDM"), "cancel_reason", "public_security"))
        .withColumn("cancelled_on", cancelled)
        .withColumn("death_date", died)
    )
    is_death = F.col("cancel_reason") == "DEATH"
    return with_reasons(
        df,
        malformed_reason(),
        F.col("certno_reason"),
        unmapped(F.col("ZXYYDM"), F.col("cancel_reason"), "cancel_reason"),
        bad_date(F.col("ZXRQ"), cancelled, "ZXRQ", required=True),
        F.when(is_death, bad_date(F.col("SWRQ"), died, "SWRQ", required=True)),
        reason_when(is_death & (died > cancelled), "DEATH_AFTER_REGISTRATION"),
        reason_when(died > F.col("_extract_date"), "DATE_IN_FUTURE:SWRQ"),
    )


def standardise_huohua(huohua: DataFrame, key: bytes) -> DataFrame:
    """Cremation records typed; the death date must precede or equal the cremation date."""
    df = with_person(huohua, "身份证号", key)
    died, cremated = parse_date(F.col("死亡日期")), parse_date(F.col("火化日期"))
    df = df.withColumn("death_date", died).withColumn("cremated_on", cremated)
    return with_reasons(
        df,
        malformed_reason(),
        F.col("certno_reason"),
        bad_date(F.col("死亡日期"), died, "死亡日期", required=True),
        bad_date(F.col("火化日期"), cremated, "火化日期"),
        reason_when(cremated < died, "CREMATION_BEFORE_DEATH"),
        reason_when(died > F.col("_extract_date"), "DATE_IN_FUTURE:死亡日期"),
    )


def death_events(hkzx_good: DataFrame, huohua_good: DataFrame) -> DataFrame:
    """One row per person: earliest credible death date, all sources, first known extract date."""
    parts = hkzx_good.where(F.col("cancel_reason") == "DEATH").select(
        "person_ref", "death_date", F.lit("hkzx").alias("source"), "_extract_date"
    ).unionByName(huohua_good.select("person_ref", "death_date", F.lit("huohua").alias("source"), "_extract_date"))
    return parts.groupBy("person_ref").agg(
        F.min("death_date").alias("death_date"),
        F.array_sort(F.collect_set("source")).alias("sources"),
        F.min("_extract_date").alias("first_known_on"),
        F.count(F.lit(1)).alias("records"),
    )


def emigration_events(hkzx_good: DataFrame) -> DataFrame:
    """One row per person whose 户籍 was cancelled for 出国(境)定居 (earliest cancellation)."""
    return (
        hkzx_good.where(F.col("cancel_reason") == "EMIGRATION")
        .groupBy("person_ref")
        .agg(F.min("cancelled_on").alias("emigrated_on"), F.min("_extract_date").alias("first_known_on"))
    )

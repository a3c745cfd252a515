"""Silver death and emigration events from 户籍 注销 (hkzx) and 火化 (huohua).

`silver.hukou_cancellation` — one row per 户籍 cancellation record (home of hkzx).
`silver.cremation` — one row per cremation record (home of huohua).
`silver.death_event` — one row per person_ref: earliest credible death date, every
source that reported it, and the first extract date on which a death record was known.
`silver.emigration_event` — one row per person_ref: 户籍 cancelled for 出国(境)定居.
The two event tables derive from the two home tables, so no record is lost on the way.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lakehouse import bronze
from lakehouse.standardise import (
    bad_date,
    clean,
    id_sex,
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
LINEAGE = ["_source", "_extract_date", "_file", "_row"]
HUKOU_CANCELLATION_COLUMNS = ["person_ref", "cancelled_on", "cancel_reason", "death_date", *LINEAGE]
CREMATION_COLUMNS = ["person_ref", "sex", "death_date", "cremated_on", "funeral_home", *LINEAGE]


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
    stated_sex = map_code(F.col("性别"), "sex", "civil_affairs")
    df = (
        df.withColumn("death_date", died).withColumn("cremated_on", cremated)
        # an empty 性别 is decided by the ID number (SOURCES.md: Identity)
        .withColumn("sex", F.coalesce(stated_sex, F.when(F.col("certno").isNotNull(), id_sex(F.col("certno")))))
        .withColumn("funeral_home", clean(F.col("殡仪馆")))
    )
    return with_reasons(
        df,
        malformed_reason(),
        F.col("certno_reason"),
        unmapped(F.col("性别"), stated_sex, "sex"),
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


def collapse_resends(records: DataFrame, raw_columns: list[str], key: list[str],
                     same_reason: str) -> tuple[DataFrame, DataFrame]:
    """(one row per `key`, de-duplicated rows): exact re-sends (identical raw record) are
    EXACT_RESEND; other records of the same `key` are `same_reason`. The earliest delivery is kept."""
    exact = bronze.dedupe_exact(records, raw_columns)
    resent = records.join(exact.select(*LINEAGE), LINEAGE, "left_anti")
    w = Window.partitionBy(*key).orderBy(*LINEAGE[1:])
    ranked = exact.withColumn("_n", F.row_number().over(w))
    dedup = resent.select(*LINEAGE, F.lit("EXACT_RESEND").alias("dedup_reason")).unionByName(
        ranked.where("_n > 1").select(*LINEAGE, F.lit(same_reason).alias("dedup_reason")))
    return ranked.where("_n = 1").drop("_n"), dedup


def hukou_cancellations(records: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(one row per person × reason × cancellation date, de-duplicated rows)."""
    kept, dedup = collapse_resends(records, HKZX_RAW, ["person_ref", "cancel_reason", "cancelled_on"],
                                   "SAME_CANCELLATION")
    return kept.select(*HUKOU_CANCELLATION_COLUMNS), dedup


def cremations(records: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(one row per person × death date × cremation date, de-duplicated rows)."""
    kept, dedup = collapse_resends(records, HUOHUA_RAW, ["person_ref", "death_date", "cremated_on"], "SAME_CREMATION")
    return kept.select(*CREMATION_COLUMNS), dedup

"""Silver activity events that show a person (or their card) alive: medical, bank, transit.

- `silver.medical_settlement` — one row per setl_id: the settlement with `refunded` when a
  refund record voids it; person by certno, else by psn_no through psn_insu.
- `silver.bank_txn` — one row per distinct transaction; amounts in yuan; person through acct.
- `silver.transit_tap` — one row per (card_no, tap_time, device_id); person through the card
  holder registry (anonymous cards stay unlinked, person_ref null).
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
    with_person,
    with_reasons,
)

SETL_RAW = ["setl_id", "mdtrt_id", "psn_no", "certno", "insutype", "med_type", "fixmedins_code", "fixmedins_name",
            "begndate", "enddate", "setl_time", "medfee_sumamt", "hifp_pay", "psn_cash_pay", "dise_codg",
            "dise_name", "refd_setl_flag"]
TXN_RAW = ["acct_no", "txn_time", "txn_type", "channel", "amount_fen", "balance_fen", "branch_code"]
TAP_RAW = ["card_no", "tap_time", "line_id", "stop_id", "device_id", "fare_cents"]



def medical_keys(psn_insu: DataFrame, key: bytes) -> DataFrame:
    """psn_no → person_ref from every psn_insu snapshot (latest wins)."""
    df = with_person(psn_insu.where(F.col("_malformed").isNull()), "certno", key).where(F.col("person_ref").isNotNull())
    w = Window.partitionBy("psn_no_c").orderBy(F.col("_extract_date").desc())
    return (df.withColumn("psn_no_c", clean(F.col("psn_no"))).withColumn("_n", F.row_number().over(w))
            .where("_n = 1").select(F.col("psn_no_c").alias("_psn_no"), F.col("person_ref").alias("_psn_person")))


def standardise_settlements(setl: DataFrame, keys: DataFrame, key: bytes) -> DataFrame:
    """Typed settlement records (normal and refund) with person_ref; `_reasons` for quarantine."""
    df = with_person(setl, "certno", key).withColumn("_psn_no", clean(F.col("psn_no")))
    df = df.join(keys, "_psn_no", "left").withColumn("person_ref", F.coalesce("person_ref", "_psn_person"))
    begin, end = parse_date(F.col("begndate")), parse_date(F.col("enddate"))
    df = (
        df.withColumn("setl_id_c", clean(F.col("setl_id")))
        .withColumn("scheme", map_code(F.col("insutype"), "scheme", "medical"))
        .withColumn("med_type_c", map_code(F.col("med_type"), "med_type", "medical"))
        .withColumn("refund", map_code(F.col("refd_setl_flag"), "refund_flag", "medical"))
        .withColumn("visit_start", begin).withColumn("visit_end", end)
        .withColumn("settled_at", F.try_to_timestamp(clean(F.col("setl_time")), F.lit("yyyy-MM-dd HH:mm:ss")))
        .withColumn("total", parse_decimal(F.col("medfee_sumamt")))
        .withColumn("fund_pay", parse_decimal(F.col("hifp_pay")))
        .withColumn("cash_pay", parse_decimal(F.col("psn_cash_pay")))
    )
    return with_reasons(
        df,
        malformed_reason(),
        reason_when(F.col("setl_id_c").isNull(), "MISSING:setl_id"),
        F.when(F.col("person_ref").isNull(),
               F.concat(F.lit("UNKNOWN_PERSON:"), F.coalesce(F.col("certno_reason"), F.lit("PSN_NO_UNRESOLVED")))),
        unmapped(F.col("insutype"), F.col("scheme"), "scheme"),
        unmapped(F.col("med_type"), F.col("med_type_c"), "med_type"),
        unmapped(F.col("refd_setl_flag"), F.col("refund"), "refund_flag"),
        bad_date(F.col("begndate"), begin, "begndate", required=True),
        bad_date(F.col("enddate"), end, "enddate"),
        reason_when(F.col("total").isNull() | F.col("fund_pay").isNull(), "BAD_AMOUNT"),
        reason_when((F.col("refund") == "0") & (F.col("total") < 0), "NEGATIVE_AMOUNT"),
    )


def settlements(records: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(one row per setl_id with `refunded`, de-duplicated rows): refunds void their settlement."""
    exact = bronze.dedupe_exact(records, SETL_RAW)
    resent = records.join(exact.select("_source", "_extract_date", "_file", "_row"),
                          ["_source", "_extract_date", "_file", "_row"], "left_anti")
    refunds = exact.where(F.col("refund") == "1").select(F.col("setl_id_c").alias("_rid")).distinct()
    normal = exact.where(F.col("refund") == "0")
    w = Window.partitionBy("setl_id_c").orderBy("_extract_date", "_file", "_row")
    ranked = normal.withColumn("_n", F.row_number().over(w))
    out = ranked.where("_n = 1").join(refunds, F.col("setl_id_c") == F.col("_rid"), "left").select(
        F.col("setl_id_c").alias("setl_id"), "person_ref", "scheme", F.col("med_type_c").alias("med_type"),
        clean(F.col("fixmedins_code")).alias("fixmedins_code"), "visit_start", "visit_end", "settled_at",
        "total", "fund_pay", "cash_pay", clean(F.col("dise_codg")).alias("dise_codg"),
        clean(F.col("dise_name")).alias("dise_name"), F.col("_rid").isNotNull().alias("refunded"),
        "_source", "_extract_date", "_file", "_row",
    )
    dedup = resent.select("_source", "_extract_date", "_file", "_row", F.lit("EXACT_RESEND").alias("dedup_reason"))
    dedup = dedup.unionByName(ranked.where("_n > 1").select("_source", "_extract_date", "_file", "_row",
                                                             F.lit("SAME_SETL_ID").alias("dedup_reason")))
    # a refund record is folded into its settlement's `refunded` flag
    dedup = dedup.unionByName(exact.where(F.col("refund") == "1").select(
        "_source", "_extract_date", "_file", "_row", F.lit("REFUND_APPLIED").alias("dedup_reason")))
    return out, dedup


def account_owners(acct: DataFrame, key: bytes) -> DataFrame:
    """acct_no → person_ref from every account snapshot (latest wins)."""
    df = with_person(acct.where(F.col("_malformed").isNull()), "certno", key).where(F.col("person_ref").isNotNull())
    w = Window.partitionBy("_acct").orderBy(F.col("_extract_date").desc())
    return (df.withColumn("_acct", clean(F.col("acct_no"))).withColumn("_n", F.row_number().over(w))
            .where("_n = 1").select("_acct", F.col("person_ref").alias("_owner")))


def standardise_txns(txn: DataFrame, owners: DataFrame) -> DataFrame:
    """Bank transactions typed (fen → yuan) and linked to the account owner."""
    df = txn.withColumn("_acct", clean(F.col("acct_no"))).join(owners, "_acct", "left")
    at = F.try_to_timestamp(clean(F.col("txn_time")), F.lit("yyyyMMddHHmmss"))
    df = (
        df.withColumn("person_ref", F.col("_owner"))
        .withColumn("txn_at", at)
        .withColumn("txn_type_c", map_code(F.col("txn_type"), "txn_type", "bank"))
        .withColumn("channel_c", map_code(F.col("channel"), "bank_channel", "bank"))
        .withColumn("amount", (clean(F.col("amount_fen")).try_cast("long") / 100).cast("decimal(18,2)"))
    )
    return with_reasons(
        df,
        malformed_reason(),
        reason_when(F.col("_acct").isNotNull() & F.col("_owner").isNull(), "UNKNOWN_ACCOUNT"),
        reason_when(at.isNull(), "BAD_TIMESTAMP:txn_time"),
        unmapped(F.col("txn_type"), F.col("txn_type_c"), "txn_type"),
        unmapped(F.col("channel"), F.col("channel_c"), "bank_channel"),
        reason_when(F.col("amount").isNull(), "BAD_AMOUNT:amount_fen"),
    )


def bank_txns(records: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(distinct transactions, de-duplicated re-sends)."""
    key_cols = ["_acct", "txn_at", "txn_type_c", "channel_c", "amount"]
    w = Window.partitionBy(*key_cols).orderBy("_extract_date", "_file", "_row")
    ranked = records.withColumn("_n", F.row_number().over(w))
    out = ranked.where("_n = 1").select(
        F.col("_acct").alias("acct_no"), "person_ref", "txn_at", F.to_date("txn_at").alias("txn_date"),
        F.col("txn_type_c").alias("txn_type"), F.col("channel_c").alias("channel"), "amount",
        "_source", "_extract_date", "_file", "_row",
    )
    dedup = ranked.where("_n > 1").select("_source", "_extract_date", "_file", "_row",
                                          F.lit("EXACT_RESEND").alias("dedup_reason"))
    return out, dedup


def standardise_taps(taps: DataFrame, card_history: DataFrame) -> DataFrame:
    """Taps typed and linked to the card's holder as known on the tap date: the card's last
    registry version that began on or before that day (`card_history` has one row per card
    version with valid_from). A tap before the card's first snapshot takes its first version:
    the initial load's registry describes the cards the earlier taps were made on."""
    df = taps.withColumn("_card", clean(F.col("card_no")))
    at = F.try_to_timestamp(clean(F.col("tap_time")))
    df = df.withColumn("tap_at", at).withColumn("fare", (clean(F.col("fare_cents")).try_cast("int") / 100).cast("decimal(10,2)"))
    h = card_history.select(F.col("card_no").alias("_hcard"), F.col("person_ref"), "card_type",
                            F.col("valid_from").alias("_vf"))
    df = df.join(h, df["_card"] == h["_hcard"], "left")
    started = F.col("_vf") <= F.to_date("tap_at")
    w = Window.partitionBy("_source", "_extract_date", "_file", "_row").orderBy(
        started.desc_nulls_last(), F.when(started, F.col("_vf")).desc_nulls_last(), F.col("_vf").asc_nulls_last())
    df = df.withColumn("_v", F.row_number().over(w)).where("_v = 1").drop("_v", "_hcard", "_vf")
    return with_reasons(
        df,
        malformed_reason(),
        reason_when(F.col("_card").isNull(), "MISSING:card_no"),
        reason_when(at.isNull(), "BAD_TIMESTAMP:tap_time"),
    )


def transit_taps(records: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(one row per card/time/device, duplicate device re-sends)."""
    w = Window.partitionBy("_card", "tap_at", "device_id").orderBy("_extract_date", "_file", "_row")
    ranked = records.withColumn("_n", F.row_number().over(w))
    out = ranked.where("_n = 1").select(
        F.col("_card").alias("card_no"), "person_ref", "card_type", "tap_at", F.to_date("tap_at").alias("tap_date"),
        clean(F.col("line_id")).alias("line_id"), clean(F.col("device_id")).alias("device_id"), "fare",
        "_source", "_extract_date", "_file", "_row",
    )
    dedup = ranked.where("_n > 1").select("_source", "_extract_date", "_file", "_row",
                                          F.lit("DUPLICATE_TAP").alias("dedup_reason"))
    return out, dedup

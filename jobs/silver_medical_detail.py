"""Silver settlement details (费用明细): the line items of medical settlements.

- `silver.settlement_detail` — one row per detail item (setl_id × item_no), list_type in the
  standard vocabulary of conf/codes.yaml, `void` when a refund voided its settlement
  (SOURCES.md: a refund voids the settlement and its details; they are kept, flagged, so
  analysts can still see what was refunded).

Details travel with their settlement, so a detail whose setl_id has no settlement in
`silver.medical_settlement` (its settlement was quarantined) is quarantined too
(UNKNOWN_SETTLEMENT): counting it would break the reconciliation of items against settlements.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lakehouse.standardise import (
    clean,
    malformed_reason,
    map_code,
    parse_decimal,
    reason_when,
    unmapped,
    with_reasons,
)

DETAIL_RAW = ["setl_id", "med_list_codg", "med_list_name", "list_type", "cnt", "pric", "det_item_fee_sumamt",
              "fee_ocur_time"]
LINEAGE = ["_source", "_extract_date", "_file", "_row"]
DETAIL_COLUMNS = ["setl_id", "item_no", "med_list_codg", "med_list_name", "list_type", "cnt", "pric", "amount",
                  "fee_ocur_time", "void", *LINEAGE]


def standardise_details(detail: DataFrame, settlements: DataFrame) -> DataFrame:
    """Typed detail records with their settlement's void flag; `_reasons` for quarantine."""
    known = settlements.select(F.col("setl_id").alias("_setl"), F.col("refunded").alias("void"))
    df = detail.withColumn("setl_id_c", clean(F.col("setl_id")))
    df = df.join(known, F.col("setl_id_c") == F.col("_setl"), "left")
    at = F.try_to_timestamp(clean(F.col("fee_ocur_time")), F.lit("yyyy-MM-dd HH:mm:ss"))
    df = (
        df.withColumn("list_type_c", map_code(F.col("list_type"), "list_type", "medical"))
        .withColumn("codg", clean(F.col("med_list_codg")))
        .withColumn("cnt_d", parse_decimal(F.col("cnt"), 3))
        .withColumn("pric_d", parse_decimal(F.col("pric"), 4))
        .withColumn("amount", parse_decimal(F.col("det_item_fee_sumamt")))
        .withColumn("fee_at", at)
    )
    return with_reasons(
        df,
        malformed_reason(),
        reason_when(F.col("setl_id_c").isNull(), "MISSING:setl_id"),
        reason_when(F.col("setl_id_c").isNotNull() & F.col("_setl").isNull(), "UNKNOWN_SETTLEMENT"),
        reason_when(F.col("codg").isNull(), "MISSING:med_list_codg"),
        unmapped(F.col("list_type"), F.col("list_type_c"), "list_type"),
        reason_when(clean(F.col("list_type")).isNull(), "MISSING:list_type"),
        reason_when(F.col("amount").isNull() | F.col("cnt_d").isNull() | F.col("pric_d").isNull(), "BAD_AMOUNT"),
        # refunds carry no detail rows (SOURCES.md): a negative item is an error, not a refund
        reason_when((F.col("amount") < 0) | (F.col("cnt_d") < 0) | (F.col("pric_d") < 0), "NEGATIVE_AMOUNT"),
        reason_when(clean(F.col("fee_ocur_time")).isNotNull() & at.isNull(), "BAD_TIMESTAMP:fee_ocur_time"),
    )


def details(records: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(one row per detail item, exact re-sends).

    A detail has no id of its own, so an item is its whole record. The first delivery that
    carried a record keeps all its copies (a settlement may bill the same item twice);
    identical records in later deliveries are re-sends (EXACT_RESEND).
    """
    delivery = F.struct("_extract_date", "_sequence", "_file")
    first = F.min(delivery).over(Window.partitionBy(*DETAIL_RAW))
    marked = records.withColumn("_first", delivery == first)
    kept = marked.where("_first")
    order = Window.partitionBy("setl_id_c").orderBy("fee_at", "codg", "_extract_date", "_file", "_row")
    out = kept.withColumn("item_no", F.row_number().over(order)).select(
        F.col("setl_id_c").alias("setl_id"), "item_no", F.col("codg").alias("med_list_codg"),
        clean(F.col("med_list_name")).alias("med_list_name"), F.col("list_type_c").alias("list_type"),
        F.col("cnt_d").alias("cnt"), F.col("pric_d").alias("pric"), "amount",
        F.col("fee_at").alias("fee_ocur_time"), F.coalesce("void", F.lit(False)).alias("void"), *LINEAGE,
    )
    dedup = marked.where(~F.col("_first")).select(*LINEAGE, F.lit("EXACT_RESEND").alias("dedup_reason"))
    return out, dedup

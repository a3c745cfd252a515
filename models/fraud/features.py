"""Fraud features per settlement from silver.medical_settlement, and the training labels.

A settlement is judged by what it is (type, amounts, stay length, settlement hour), by the
person's visits in the 30 days either side (bursts of visits of one kind, one facility again
and again, pharmacy share, fund paid) and by the person's year before it (inpatient days,
refunds). The person's score is their riskiest settlement.

Traits of the person as such (facility spread, fund share, yearly visit frequency) are left
out on purpose: with a few dozen confirmed cases they let a model recognise the labelled
persons instead of the behaviour, and it then misses the same fraud done by someone else.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

TYPES = {"is_pharmacy": "PHARMACY", "is_outpatient": "OUTPATIENT", "is_chronic": "CHRONIC_OUTPATIENT",
         "is_inpatient": "INPATIENT"}
FEATURES = [
    *TYPES, "total", "fund_pay", "stay_days", "after_hours", "ctx30_visits", "ctx30_same_type",
    "ctx30_same_facility", "ctx30_pharmacy_share", "ctx30_fund_pay", "p365_inpatient_days", "p365_refunds",
]
CONTEXT_DAYS = 30
HISTORY_DAYS = 365
# settlements at the counter outside these hours are unusual (pharmacies close at 21:00)
OPEN_FROM, OPEN_UNTIL = 7, 21


def _day(col: str) -> Column:
    return F.datediff(F.col(col), F.lit(dt.date(1970, 1, 1))).cast("long")


def _share(part: Column, whole: Column) -> Column:
    return F.when(whole > 0, part / whole).otherwise(F.lit(0.0))


def settlement_features(settlements: DataFrame, run_date: dt.date) -> DataFrame:
    """One row per non-refunded settlement with a person, started by the run date: keys + FEATURES."""
    s = settlements.where(F.col("person_ref").isNotNull() & (F.col("visit_start") <= F.lit(run_date))).select(
        "setl_id", "person_ref", "med_type", "fixmedins_code", "visit_start", "visit_end", "settled_at",
        F.coalesce(F.col("total").cast("double"), F.lit(0.0)).alias("total"),
        F.coalesce(F.col("fund_pay").cast("double"), F.lit(0.0)).alias("fund_pay"),
        F.col("refunded"), _day("visit_start").alias("_d"),
    )
    valid = ~F.col("refunded")
    one = F.when(valid, 1).otherwise(0)
    around = Window.partitionBy("person_ref").orderBy("_d").rangeBetween(-CONTEXT_DAYS, CONTEXT_DAYS)
    same_type = Window.partitionBy("person_ref", "med_type").orderBy("_d").rangeBetween(-CONTEXT_DAYS, CONTEXT_DAYS)
    same_fac = Window.partitionBy("person_ref", "fixmedins_code").orderBy("_d").rangeBetween(-CONTEXT_DAYS,
                                                                                            CONTEXT_DAYS)
    year = Window.partitionBy("person_ref").orderBy("_d").rangeBetween(-HISTORY_DAYS, 0)
    stay = F.greatest(F.coalesce(F.datediff("visit_end", "visit_start"), F.lit(0)), F.lit(0))
    hour = F.hour("settled_at")
    pharmacy = F.when(valid & (F.col("med_type") == "PHARMACY"), 1).otherwise(0)
    df = (
        s.withColumn("stay_days", stay.cast("double"))
        .withColumn("ctx30_visits", F.sum(one).over(around))
        .withColumn("_ctx_pharmacy", F.sum(pharmacy).over(around))
        .withColumn("ctx30_fund_pay", F.sum(F.when(valid, F.col("fund_pay")).otherwise(0.0)).over(around))
        .withColumn("ctx30_same_type", F.sum(one).over(same_type))
        .withColumn("ctx30_same_facility", F.sum(one).over(same_fac))
        .withColumn("p365_inpatient_days",
                    F.sum(F.when(valid & (F.col("med_type") == "INPATIENT"), F.col("stay_days")).otherwise(0.0))
                    .over(year))
        .withColumn("p365_refunds", F.sum(F.when(F.col("refunded"), 1).otherwise(0)).over(year))
    )
    return df.where(valid).select(
        "setl_id", "person_ref", "visit_start", "med_type", "fixmedins_code", "total", "fund_pay",
        *[(F.col("med_type") == code).cast("double").alias(name) for name, code in TYPES.items()],
        "stay_days",
        F.coalesce(((hour < OPEN_FROM) | (hour >= OPEN_UNTIL)).cast("double"), F.lit(0.0)).alias("after_hours"),
        *[F.col(c).cast("double").alias(c) for c in ("ctx30_visits", "ctx30_same_type", "ctx30_same_facility",
                                                      "ctx30_fund_pay", "p365_inpatient_days", "p365_refunds")],
        _share(F.col("_ctx_pharmacy"), F.col("ctx30_visits")).alias("ctx30_pharmacy_share"),
    )


def labelled(features: DataFrame, cases: DataFrame, confirmed: DataFrame | None, run_date: dt.date,
             conf: dict) -> DataFrame:
    """Training rows: `features` plus `fraud` (1 confirmed by an audit case or by CONFIRMED feedback).

    `cases` is silver.audit_case; `confirmed` has person_ref and evidence_date of M02 clues
    confirmed by community verification (None when there is no feedback yet). Settlements
    younger than the label maturity are kept only when confirmed.
    """
    known = cases.where(F.col("confirmed_date") <= F.lit(run_date))
    named = known.where(F.col("setl_id").isNotNull()).select("setl_id").distinct()
    unnamed = known.where(F.col("setl_id").isNull()).select(F.col("person_ref").alias("_p"), "confirmed_date")
    by_stay = features.join(unnamed, F.col("person_ref") == F.col("_p")).where(
        (F.col("med_type") == "INPATIENT") & (F.col("visit_start") <= F.col("confirmed_date"))
        & (F.col("visit_start") >= F.date_sub("confirmed_date", int(conf["unnamed_case_lookback_days"])))
    ).select("setl_id")
    positive = named.unionByName(by_stay)
    if confirmed is not None:
        by_feedback = features.join(confirmed.select(F.col("person_ref").alias("_p"), "evidence_date"),
                                    F.col("person_ref") == F.col("_p")).where(
            (F.col("visit_start") <= F.col("evidence_date"))
            & (F.col("visit_start") >= F.date_sub("evidence_date", int(conf["feedback_window_days"])))
        ).select("setl_id")
        positive = positive.unionByName(by_feedback)
    positive = positive.distinct().withColumn("fraud", F.lit(1))
    mature = F.col("visit_start") <= F.lit(run_date - dt.timedelta(days=int(conf["label_maturity_days"])))
    out = features.join(positive, "setl_id", "left").withColumn("fraud", F.coalesce("fraud", F.lit(0)))
    return out.where(mature | (F.col("fraud") == 1))

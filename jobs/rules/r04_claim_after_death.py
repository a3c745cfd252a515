"""R04 死亡后医保结算: a non-refunded settlement whose visit start is after the death date.

Uses the earliest credible death date of silver.death_event; amount_at_risk is the fund's
share (hifp_pay, silver `fund_pay`) of those settlements (OUTPUTS.md).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.rules.r01_paid_after_death import death_source_text


def day_span(first: str, last: str) -> F.Column:
    """`2026-08-01至2026-08-21`, or the one day when both ends are the same."""
    a, b = F.date_format(first, "yyyy-MM-dd"), F.date_format(last, "yyyy-MM-dd")
    return F.when(a == b, a).otherwise(F.concat(a, F.lit("至"), b))


def hits(inputs: dict[str, DataFrame], params: dict, run_date: dt.date) -> DataFrame:
    deaths = inputs["death_event"].select("person_ref", "death_date", "sources")
    settled = inputs["medical_settlement"].where(~F.col("refunded")).select("person_ref", "visit_start", "fund_pay")
    after = settled.join(deaths, "person_ref").where(F.col("visit_start") > F.col("death_date"))
    per_person = after.groupBy("person_ref", "death_date", "sources").agg(
        F.sum("fund_pay").cast("decimal(18,2)").alias("amount_at_risk"),
        F.count(F.lit(1)).alias("settlements"),
        F.min("visit_start").alias("first_visit"),
        F.max("visit_start").alias("evidence_date"),
    )
    return per_person.select(
        "person_ref", "amount_at_risk", "evidence_date",
        F.format_string(
            "%s显示已于%s死亡，医保结算记录显示%s仍有%d笔未退费结算，基金支付共%s元",
            death_source_text(F.col("sources")), F.date_format("death_date", "yyyy-MM-dd"),
            day_span("first_visit", "evidence_date"),
            F.col("settlements"), F.col("amount_at_risk").cast("string"),
        ).alias("evidence"),
    )

"""R02 重复领取养老金: basic pension paid for the same month under two standardised schemes.

silver.pension_payment already folds the old/new code double record of one scheme (`11`+`110`,
`JG`+`120`) into one payment, so two rows of one month are two different schemes. Amount at
risk (OUTPUTS.md): for each month paid twice, the smaller payment.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def hits(inputs: dict[str, DataFrame], params: dict, run_date: dt.date) -> DataFrame:
    since = F.add_months(F.trunc(F.lit(run_date), "month"), -int(params["lookback_months"]))
    paid = inputs["pension_payment"].where(
        (F.col("status") == "PAID") & (F.col("amount") > 0) & (F.col("pay_month") >= since)
        & (F.col("pay_month") <= F.lit(run_date)))
    twice = (
        paid.groupBy("person_ref", "pay_month")
        .agg(F.countDistinct("scheme").alias("schemes_paid"), F.min("amount").alias("smaller"),
             F.collect_set("scheme").alias("schemes"), F.max(F.coalesce("paid_on", "pay_month")).alias("last_paid"))
        .where(F.col("schemes_paid") >= 2)
    )
    per_person = twice.groupBy("person_ref").agg(
        F.sum("smaller").cast("decimal(18,2)").alias("amount_at_risk"),
        F.count(F.lit(1)).alias("months"),
        F.min("pay_month").alias("first_month"),
        F.max("pay_month").alias("last_month"),
        F.array_sort(F.array_distinct(F.flatten(F.collect_list("schemes")))).alias("schemes"),
        F.max("last_paid").alias("evidence_date"),
    )
    return per_person.select(
        "person_ref", "amount_at_risk", "evidence_date",
        F.format_string(
            "养老金发放记录(ic80)显示%s至%s共%d个月同时按险种%s重复发放基本养老金，重复部分（每月较小一笔）合计%s元，最近发放于%s",
            F.date_format("first_month", "yyyy-MM"), F.date_format("last_month", "yyyy-MM"), F.col("months"),
            F.array_join("schemes", "与"), F.col("amount_at_risk").cast("string"),
            F.date_format("evidence_date", "yyyy-MM-dd"),
        ).alias("evidence"),
    )

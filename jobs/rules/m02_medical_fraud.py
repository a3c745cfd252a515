"""M02 医保欺诈风险: the fraud model scored a settlement of the person above the published threshold.

The threshold is the scoring version's own (gold.fraud_score.threshold): chosen when it was
trained to hold the precision stated in conf/models.yaml, so it travels with the model.

Score 0–100 is the person's highest p_fraud; amount_at_risk is the fund's share (hifp_pay)
of the flagged settlements (OUTPUTS.md).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.standardise import label_of


def hits(inputs: dict[str, DataFrame], params: dict, run_date: dt.date) -> DataFrame:
    flagged = inputs["gold.fraud_score"].where(
        (F.col("p_fraud") > F.col("threshold")) & (F.col("visit_start") <= F.lit(run_date)))
    per_person = flagged.groupBy("person_ref").agg(
        F.max("p_fraud").alias("p_max"),
        # why: the features that raised the riskiest settlement's score most (gold.fraud_score.drivers)
        F.max_by("drivers", "p_fraud").alias("drivers"),
        F.sum("fund_pay").cast("decimal(18,2)").alias("amount_at_risk"),
        F.count(F.lit(1)).alias("settlements"),
        F.min("visit_start").alias("first_visit"),
        F.max("visit_start").alias("evidence_date"),
        F.array_sort(F.collect_set(label_of(F.col("med_type"), "med_type"))).alias("kinds"),
        F.countDistinct("fixmedins_code").alias("facilities"),
    )
    return per_person.select(
        "person_ref", "amount_at_risk", "evidence_date",
        F.least(F.lit(100), F.round(F.col("p_max") * 100)).cast("int").alias("score"),
        F.format_string(
            "医保结算记录显示%s至%s在%d家定点机构的%d笔结算（%s）经欺诈模型评为高风险（最高概率%.2f，主要因素：%s），"
            "统筹基金支付共%s元",
            F.date_format("first_visit", "yyyy-MM-dd"), F.date_format("evidence_date", "yyyy-MM-dd"),
            F.col("facilities"), F.col("settlements"), F.array_join("kinds", "、"), F.col("p_max"),
            F.coalesce(F.nullif(F.col("drivers"), F.lit("")), F.lit("无")), F.col("amount_at_risk").cast("string"),
        ).alias("evidence"),
    )

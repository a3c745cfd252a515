"""R07 缴费基数低于下限: an employee-scheme (110/120) contribution base below the floor.

The floor is POLICY.md's for the calendar year of the 费款所属期 and the employer's region (the
latest silver.employer version), the person's region when there is no employer. Amount at risk
is the documented estimate: the shortfall to the floor times the employer + individual rates.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs.rules.policy_columns import contribution_floor
from lakehouse.policy import load_policy


def employer_regions(employers: DataFrame) -> DataFrame:
    """employer_id → region of its latest version."""
    latest = Window.partitionBy("employer_id").orderBy(F.col("valid_from").desc())
    return (employers.withColumn("_n", F.row_number().over(latest)).where("_n = 1")
            .select("employer_id", F.col("region").alias("employer_region")))


def hits(inputs: dict[str, DataFrame], params: dict, run_date: dt.date) -> DataFrame:
    policy = load_policy()
    rate = Decimal(policy.employer_rate + policy.individual_rate)
    since = F.add_months(F.trunc(F.lit(run_date), "month"), -int(params["lookback_months"]))
    contributions = inputs["contribution"].where(
        F.col("scheme").isin(*params["schemes"]) & (F.col("contribution_month") >= since)
        & (F.col("contribution_month") <= F.lit(run_date)))
    people = inputs["person"].select("person_ref", F.col("region").alias("person_region"))
    df = (
        contributions.join(F.broadcast(employer_regions(inputs["employer"])), "employer_id", "left")
        .join(people, "person_ref", "left")
        .withColumn("floor_region", F.coalesce("employer_region", "person_region"))
        .withColumn("region_kind", F.when(F.col("employer_region").isNotNull(), "单位所在地").otherwise("参保人所在地"))
        .withColumn("floor", contribution_floor(F.col("contribution_month"), F.col("floor_region")))
        .where(F.col("base") < F.col("floor"))
    )
    lowest = F.struct("base", "contribution_month", "floor", "floor_region", "region_kind")
    per_person = df.groupBy("person_ref").agg(
        (F.sum(F.col("floor") - F.col("base")) * F.lit(rate)).cast("decimal(18,2)").alias("amount_at_risk"),
        F.count(F.lit(1)).alias("months"),
        F.min("contribution_month").alias("first_month"),
        F.max("contribution_month").alias("last_month"),
        F.min(lowest).alias("lowest"),
        F.max(F.coalesce("received_on", "contribution_month")).alias("evidence_date"),
    )
    return per_person.select(
        "person_ref", "amount_at_risk", "evidence_date",
        F.format_string(
            "养老保险缴费记录(ac43)显示%s至%s共%d个月职工养老保险缴费基数低于%s%s当年下限，最低%s元（%s年下限%s元），按单位及个人费率估算少缴%s元",
            F.date_format("first_month", "yyyy-MM"), F.date_format("last_month", "yyyy-MM"), F.col("months"),
            F.col("lowest.region_kind"), F.col("lowest.floor_region"), F.col("lowest.base").cast("string"),
            F.year("lowest.contribution_month"), F.col("lowest.floor").cast("string"),
            F.col("amount_at_risk").cast("string"),
        ).alias("evidence"),
    )

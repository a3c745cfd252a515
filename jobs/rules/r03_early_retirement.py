"""R03 提前退休: retirement date (AIC162) before the legal retirement date of POLICY.md.

Legal date from the ID-number birth date and sex (silver.person), the special-job flag (AAC058)
and every standard scheme the person is enrolled in or paid under; with two schemes the lower
legal age applies. Retiring exactly on the legal date is not early.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.rules.policy_columns import legal_retirement_date


def hits(inputs: dict[str, DataFrame], params: dict, run_date: dt.date) -> DataFrame:
    retired = (
        inputs["pension_person"].where((F.col("retired") == "1") & F.col("retirement_date").isNotNull())
        .groupBy("person_ref")
        .agg(F.min("retirement_date").alias("retirement_date"),
             F.max(F.col("special_job") == "1").alias("special_job"))
    )
    schemes = (
        inputs["enrolment"].select("person_ref", "scheme")
        .unionByName(inputs["pension_payment"].select("person_ref", "scheme"))
        .where(F.col("scheme").isin(*params["schemes"]))
        .groupBy("person_ref").agg(F.array_sort(F.collect_set("scheme")).alias("schemes"))
    )
    person = inputs["person"].select("person_ref", "sex", "birth_date")
    legal = legal_retirement_date(F.col("birth_date"), F.col("sex"), F.col("schemes"), F.col("special_job"))
    df = retired.join(person, "person_ref").join(schemes, "person_ref").withColumn("legal_date", legal)
    early = df.where(F.col("retirement_date") < F.col("legal_date"))
    months_early = F.ceil(F.months_between("legal_date", "retirement_date")).cast("int")
    return early.select(
        "person_ref",
        F.lit(0).cast("decimal(18,2)").alias("amount_at_risk"),
        F.col("retirement_date").alias("evidence_date"),
        F.format_string(
            "养老保险个人登记(ac01 AIC162)显示于%s退休，按参保险种%s%s的法定退休年龄应自%s起退休，提前约%d个月",
            F.date_format("retirement_date", "yyyy-MM-dd"), F.array_join("schemes", "、"),
            F.when(F.col("special_job"), F.lit("（特殊工种）")).otherwise(F.lit("")),
            F.date_format("legal_date", "yyyy-MM-dd"), months_early,
        ).alias("evidence"),
    )

"""M01 疑似死亡未报: the certification found no reliable sign of life and no death record."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def hits(inputs: dict[str, DataFrame], params: dict, run_date: dt.date) -> DataFrame:
    cert = inputs["certification"].where(F.col("status") == "SUSPECT")
    return cert.select(
        "person_ref",
        F.lit(0).cast("decimal(18,2)").alias("amount_at_risk"),
        F.coalesce("last_strong_signal", F.lit(run_date)).alias("evidence_date"),
        F.round((1 - F.col("p_alive")) * 100).cast("int").alias("score"),
        F.format_string(
            "近365天无本人到场的生存迹象(最近一次：%s)，生存模型存活概率%s，且无死亡登记",
            F.coalesce(F.date_format("last_strong_signal", "yyyy-MM-dd"), F.lit("无")),
            F.coalesce(F.col("p_alive").cast("string"), F.lit("未评分")),
        ).alias("evidence"),
    )

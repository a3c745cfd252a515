"""R06 住院期间异常出行: taps on the person's cards on a day strictly between admission and
discharge of a non-refunded inpatient stay (挂床住院 suspicion).

Admission and discharge days are excluded (the patient travels to and from hospital).
Stays are settlements of a med_type in `params.med_types`; taps count on every card the
holder registry links to the person.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def hits(inputs: dict[str, DataFrame], params: dict, run_date: dt.date) -> DataFrame:
    stays = inputs["medical_settlement"].where(
        ~F.col("refunded") & F.col("med_type").isin(params["med_types"]) & F.col("visit_end").isNotNull()
    ).select("person_ref", F.col("visit_start").alias("admitted"), F.col("visit_end").alias("discharged"))
    taps = inputs["transit_tap"].where(F.col("person_ref").isNotNull() & (F.col("tap_date") <= F.lit(run_date)))
    inside = taps.select("person_ref", "tap_date").join(stays, "person_ref").where(
        (F.col("tap_date") > F.col("admitted")) & (F.col("tap_date") < F.col("discharged")))
    per_person = inside.groupBy("person_ref").agg(
        F.max_by(F.struct("admitted", "discharged"), "tap_date").alias("_stay"),
        F.countDistinct("admitted").alias("stays"),
        F.countDistinct("tap_date").alias("days"),
        F.max("tap_date").alias("evidence_date"),
    )
    return per_person.select(
        "person_ref", F.lit(0).cast("decimal(18,2)").alias("amount_at_risk"), "evidence_date",
        F.format_string(
            "医保结算显示%s至%s住院（涉及住院%d次），公交一卡通记录显示住院期间其名下卡共%d天有乘车，最近一次%s",
            F.date_format("_stay.admitted", "yyyy-MM-dd"), F.date_format("_stay.discharged", "yyyy-MM-dd"),
            F.col("stays"), F.col("days"), F.date_format("evidence_date", "yyyy-MM-dd"),
        ).alias("evidence"),
    )

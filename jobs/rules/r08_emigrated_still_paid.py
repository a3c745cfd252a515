"""R08 出国定居仍领取: 户籍 cancelled for 出国(境)定居 and pension paid for a later month."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.rules import paid_after


def hits(inputs: dict[str, DataFrame], params: dict, run_date: dt.date) -> DataFrame:
    emigrated = inputs["emigration_event"].select("person_ref", "emigrated_on")
    return paid_after(inputs["pension_payment"], emigrated, "emigrated_on").select(
        "person_ref", "amount_at_risk", "evidence_date",
        F.format_string(
            "户籍注销记录显示已于%s出国(境)定居，%s至%s仍发放养老金%d笔，共%s元",
            F.date_format("emigrated_on", "yyyy-MM-dd"), F.date_format("first_month", "yyyy-MM"),
            F.date_format("last_month", "yyyy-MM"), F.col("payments"), F.col("amount_at_risk").cast("string"),
        ).alias("evidence"),
    )

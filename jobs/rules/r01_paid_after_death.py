"""R01 死亡后继续领取养老金: pension paid for a month after the month of death.

Uses the earliest credible death date of silver.death_event (delivered by the run date);
one payment per standardised scheme and month (silver already folds old/new doubles).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.rules import paid_after, source_labels


def death_source_text(sources: F.Column) -> F.Column:
    """`户籍注销、火化记录` from the death sources array."""
    labels = source_labels()
    mapping = F.create_map(*[F.lit(x) for kv in sorted(labels.items()) for x in kv])
    return F.array_join(F.transform(sources, lambda s: F.coalesce(F.try_element_at(mapping, s), s)), "、")


def hits(inputs: dict[str, DataFrame], params: dict, run_date: dt.date) -> DataFrame:
    deaths = inputs["death_event"].select("person_ref", "death_date", "sources")
    return paid_after(inputs["pension_payment"], deaths, "death_date").select(
        "person_ref", "amount_at_risk", "evidence_date",
        F.format_string(
            "%s显示已于%s死亡，%s至%s仍发放养老金%d笔，共%s元",
            death_source_text(F.col("sources")), F.date_format("death_date", "yyyy-MM-dd"),
            F.date_format("first_month", "yyyy-MM"), F.date_format("last_month", "yyyy-MM"),
            F.col("payments"), F.col("amount_at_risk").cast("string"),
        ).alias("evidence"),
    )

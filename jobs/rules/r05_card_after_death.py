"""R05 死亡后老年卡乘车: taps on a 老年卡 registered to the person, after the death date.

The card's holder and type come from the card registry as of the run date
(silver.card_registry); the card must be of a type in `params.card_types` and already issued
on the day of the tap.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.rules.r01_paid_after_death import death_source_text
from jobs.rules.r04_claim_after_death import day_span


def hits(inputs: dict[str, DataFrame], params: dict, run_date: dt.date) -> DataFrame:
    deaths = inputs["death_event"].select("person_ref", "death_date", "sources")
    cards = inputs["card_registry"].where(F.col("card_type").isin(params["card_types"])).select(
        "card_no", F.col("person_ref").alias("_holder"), "issued_on")
    taps = inputs["transit_tap"].where(F.col("tap_date") <= F.lit(run_date)).select("card_no", "tap_date")
    on_card = taps.join(cards, "card_no").where(F.col("issued_on").isNull() | (F.col("issued_on") <= F.col("tap_date")))
    after = on_card.join(deaths, F.col("_holder") == F.col("person_ref")).where(F.col("tap_date") > F.col("death_date"))
    per_person = after.groupBy("person_ref", "death_date", "sources").agg(
        F.countDistinct("tap_date").alias("days"),
        F.count(F.lit(1)).alias("taps"),
        F.min("tap_date").alias("first_tap"),
        F.max("tap_date").alias("evidence_date"),
    )
    return per_person.select(
        "person_ref", F.lit(0).cast("decimal(18,2)").alias("amount_at_risk"), "evidence_date",
        F.format_string(
            "%s显示已于%s死亡，公交一卡通记录显示其名下老年卡%s仍有%d天共%d次乘车",
            death_source_text(F.col("sources")), F.date_format("death_date", "yyyy-MM-dd"),
            day_span("first_tap", "evidence_date"),
            F.col("days"), F.col("taps"),
        ).alias("evidence"),
    )

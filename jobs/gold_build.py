"""Gold: life signals, the 一人一档 wide table and the monthly fund table.

- `gold.life_signal` — one row per person_ref × date × source × strength: every sign of life.
- `gold.person_profile` — one row per person_ref (as of the run date).
- `gold.fund_monthly` — one row per month × scheme × region: income and expenditure.
"""

from __future__ import annotations

import datetime as dt
import logging

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from lakehouse import lake
from lakehouse.config import Env, load_conf
from lakehouse.spark import get_spark
from lakehouse.standardise import label_of

log = logging.getLogger(__name__)


def life_signals(settlements: DataFrame, txns: DataFrame, taps: DataFrame, run_date: dt.date) -> DataFrame:
    """Signs of life up to the run date, classed strong (in person) or weak (anyone with the card)."""
    conf = load_conf("certification.yaml")["signals"]
    medical = settlements.where(
        ~F.col("refunded") & F.col("med_type").isin(conf["strong"]["medical"]) & F.col("person_ref").isNotNull()
    ).select("person_ref", F.col("visit_start").alias("signal_date"), F.lit("medical").alias("source"),
             F.lit("strong").alias("strength"))
    strong_bank = F.col("channel").isin(conf["strong"]["bank"])
    # the monthly pension credit is the payer's own act, not a sign of the pensioner
    weak_bank = F.col("channel").isin(conf["weak"]["bank"]) & ~((F.col("channel") == "AUTO") & (F.col("txn_type") == "CREDIT"))
    bank = txns.where(F.col("person_ref").isNotNull() & (strong_bank | weak_bank)).select(
        "person_ref", F.col("txn_date").alias("signal_date"),
        F.concat(F.lit("bank_"), F.lower("channel")).alias("source"),
        F.when(strong_bank, "strong").otherwise("weak").alias("strength"),
    )
    transit = taps.where(F.col("person_ref").isNotNull()).select(
        "person_ref", F.col("tap_date").alias("signal_date"), F.lit("transit").alias("source"),
        F.lit("weak").alias("strength"),
    )
    return (
        medical.unionByName(bank).unionByName(transit)
        .where(F.col("signal_date") <= F.lit(run_date))
        .groupBy("person_ref", "signal_date", "source", "strength").agg(F.count(F.lit(1)).alias("events"))
    )


def _last_signal(signals: DataFrame, strength: str) -> DataFrame:
    s = signals.where(F.col("strength") == strength)
    return s.groupBy("person_ref").agg(
        F.max_by(F.struct("signal_date", "source"), F.struct("signal_date", "source")).alias("_last")
    ).select("person_ref", F.col("_last.signal_date").alias(f"last_{strength}_signal"),
             F.col("_last.source").alias(f"last_{strength}_source"))


def person_profile(
    person: DataFrame, payments: DataFrame, deaths: DataFrame, emigrations: DataFrame,
    settlements: DataFrame, holders: DataFrame, signals: DataFrame, run_date: dt.date,
) -> DataFrame:
    """一人一档: demographics, pension, life signs, death and emigration, labels."""
    paid = payments.where((F.col("status") == "PAID") & (F.col("amount") > 0))
    pension = paid.groupBy("person_ref").agg(
        F.max("pay_month").alias("last_pension_month"),
        F.max_by("amount", "pay_month").alias("monthly_pension"),
        F.array_sort(F.collect_set("scheme")).alias("pension_schemes"),
    )
    window_start = F.date_sub(F.lit(run_date), 365)
    medical = settlements.where(~F.col("refunded")).groupBy("person_ref").agg(
        F.max("visit_start").alias("last_medical_visit"),
        F.sum(F.when(F.col("visit_start") >= window_start, 1).otherwise(0)).alias("medical_visits_12m"),
        F.sum(F.when(F.col("visit_start") >= window_start, F.col("total"))).alias("medical_cost_12m"),
    )
    elderly = holders.where((F.col("card_type") == "ELDERLY") & F.col("person_ref").isNotNull()).select(
        "person_ref").distinct().withColumn("holds_elderly_card", F.lit(True))
    df = (
        person.join(pension, "person_ref", "left")
        .join(deaths.select("person_ref", "death_date", F.col("sources").alias("death_sources")), "person_ref", "left")
        .join(emigrations.select("person_ref", "emigrated_on"), "person_ref", "left")
        .join(medical, "person_ref", "left")
        .join(elderly, "person_ref", "left")
        .join(_last_signal(signals, "strong"), "person_ref", "left")
        .join(_last_signal(signals, "weak"), "person_ref", "left")
        .withColumn("as_of", F.lit(run_date))
        .withColumn("age", F.floor(F.months_between(F.col("as_of"), F.col("birth_date")) / 12).cast("int"))
        .withColumn("holds_elderly_card", F.coalesce("holds_elderly_card", F.lit(False)))
        .withColumn("medical_visits_12m", F.coalesce("medical_visits_12m", F.lit(0)))
    )
    return with_labels(df)


def abroad(crossings: DataFrame, run_date: dt.date) -> DataFrame:
    """Per person with crossings up to the run date: `abroad_since` (the exit date when the last
    crossing is an exit, else null) and `days_abroad_365` (days abroad in the 365 days to the run date).

    A day abroad lies strictly between an exit and the next crossing (exit and entry days count
    as in the city); an exit with no later crossing lasts through the run date. On one day an
    exit sorts before an entry (a day trip ends at home).
    """
    order = F.when(F.col("direction") == "EXIT", 0).otherwise(1)
    w = Window.partitionBy("person_ref").orderBy("crossed_on", order)
    spans = (
        crossings.where(F.col("crossed_on") <= F.lit(run_date))
        .withColumn("_next", F.lead("crossed_on").over(w))
        .withColumn("_last", F.lead(F.lit(1)).over(w).isNull())
    )
    lower = F.greatest(F.date_add("crossed_on", 1), F.date_sub(F.lit(run_date), 364))
    upper = F.least(F.coalesce("_next", F.date_add(F.lit(run_date), 1)), F.date_add(F.lit(run_date), 1))
    days = F.when(F.col("direction") == "EXIT", F.greatest(F.datediff(upper, lower), F.lit(0))).otherwise(0)
    return spans.groupBy("person_ref").agg(
        F.max(F.when(F.col("_last") & (F.col("direction") == "EXIT"), F.col("crossed_on"))).alias("abroad_since"),
        F.sum(days).cast("int").alias("days_abroad_365"),
    )


def with_abroad(profile: DataFrame, crossings: DataFrame, run_date: dt.date) -> DataFrame:
    """The profile with `abroad_since` and `days_abroad_365` (0 for a person without crossings)."""
    return profile.join(abroad(crossings, run_date), "person_ref", "left").withColumn(
        "days_abroad_365", F.coalesce("days_abroad_365", F.lit(0)))


def with_labels(profile: DataFrame) -> DataFrame:
    """标签 from conf/labels.yaml: an array of Chinese labels per person."""
    labels = load_conf("labels.yaml")["labels"]
    flags = [F.when(F.expr(lbl["when"]), F.lit(lbl["label"])) for lbl in labels]
    return profile.withColumn("labels", F.array_compact(F.array(*flags)))


def fund_monthly(payments: DataFrame, contributions: DataFrame | None, settlements: DataFrame,
                 person: DataFrame) -> DataFrame:
    """Income (contributions) and expenditure (pensions, medical fund pay) per month, scheme, region."""
    region = person.select("person_ref", "region")
    pensions = payments.where((F.col("status") == "PAID") & (F.col("amount") > 0)).join(region, "person_ref", "left").select(
        F.col("pay_month").alias("month"), "scheme", "region", F.lit(0).cast("decimal(18,2)").alias("income"),
        F.col("amount").alias("expenditure"), F.lit(None).cast("string").alias("payer"), F.col("person_ref").alias("payee"))
    medical = settlements.where(~F.col("refunded")).join(region, "person_ref", "left").select(
        F.trunc("visit_start", "month").alias("month"), "scheme", "region", F.lit(0).cast("decimal(18,2)").alias("income"),
        F.col("fund_pay").alias("expenditure"), F.lit(None).cast("string").alias("payer"), F.col("person_ref").alias("payee"))
    parts = pensions.unionByName(medical)
    if contributions is not None:
        parts = parts.unionByName(contributions.join(region, "person_ref", "left").select(
            F.col("contribution_month").alias("month"), "scheme", "region",
            (F.col("employer_amount") + F.col("personal_amount")).alias("income"),
            F.lit(0).cast("decimal(18,2)").alias("expenditure"), F.col("person_ref").alias("payer"),
            F.lit(None).cast("string").alias("payee")))
    return (
        parts.withColumn("region", F.coalesce("region", F.lit("000000")))
        .groupBy("month", "scheme", "region")
        .agg(F.sum("income").cast("decimal(18,2)").alias("income_yuan"),
             F.sum("expenditure").cast("decimal(18,2)").alias("expenditure_yuan"),
             F.countDistinct("payer").alias("payers"), F.countDistinct("payee").alias("payees"))
        .withColumn("month_label", F.date_format("month", "yyyy-MM"))
        .withColumn("scheme_name", label_of(F.col("scheme"), "scheme"))
        .select("month", "month_label", "scheme", "scheme_name", "region", "income_yuan", "expenditure_yuan",
                "payers", "payees")
    )


def run(run_date: dt.date, env: Env, run_id: str) -> dict[str, int]:
    """Build the gold tables for `run_date` from silver."""
    spark: SparkSession = get_spark(env, "gold_build")
    s = {n: lake.read(spark, env, f"silver.{n}") for n in (
        "person", "pension_payment", "death_event", "emigration_event", "medical_settlement", "bank_txn",
        "transit_tap", "card_registry")}
    contributions = lake.read(spark, env, "silver.contribution") if lake.exists(env, "silver.contribution") else None
    signals = life_signals(s["medical_settlement"], s["bank_txn"], s["transit_tap"], run_date)
    lake.overwrite(signals, env, "gold.life_signal")
    signals = lake.read(spark, env, "gold.life_signal")
    profile = person_profile(s["person"], s["pension_payment"], s["death_event"], s["emigration_event"],
                             s["medical_settlement"], s["card_registry"], signals, run_date)
    profile = with_abroad(profile, lake.read(spark, env, "silver.border_crossing"), run_date)
    lake.overwrite(profile, env, "gold.person_profile")
    lake.overwrite(fund_monthly(s["pension_payment"], contributions, s["medical_settlement"], s["person"]),
                   env, "gold.fund_monthly")
    counts = {n: lake.last_commit_rows(env, f"gold.{n}") for n in ("life_signal", "person_profile", "fund_monthly")}
    log.info("gold %s: %s", run_date, counts)
    return counts

"""Rules and certification: tonight's 待遇资格认证 and risk clues.

- `gold.certification` — one row per pensioner (AAC084 = 1) for the run date's cycle.
- `gold.risk_clue_history` — one row per clue per run date (the night's hits), replaced per run date.
- `gold.risk_clue` — tonight's open clues with stable clue_id, first_seen and NEW/OPEN status.
"""

from __future__ import annotations

import datetime as dt
import logging

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.rules import LakeInputs, load_rules
from lakehouse import lake
from lakehouse.config import Env, load_conf
from lakehouse.spark import get_spark

log = logging.getLogger(__name__)
CLUE_COLUMNS = ["clue_id", "rule_code", "risk_type", "person_ref", "region", "score", "amount_at_risk", "evidence",
                "evidence_date", "suggested_action"]


def certification(profile: DataFrame, scores: DataFrame, run_date: dt.date) -> DataFrame:
    """Status per pensioner: DECEASED > ABROAD > CERTIFIED_BY_DATA > SUSPECT (OUTPUTS.md)."""
    conf = load_conf("certification.yaml")
    window_start = F.date_sub(F.lit(run_date), int(conf["evidence_window_days"]))
    df = profile.where("is_pensioner").join(scores.select("person_ref", "p_alive"), "person_ref", "left")
    recent_strong = F.col("last_strong_signal") >= window_start
    status = (
        F.when(F.col("death_date").isNotNull(), "DECEASED")
        # emigrated, or abroad on the run date by the last border crossing (gold.person_profile)
        .when(F.col("emigrated_on").isNotNull() | F.col("abroad_since").isNotNull(), "ABROAD")
        .when(recent_strong & (F.col("p_alive") >= float(conf["certify_min_p_alive"])), "CERTIFIED_BY_DATA")
        .otherwise("SUSPECT")
    )
    return df.select(
        "person_ref", "region", status.alias("status"), F.round("p_alive", 3).cast("decimal(4,3)").alias("p_alive"),
        "last_strong_signal", F.col("last_strong_source").alias("last_signal_source"),
        F.lit(f"{run_date.year}").alias("cycle"), F.lit(run_date).alias("run_date"),
    )


def clue_id(person_ref: F.Column, rule_code: F.Column) -> F.Column:
    """Stable id from person_ref and rule_code only (OUTPUTS.md)."""
    return F.substring(F.sha2(F.concat_ws("|", person_ref, rule_code), 256), 1, 16)


def tonight_hits(inputs: dict[str, DataFrame], run_date: dt.date) -> DataFrame:
    """Every rule's hits as clue rows."""
    region = inputs["person"].select("person_ref", "region")
    parts = []
    for rule in load_rules():
        h = rule.hits(inputs, run_date)
        score = F.col("score") if "score" in h.columns else F.lit(rule.score if rule.score is not None else 100)
        parts.append(
            h.join(region, "person_ref", "left").select(
                clue_id(F.col("person_ref"), F.lit(rule.code)).alias("clue_id"),
                F.lit(rule.code).alias("rule_code"), F.lit(rule.risk_type).alias("risk_type"), "person_ref",
                "region", score.cast("int").alias("score"),
                F.col("amount_at_risk").cast("decimal(18,2)").alias("amount_at_risk"), "evidence",
                F.col("evidence_date").cast("date").alias("evidence_date"),
                F.lit(rule.suggested_action).alias("suggested_action"),
            )
        )
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out


def with_lifecycle(history: DataFrame, dispositions: DataFrame | None, run_date: dt.date) -> DataFrame:
    """Tonight's clues with first_seen/status; a dispositioned clue stays closed without newer evidence."""
    tonight = history.where(F.col("run_date") == F.lit(run_date))
    past = history.where(F.col("run_date") <= F.lit(run_date))
    if dispositions is not None:
        closed = dispositions.where(F.col("verified_on") <= F.lit(run_date)).groupBy("clue_id").agg(
            F.max("verified_on").alias("closed_on"))
        tonight = tonight.join(closed, "clue_id", "left").where(
            F.col("closed_on").isNull() | (F.col("evidence_date") > F.col("closed_on")))
        # a night after the closure counts only if it was shown: its evidence is newer than the closure
        past = past.join(closed, "clue_id", "left").where(
            F.col("closed_on").isNull() | ((F.col("run_date") > F.col("closed_on"))
                                           & (F.col("evidence_date") > F.col("closed_on"))))
    else:
        tonight = tonight.withColumn("closed_on", F.lit(None).cast("date"))
    # first_seen: the first night the clue appeared since its last closure
    first = past.groupBy("clue_id").agg(F.min("run_date").alias("first_seen"))
    return (
        tonight.drop("closed_on").join(first, "clue_id", "left")
        .withColumn("status", F.when(F.col("first_seen") == F.lit(run_date), "NEW").otherwise("OPEN"))
        .select(*CLUE_COLUMNS, "first_seen", "status", "run_date")
    )


def run(run_date: dt.date, env: Env, run_id: str) -> dict[str, int]:
    """Certification, rule hits and clue lifecycle for `run_date`."""
    spark: SparkSession = get_spark(env, "rules")
    profile = lake.read(spark, env, "gold.person_profile")
    scores = lake.read(spark, env, "gold.survival_score")
    lake.overwrite(certification(profile, scores, run_date), env, "gold.certification")
    inputs = LakeInputs(lambda table: lake.read(spark, env, table))
    inputs["certification"] = lake.read(spark, env, "gold.certification")
    hits = tonight_hits(inputs, run_date).withColumn("run_date", F.lit(run_date))
    lake.replace_where(hits, env, "gold.risk_clue_history", f"run_date = DATE'{run_date}'", partition_by=["run_date"])
    history = lake.read(spark, env, "gold.risk_clue_history")
    dispositions = lake.read(spark, env, "silver.clue_disposition") if lake.exists(env, "silver.clue_disposition") else None
    lake.overwrite(with_lifecycle(history, dispositions, run_date), env, "gold.risk_clue")
    counts = {r["rule_code"]: r["n"] for r in lake.read(spark, env, "gold.risk_clue").groupBy("rule_code")
              .agg(F.count(F.lit(1)).alias("n")).collect()}
    log.info("rules %s: clues per rule %s", run_date, counts)
    return counts

"""Survival features from gold, as of a run date, and the training label.

Features describe signs of life only (recency and counts by strength, age, sex); the
label is a delivered death record. Pension payments are not features: they continue
after an unreported death, which is exactly what the model must see through.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

FEATURES = [
    "age", "is_male", "days_since_strong", "days_since_weak", "strong_30d", "strong_90d", "strong_365d",
    "weak_30d", "weak_90d", "weak_365d", "medical_visits_12m",
]
NO_SIGNAL_DAYS = 9999


def survival_features(profile: DataFrame, signals: DataFrame, run_date: dt.date) -> DataFrame:
    """One row per person_ref: FEATURES plus `dead` (1 with a death record on or before the run date)."""
    ref = F.lit(run_date)
    age_days = F.datediff(ref, F.col("signal_date"))
    counts = signals.where(F.col("signal_date") <= ref).groupBy("person_ref").agg(
        *[
            F.sum(F.when((F.col("strength") == s) & (age_days < d), F.col("events")).otherwise(0)).alias(f"{s}_{d}d")
            for s in ("strong", "weak") for d in (30, 90, 365)
        ]
    )
    df = profile.join(counts, "person_ref", "left")
    return df.select(
        "person_ref", "is_pensioner",
        F.col("age").cast("double").alias("age"),
        (F.col("sex") == "1").cast("double").alias("is_male"),
        F.coalesce(F.datediff(ref, "last_strong_signal"), F.lit(NO_SIGNAL_DAYS)).cast("double").alias("days_since_strong"),
        F.coalesce(F.datediff(ref, "last_weak_signal"), F.lit(NO_SIGNAL_DAYS)).cast("double").alias("days_since_weak"),
        *[F.coalesce(F.col(f"{s}_{d}d"), F.lit(0)).cast("double").alias(f"{s}_{d}d")
          for s in ("strong", "weak") for d in (30, 90, 365)],
        F.col("medical_visits_12m").cast("double").alias("medical_visits_12m"),
        (F.col("death_date").isNotNull() & (F.col("death_date") <= ref)).cast("int").alias("dead"),
    )

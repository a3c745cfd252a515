"""Score every person with `models:/survival_status@champion`: p_alive into gold.survival_score.

Scoring never trains: with no champion it stops with ModelNotTrained, naming how to train.
Each row names the version used (name, version, MLflow run id, training as-of date).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

import mlflow
import pandas as pd
from pyspark.sql import functions as F

from lakehouse import lake
from lakehouse.config import Env
from lakehouse.spark import get_spark
from models.registry import require_champion
from models.survival import MODEL_NAME
from models.survival.features import FEATURES, survival_features

log = logging.getLogger(__name__)


def run(run_date: dt.date, env: Env, run_id: str) -> str:
    """Write gold.survival_score for `run_date`; returns the model version used."""
    ref = require_champion(env, MODEL_NAME)
    version = ref.version
    model = mlflow.sklearn.load_model(ref.uri)
    spark = get_spark(env, "score_survival")
    features = survival_features(
        lake.read(spark, env, "gold.person_profile"), lake.read(spark, env, "gold.life_signal"), run_date
    ).select("person_ref", *FEATURES)

    def predict(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for b in batches:
            p_dead = model.predict_proba(b[FEATURES].to_numpy())[:, 1]
            yield pd.DataFrame({"person_ref": b["person_ref"], "p_alive": 1.0 - p_dead})

    scored = features.mapInPandas(predict, "person_ref string, p_alive double").select(
        "person_ref", F.round("p_alive", 6).alias("p_alive"),
        F.lit(MODEL_NAME).alias("model_name"), F.lit(str(version)).alias("model_version"),
        F.lit(ref.run_id).alias("model_run_id"), F.lit(ref.trained_as_of).cast("date").alias("model_trained_as_of"),
        F.lit(run_date).alias("run_date"),
    )
    lake.overwrite(scored, env, "gold.survival_score")
    log.info("scored %d persons with %s version %s", lake.read(spark, env, "gold.survival_score").count(),
             MODEL_NAME, version)
    return str(version)

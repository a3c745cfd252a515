"""Score recent settlements with `models:/medical_fraud@champion`: p_fraud into gold.fraud_score.

`gold.fraud_score` — one row per non-refunded settlement that started within the scoring
window up to the run date; a person's risk is their riskiest settlement, and the M02 rule
applies the champion's own threshold (column `threshold`, chosen at training to hold the
precision of conf/models.yaml). Scoring never trains: with no champion it stops with
ModelNotTrained, naming how to train. Each row names the version used (name, version, MLflow
run id, training as-of date).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

import mlflow
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse import lake
from lakehouse.config import Env
from lakehouse.spark import get_spark
from models.fraud import MODEL_NAME
from models.fraud.explain import contributions, top_drivers
from models.fraud.features import FEATURES, settlement_features
from models.fraud.train import model_conf
from models.registry import ModelRef, require_champion

log = logging.getLogger(__name__)
SCHEMA = ("setl_id string, person_ref string, visit_start date, med_type string, fixmedins_code string, "
          "fund_pay double, p_fraud double, drivers string")


KEYS = ["setl_id", "person_ref", "visit_start", "med_type", "fixmedins_code", "fund_pay"]


def run(run_date: dt.date, env: Env, run_id: str) -> str:
    """Write gold.fraud_score for `run_date`; returns the model version used."""
    ref = require_champion(env, MODEL_NAME)
    spark = get_spark(env, "score_fraud")
    model = mlflow.sklearn.load_model(ref.uri)
    since = run_date - dt.timedelta(days=int(model_conf()["score_window_days"]))
    features = settlement_features(lake.read(spark, env, "silver.medical_settlement"), run_date).where(
        F.col("visit_start") > F.lit(since)).select(*KEYS, *[f for f in FEATURES if f not in KEYS])

    conf = model_conf()
    labels, top = dict(conf["feature_labels"]), int(conf["drivers_top"])

    def predict(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for b in batches:
            x = b[FEATURES].to_numpy(dtype=float)
            p = model.predict_proba(x)[:, 1] if len(b) else []
            drivers = top_drivers(contributions(model, x), FEATURES, labels, top) if len(b) else []
            yield b[KEYS].assign(p_fraud=p, drivers=drivers)

    _write(features.mapInPandas(predict, SCHEMA), env, run_date, ref)
    log.info("scored %d settlements with %s version %s (threshold %s)",
             lake.read(spark, env, "gold.fraud_score").count(), MODEL_NAME, ref.version, ref.tags.get("threshold"))
    return ref.version


def _write(scored: DataFrame, env: Env, run_date: dt.date, ref: ModelRef) -> None:
    out = scored.select(
        *KEYS[:-1], F.col("fund_pay").cast("decimal(18,2)").alias("fund_pay"),
        F.round("p_fraud", 6).alias("p_fraud"), "drivers",
        F.lit(float(ref.tags["threshold"])).alias("threshold"),  # the version's published M02 cut-off
        F.lit(MODEL_NAME).alias("model_name"), F.lit(ref.version).alias("model_version"),
        F.lit(ref.run_id).alias("model_run_id"), F.lit(ref.trained_as_of).cast("date").alias("model_trained_as_of"),
        F.lit(run_date).alias("run_date"),
    )
    lake.overwrite(out, env, "gold.fraud_score")

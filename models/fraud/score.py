"""Score recent settlements with `models:/medical_fraud@champion`: p_fraud into gold.fraud_score.

`gold.fraud_score` — one row per non-refunded settlement that started within the scoring
window up to the run date; a person's risk is their riskiest settlement, and the M02 rule
applies the published threshold. Training is a separate step (weekly DAG); on a brand-new
installation with no champion yet, the first model is trained here once. When there are not
yet enough confirmed cases to train, the night goes on with an empty score table.
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
from lakehouse.errors import DataError
from lakehouse.spark import get_spark
from models.fraud import MODEL_NAME
from models.fraud.features import FEATURES, settlement_features
from models.fraud.train import model_conf
from models.registry import CHAMPION, champion_version, use_tracking

log = logging.getLogger(__name__)
SCHEMA = ("setl_id string, person_ref string, visit_start date, med_type string, fixmedins_code string, "
          "fund_pay double, p_fraud double")


KEYS = ["setl_id", "person_ref", "visit_start", "med_type", "fixmedins_code", "fund_pay"]


def run(run_date: dt.date, env: Env, run_id: str) -> str | None:
    """Write gold.fraud_score for `run_date`; returns the model version used (None: no model yet)."""
    spark = get_spark(env, "score_fraud")
    version = champion_version(env, MODEL_NAME)
    if version is None:
        log.warning("no %s@%s model registered yet: training the first one from tonight's silver", MODEL_NAME,
                    CHAMPION)
        from models.fraud import train

        try:
            train.run(run_date, env, run_id)
        except DataError as e:
            log.warning("%s not scored tonight: %s", MODEL_NAME, e)
            _write(spark.createDataFrame([], SCHEMA), env, run_date, None)
            return None
        version = champion_version(env, MODEL_NAME)
    use_tracking(env, MODEL_NAME)
    model = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@{CHAMPION}")
    since = run_date - dt.timedelta(days=int(model_conf()["score_window_days"]))
    features = settlement_features(lake.read(spark, env, "silver.medical_settlement"), run_date).where(
        F.col("visit_start") > F.lit(since)).select(*KEYS, *[f for f in FEATURES if f not in KEYS])

    def predict(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for b in batches:
            p = model.predict_proba(b[FEATURES].to_numpy(dtype=float))[:, 1] if len(b) else []
            yield b[KEYS].assign(p_fraud=p)

    _write(features.mapInPandas(predict, SCHEMA), env, run_date, str(version))
    log.info("scored %d settlements with %s version %s", lake.read(spark, env, "gold.fraud_score").count(),
             MODEL_NAME, version)
    return str(version)


def _write(scored: DataFrame, env: Env, run_date: dt.date, version: str | None) -> None:
    out = scored.select(
        *KEYS[:-1], F.col("fund_pay").cast("decimal(18,2)").alias("fund_pay"),
        F.round("p_fraud", 6).alias("p_fraud"), F.lit(MODEL_NAME).alias("model_name"),
        F.lit(version).cast("string").alias("model_version"), F.lit(run_date).alias("run_date"),
    )
    lake.overwrite(out, env, "gold.fraud_score")

"""Train the survival-status model on gold features, log it to MLflow, register it as `@challenger`.

XGBoost with isotonic calibration (the certification reads p_alive as a probability), trained
on every person outside the frozen holdout (models/holdout.py) and measured on it. Promotion to
`@champion` is the separate step models/promote.py.
"""

from __future__ import annotations

import datetime as dt
import logging

import mlflow
import numpy as np
import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score
from xgboost import XGBClassifier

from lakehouse import lake
from lakehouse.config import Env
from lakehouse.errors import DataError
from lakehouse.spark import get_spark
from models.card import register_challenger
from models.holdout import in_holdout
from models.registry import use_tracking
from models.survival import MODEL_NAME
from models.survival.features import FEATURES, survival_features

log = logging.getLogger(__name__)
# skops serialisation refuses types it does not know unless we vouch for our own model's parts
TRUSTED_TYPES = ["sklearn.calibration._CalibratedClassifier", "xgboost.core.Booster", "xgboost.sklearn.XGBClassifier"]
PARAMS = {"n_estimators": 120, "max_depth": 4, "learning_rate": 0.1, "subsample": 0.9, "random_state": 7,
          "n_jobs": 2, "tree_method": "hist"}
MIN_DEATHS = 6  # isotonic calibration with 3 folds needs a few deaths in each


def fit(x: np.ndarray, y: np.ndarray) -> CalibratedClassifierCV:
    """Calibrated XGBoost classifier of `dead`."""
    base = XGBClassifier(**PARAMS, eval_metric="logloss")
    model = CalibratedClassifierCV(base, method="isotonic", cv=3)
    return model.fit(x, y)


def frame(spark: SparkSession, env: Env, run_date: dt.date) -> pd.DataFrame:
    """One row per person as of `run_date` (FEATURES, `dead`), in a stable order, with `holdout`."""
    out = survival_features(
        lake.read(spark, env, "gold.person_profile"), lake.read(spark, env, "gold.life_signal"), run_date
    ).toPandas().sort_values("person_ref").reset_index(drop=True)
    return out.assign(holdout=in_holdout(out["person_ref"]))


def holdout_frame(spark: SparkSession, env: Env, run_date: dt.date) -> pd.DataFrame:
    """The frozen holdout's persons as of `run_date` (what the promotion step compares on)."""
    f = frame(spark, env, run_date)
    return f[f["holdout"]].reset_index(drop=True)


def holdout_metrics(model: object, rows: pd.DataFrame) -> dict[str, float]:
    """AUC, average precision, Brier and log loss of `dead` on `rows` (empty without both classes)."""
    y = rows["dead"].to_numpy()
    if y.min(initial=1) == y.max(initial=0):
        return {}
    p = model.predict_proba(rows[FEATURES].to_numpy(dtype=float))[:, 1]  # type: ignore[attr-defined]
    return {"auc": float(roc_auc_score(y, p)), "average_precision": float(average_precision_score(y, p)),
            "brier": float(brier_score_loss(y, p)), "logloss": float(log_loss(y, p, labels=[0, 1]))}


def run(run_date: dt.date, env: Env, run_id: str) -> str:
    """Train on the gold tables as of `run_date`; returns the version registered as @challenger."""
    spark = get_spark(env, "train_survival")
    data = frame(spark, env, run_date)
    train = data[~data["holdout"]]
    x, y = train[FEATURES].to_numpy(dtype=float), train["dead"].to_numpy()
    if min(y.sum(), len(y) - y.sum()) < MIN_DEATHS:
        raise DataError(f"too few labelled deaths outside the holdout to train {MODEL_NAME} ({int(y.sum())} of "
                        f"{len(y)})")
    watermark = lake.read(spark, env, "gold.life_signal").where(F.col("signal_date") <= F.lit(run_date)).agg(
        F.max("signal_date")).collect()[0][0]
    use_tracking(env, MODEL_NAME)
    with mlflow.start_run(run_name=f"{MODEL_NAME}_{run_date}"):
        mlflow.log_params({**PARAMS, "calibration": "isotonic", "features": ",".join(FEATURES),
                           "as_of": run_date.isoformat(), "rows": len(y), "deaths": int(y.sum()), "run_id": run_id})
        model = fit(x, y)
        metrics = {f"holdout_{k}": v for k, v in holdout_metrics(model, data[data["holdout"]]).items()}
        mlflow.log_metrics(metrics)
        info = mlflow.sklearn.log_model(model, name="model", input_example=train[FEATURES].head(3),
                                        registered_model_name=MODEL_NAME, skops_trusted_types=TRUSTED_TYPES)
        version = str(info.registered_model_version)
        register_challenger(
            env, MODEL_NAME, version, run_date, run_id,
            "生存状态模型: calibrated probability that a person is dead (p_alive = 1 − p) from signs of life; "
            "feeds 无感认证 (免证/疑似) and M01.",
            {"rows": len(y), "deaths": int(y.sum()), "holdout_rows": int(data["holdout"].sum()),
             "data_watermark": watermark, "features": ", ".join(FEATURES)},
            metrics,
            ["Label: a delivered death record by the as-of date; deaths nobody recorded count as alive.",
             "Trained on persons outside the frozen holdout only; the holdout metrics are on unseen persons.",
             "Pension payments are not features: they continue after an unreported death."])
        log.info("trained %s version %s on %d persons (%d deaths): %s", MODEL_NAME, version, len(y), int(y.sum()),
                 {k: round(v, 4) for k, v in metrics.items()})
    return version

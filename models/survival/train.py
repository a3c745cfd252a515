"""Train the survival-status model on gold features, log it to MLflow, register and promote it.

XGBoost with isotonic calibration (the certification reads p_alive as a probability).
A new version becomes `@champion` when there is none yet or its holdout AUC is not worse.
"""

from __future__ import annotations

import datetime as dt
import logging

import mlflow
import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from xgboost import XGBClassifier

from lakehouse import lake
from lakehouse.config import Env
from lakehouse.errors import DataError
from lakehouse.spark import get_spark
from models.registry import promote_if_better, use_tracking
from models.survival import MODEL_NAME
from models.survival.features import FEATURES, survival_features

log = logging.getLogger(__name__)
# skops serialisation refuses types it does not know unless we vouch for our own model's parts
TRUSTED_TYPES = ["sklearn.calibration._CalibratedClassifier", "xgboost.core.Booster", "xgboost.sklearn.XGBClassifier"]
PARAMS = {"n_estimators": 120, "max_depth": 4, "learning_rate": 0.1, "subsample": 0.9, "random_state": 7,
          "n_jobs": 2, "tree_method": "hist"}


def fit(x: np.ndarray, y: np.ndarray) -> CalibratedClassifierCV:
    """Calibrated XGBoost classifier of `dead`."""
    base = XGBClassifier(**PARAMS, eval_metric="logloss")
    model = CalibratedClassifierCV(base, method="isotonic", cv=3)
    return model.fit(x, y)


def run(run_date: dt.date, env: Env, run_id: str) -> str:
    """Train on the gold tables as of `run_date`; returns the registered version."""
    spark = get_spark(env, "train_survival")
    features = survival_features(
        lake.read(spark, env, "gold.person_profile"), lake.read(spark, env, "gold.life_signal"), run_date
    ).toPandas().sort_values("person_ref")
    x, y = features[FEATURES].to_numpy(), features["dead"].to_numpy()
    if min(y.sum(), len(y) - y.sum()) < 6:
        raise DataError(f"too few labelled deaths to train ({int(y.sum())} of {len(y)})")
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=7, stratify=y)
    use_tracking(env, MODEL_NAME)
    with mlflow.start_run(run_name=f"{MODEL_NAME}_{run_date}"):
        mlflow.log_params({**PARAMS, "calibration": "isotonic", "features": ",".join(FEATURES),
                           "as_of": run_date.isoformat(), "rows": len(y), "deaths": int(y.sum())})
        model = fit(x_tr, y_tr)
        p = model.predict_proba(x_te)[:, 1]
        metrics = {"auc": float(roc_auc_score(y_te, p)), "brier": float(brier_score_loss(y_te, p)),
                   "logloss": float(log_loss(y_te, p, labels=[0, 1]))}
        mlflow.log_metrics(metrics)
        final = fit(x, y)  # the registered model uses every labelled person
        info = mlflow.sklearn.log_model(final, name="model", input_example=features[FEATURES].head(3),
                                        registered_model_name=MODEL_NAME, skops_trusted_types=TRUSTED_TYPES)
        version = str(info.registered_model_version)
        log.info("trained %s version %s on %d persons (%d deaths): %s", MODEL_NAME, version, len(y), int(y.sum()),
                 {k: round(v, 4) for k, v in metrics.items()})
    promote_if_better(env, MODEL_NAME, version, metrics["auc"])
    return version


"""Train the medical-fraud model on silver settlements and confirmed labels; log, register, promote.

XGBoost on one row per settlement (features.FEATURES); labels are audit-confirmed cases
(silver.audit_case) and CONFIRMED community feedback on M02 clues (silver.clue_disposition,
when that table exists). The holdout keeps each person on one side (a case's settlements
share their context features). Metrics at the published threshold (conf/rules.yaml
M02_MEDICAL_FRAUD.params.threshold) are logged beside AUC. A new version becomes
`@champion` when there is none yet or its holdout AUC is not worse.
"""

from __future__ import annotations

import datetime as dt
import logging

import mlflow
import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from sklearn.metrics import average_precision_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import train_test_split
from xgboost import XGBClassifier

from lakehouse import lake
from lakehouse.config import Env, load_conf
from lakehouse.errors import DataError
from lakehouse.spark import get_spark
from models.fraud import MODEL_NAME, RULE_CODE
from models.fraud.features import FEATURES, labelled, settlement_features
from models.registry import promote_if_better, use_tracking

log = logging.getLogger(__name__)
TRUSTED_TYPES = ["xgboost.core.Booster", "xgboost.sklearn.XGBClassifier"]
SEED = 7
# Risk never falls as a burst grows, a stay lengthens or amounts rise: monotone constraints let
# the trees extrapolate beyond the confirmed cases (and resist unlabelled fraud among the negatives).
INCREASING = {"total", "fund_pay", "stay_days", "after_hours", "ctx30_visits", "ctx30_same_type",
              "ctx30_same_facility", "ctx30_fund_pay", "p365_inpatient_days", "p365_refunds"}
# shallow trees: few confirmed cases, so few interactions are learnable
PARAMS = {"n_estimators": 300, "max_depth": 2, "learning_rate": 0.08, "subsample": 0.9, "colsample_bytree": 0.9,
          "min_child_weight": 1, "random_state": SEED, "n_jobs": 2, "tree_method": "hist",
          "monotone_constraints": "(" + ",".join("1" if f in INCREASING else "0" for f in FEATURES) + ")"}


def model_conf() -> dict:
    """conf/models.yaml `fraud` section."""
    return dict(load_conf("models.yaml")["fraud"])


def threshold() -> float:
    """The published M02 threshold on p_fraud (conf/rules.yaml)."""
    return float(load_conf("rules.yaml")["rules"][RULE_CODE]["params"]["threshold"])


def confirmed_feedback(spark: SparkSession, env: Env, run_date: dt.date) -> DataFrame | None:
    """person_ref and evidence_date of M02 clues CONFIRMED by community verification by the run date."""
    if not lake.exists(env, "silver.clue_disposition") or not lake.exists(env, "gold.risk_clue_history"):
        return None
    disp = lake.read(spark, env, "silver.clue_disposition").where(
        (F.col("result") == "CONFIRMED") & (F.col("verified_on") <= F.lit(run_date))).select("clue_id", "verified_on")
    hist = lake.read(spark, env, "gold.risk_clue_history").where(F.col("rule_code") == RULE_CODE).select(
        "clue_id", "person_ref", "evidence_date", "run_date")
    # the evidence the verifier saw: the clue's latest evidence up to the verification
    seen = hist.join(disp, "clue_id").where(F.col("run_date") <= F.col("verified_on"))
    return seen.groupBy("person_ref").agg(F.max("evidence_date").alias("evidence_date"))


def training_frame(spark: SparkSession, env: Env, run_date: dt.date) -> pd.DataFrame:
    """Labelled settlements as of the run date, in a stable order."""
    features = settlement_features(lake.read(spark, env, "silver.medical_settlement"), run_date)
    cases = lake.read(spark, env, "silver.audit_case")
    rows = labelled(features, cases, confirmed_feedback(spark, env, run_date), run_date, model_conf())
    return rows.select("setl_id", "person_ref", "fraud", *FEATURES).toPandas().sort_values("setl_id").reset_index(drop=True)


def split_by_person(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (train, test): a quarter of the persons held out, stratified by having fraud."""
    persons = frame.groupby("person_ref")["fraud"].max().sort_index()
    _, held = train_test_split(persons.index.to_numpy(), test_size=0.25, random_state=SEED,
                               stratify=persons.to_numpy())
    test = frame["person_ref"].isin(set(held)).to_numpy()
    return ~test, test


def fit(x: np.ndarray, y: np.ndarray) -> XGBClassifier:
    """XGBoost classifier of `fraud` (deterministic: fixed seed, hist trees)."""
    return XGBClassifier(**PARAMS, eval_metric="logloss").fit(x, y)


def evaluate(y: np.ndarray, p: np.ndarray, cut: float) -> dict[str, float]:
    """AUC, average precision and precision/recall at the published threshold."""
    flagged = (p > cut).astype(int)
    return {"auc": float(roc_auc_score(y, p)), "average_precision": float(average_precision_score(y, p)),
            "precision_at_threshold": float(precision_score(y, flagged, zero_division=0)),
            "recall_at_threshold": float(recall_score(y, flagged, zero_division=0)),
            "flagged_share": float(flagged.mean())}


def run(run_date: dt.date, env: Env, run_id: str) -> str:
    """Train on silver as of `run_date`; returns the registered version."""
    spark = get_spark(env, "train_fraud")
    frame = training_frame(spark, env, run_date)
    fraud_persons = frame.loc[frame["fraud"] == 1, "person_ref"].nunique()
    if fraud_persons < int(model_conf()["min_fraud_persons"]):
        raise DataError(f"too few persons with confirmed fraud to train {MODEL_NAME} ({fraud_persons})")
    x, y = frame[FEATURES].to_numpy(dtype=float), frame["fraud"].to_numpy()
    train, test = split_by_person(frame)
    cut = threshold()
    use_tracking(env, MODEL_NAME)
    with mlflow.start_run(run_name=f"{MODEL_NAME}_{run_date}"):
        mlflow.log_params({**PARAMS, "features": ",".join(FEATURES), "as_of": run_date.isoformat(),
                           "rows": len(y), "fraud_settlements": int(y.sum()), "fraud_persons": int(fraud_persons),
                           "threshold": cut, "run_id": run_id, **{f"conf_{k}": v for k, v in model_conf().items()}})
        model = fit(x[train], y[train])
        metrics = evaluate(y[test], model.predict_proba(x[test])[:, 1], cut)
        mlflow.log_metrics(metrics)
        final = fit(x, y)  # the registered model learns from every labelled settlement
        info = mlflow.sklearn.log_model(final, name="model", input_example=frame[FEATURES].head(3),
                                        registered_model_name=MODEL_NAME, skops_trusted_types=TRUSTED_TYPES)
        version = str(info.registered_model_version)
        log.info("trained %s version %s on %d settlements (%d fraud, %d persons): %s", MODEL_NAME, version, len(y),
                 int(y.sum()), fraud_persons, {k: round(v, 4) for k, v in metrics.items()})
    promote_if_better(env, MODEL_NAME, version, metrics["auc"])
    return version


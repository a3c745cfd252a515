"""Train the medical-fraud model on silver settlements and confirmed labels; register it as `@challenger`.

XGBoost on one row per settlement (features.FEATURES); labels are audit-confirmed cases
(silver.audit_case) and CONFIRMED community feedback on M02 clues (silver.clue_disposition,
when that table exists). Persons of the frozen holdout (models/holdout.py) are never trained on.
The version's M02 threshold is chosen on out-of-fold validation predictions of the training
persons, person by person (a clue is a person): the lowest cut that holds
conf/models.yaml `fraud.target_precision`. The precision reached there and on the holdout is
logged per run. Promotion to `@champion` is the separate step models/promote.py.
"""

from __future__ import annotations

import datetime as dt
import logging

import mlflow
import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from xgboost import XGBClassifier

from lakehouse import lake
from lakehouse.config import Env, load_conf
from lakehouse.errors import DataError
from lakehouse.spark import get_spark
from models.card import register_challenger
from models.fraud import MODEL_NAME, RULE_CODE
from models.fraud.features import FEATURES, labelled, settlement_features
from models.holdout import in_holdout
from models.registry import use_tracking

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


def pos_weight(y: np.ndarray, scheme: str) -> float:
    """Weight of a fraud row (conf/models.yaml fraud.class_weight): none 1, balanced neg/pos, sqrt_balanced its root."""
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    ratio = neg / pos if pos else 1.0
    return {"none": 1.0, "balanced": ratio, "sqrt_balanced": float(np.sqrt(ratio))}[scheme]


def fit(x: np.ndarray, y: np.ndarray) -> XGBClassifier:
    """XGBoost classifier of `fraud` (deterministic: fixed seed, hist trees), fraud rows up-weighted."""
    weight = pos_weight(y, str(model_conf().get("class_weight", "none")))
    return XGBClassifier(**PARAMS, scale_pos_weight=weight, eval_metric="logloss").fit(x, y)


def per_person(frame: pd.DataFrame, p: np.ndarray) -> pd.DataFrame:
    """A person's score is their riskiest settlement (as M02 flags persons): person_ref, fraud, p."""
    return (frame.assign(p=p).groupby("person_ref", sort=True).agg(fraud=("fraud", "max"), p=("p", "max"))
            .reset_index())


def threshold_for_precision(y: np.ndarray, p: np.ndarray, target: float) -> dict[str, float]:
    """The lowest cut (flag p > cut) whose flagged set holds `target` precision, with what it reaches.

    Cuts fall halfway between distinct scores. When no cut reaches the target, the one of best
    precision is taken and `target_met` is 0 (logged, so a weak model is visible, not hidden).
    """
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    tp = np.cumsum(ys)
    precision = tp / np.arange(1, len(ys) + 1)
    ends = np.r_[ps[1:] < ps[:-1], True] & (tp > 0)  # flag everything down to here, nothing tied below
    if not ends.any():
        return {"threshold": 1.0, "precision": 0.0, "recall": 0.0, "target_met": 0.0}
    ok = ends & (precision >= target)
    i = int(np.max(np.nonzero(ok))) if ok.any() else int(np.nonzero(ends)[0][np.argmax(precision[ends])])
    cut = (ps[i] + ps[i + 1]) / 2 if i + 1 < len(ps) else max(ps[i] - 1e-6, 0.0)
    return {"threshold": float(cut), "precision": float(precision[i]), "recall": float(tp[i] / max(ys.sum(), 1)),
            "target_met": float(ok.any())}


def validation_scores(frame: pd.DataFrame) -> np.ndarray:
    """Out-of-fold p_fraud of every training settlement, folds by person (no person on both sides)."""
    folds = StratifiedGroupKFold(n_splits=int(model_conf()["validation_folds"]), shuffle=True, random_state=SEED)
    x, y, groups = frame[FEATURES].to_numpy(dtype=float), frame["fraud"].to_numpy(), frame["person_ref"].to_numpy()
    p = np.zeros(len(frame))
    for fit_rows, val_rows in folds.split(x, y, groups):
        p[val_rows] = fit(x[fit_rows], y[fit_rows]).predict_proba(x[val_rows])[:, 1]
    return p


def holdout_frame(spark: SparkSession, env: Env, run_date: dt.date) -> pd.DataFrame:
    """The frozen holdout's labelled settlements as of `run_date` (what the promotion step compares on)."""
    frame = training_frame(spark, env, run_date)
    return frame[in_holdout(frame["person_ref"])].reset_index(drop=True)


def holdout_metrics(model: XGBClassifier, rows: pd.DataFrame, cut: float | None = None) -> dict[str, float]:
    """Person-level AUC and average precision (and precision/recall at `cut`); empty without both classes."""
    persons = per_person(rows, model.predict_proba(rows[FEATURES].to_numpy(dtype=float))[:, 1]) if len(rows) else None
    if persons is None or persons["fraud"].nunique() < 2:
        return {}
    y, p = persons["fraud"].to_numpy(), persons["p"].to_numpy()
    out = {"auc": float(roc_auc_score(y, p)), "average_precision": float(average_precision_score(y, p))}
    if cut is not None:
        flagged = p > cut
        out["precision_at_threshold"] = float(y[flagged].mean()) if flagged.any() else 0.0
        out["recall_at_threshold"] = float(flagged[y == 1].mean())
    return out


def run(run_date: dt.date, env: Env, run_id: str) -> str:
    """Train on silver as of `run_date`; returns the version registered as @challenger."""
    spark = get_spark(env, "train_fraud")
    data = training_frame(spark, env, run_date)
    held = in_holdout(data["person_ref"])
    train = data[~held].reset_index(drop=True)
    fraud_persons = train.loc[train["fraud"] == 1, "person_ref"].nunique()
    if fraud_persons < int(model_conf()["min_fraud_persons"]):
        raise DataError(f"too few persons with confirmed fraud outside the holdout to train {MODEL_NAME} "
                        f"({fraud_persons})")
    target = float(model_conf()["target_precision"])
    val = per_person(train, validation_scores(train))
    chosen = threshold_for_precision(val["fraud"].to_numpy(), val["p"].to_numpy(), target)
    watermark = lake.read(spark, env, "silver.medical_settlement").where(
        F.col("visit_start") <= F.lit(run_date)).agg(F.max("visit_start")).collect()[0][0]
    use_tracking(env, MODEL_NAME)
    with mlflow.start_run(run_name=f"{MODEL_NAME}_{run_date}"):
        mlflow.log_params({**PARAMS, "features": ",".join(FEATURES), "as_of": run_date.isoformat(),
                           "rows": len(train), "fraud_settlements": int(train["fraud"].sum()),
                           "fraud_persons": int(fraud_persons), "target_precision": target, "run_id": run_id,
                           **{f"conf_{k}": v for k, v in model_conf().items()}})
        model = fit(train[FEATURES].to_numpy(dtype=float), train["fraud"].to_numpy())
        metrics = {"threshold": chosen["threshold"], "validation_precision": chosen["precision"],
                   "validation_recall": chosen["recall"], "validation_target_met": chosen["target_met"],
                   **{f"holdout_{k}": v for k, v in holdout_metrics(model, data[held], chosen["threshold"]).items()}}
        mlflow.log_metrics(metrics)
        info = mlflow.sklearn.log_model(model, name="model", input_example=train[FEATURES].head(3),
                                        registered_model_name=MODEL_NAME, skops_trusted_types=TRUSTED_TYPES)
        version = str(info.registered_model_version)
        register_challenger(
            env, MODEL_NAME, version, run_date, run_id,
            f"医保欺诈风险模型 ({RULE_CODE}): p_fraud per settlement; a person is flagged when their riskiest "
            "settlement is above this version's threshold.",
            {"rows": len(train), "fraud_settlements": int(train["fraud"].sum()), "fraud_persons": int(fraud_persons),
             "holdout_rows": int(held.sum()), "data_watermark": watermark, "threshold": round(chosen["threshold"], 6),
             "target_precision": target, "features": ", ".join(FEATURES)},
            metrics,
            ["Labels: audit cases confirmed by the as-of date and CONFIRMED community feedback; settlements younger "
             "than the label maturity are negatives only once mature.",
             f"Threshold: lowest cut holding precision {target:.0%} on out-of-fold validation persons "
             f"(reached {chosen['precision']:.1%}, recall {chosen['recall']:.1%}"
             + ("" if chosen["target_met"] else "; TARGET NOT MET") + ").",
             "Fraud no audit has labelled yet counts as clean here: holdout precision is a lower bound."])
        log.info("trained %s version %s on %d settlements (%d fraud, %d persons): %s", MODEL_NAME, version,
                 len(train), int(train["fraud"].sum()), fraud_persons, {k: round(v, 4) for k, v in metrics.items()})
    return version

"""The nightly `score` step: every model's champion scores tonight's data."""

from __future__ import annotations

import datetime as dt

from lakehouse.config import Env


def run(run_date: dt.date, env: Env, run_id: str) -> dict[str, str]:
    """gold.survival_score and gold.fraud_score; returns the model version used per model."""
    from models import fraud, survival
    from models.fraud import score as fraud_score
    from models.survival import score as survival_score

    return {survival.MODEL_NAME: survival_score.run(run_date, env, run_id),
            fraud.MODEL_NAME: fraud_score.run(run_date, env, run_id)}

"""The weekly `train` step: every model trained, logged and registered in MLflow as `@challenger`.

The `promote` step after it decides which challenger becomes `@champion` (models/promote.py).
"""

from __future__ import annotations

import datetime as dt
import logging

from lakehouse.config import Env
from lakehouse.errors import DataError

log = logging.getLogger(__name__)


def run(run_date: dt.date, env: Env, run_id: str) -> dict[str, str]:
    """Train survival_status and medical_fraud; returns the version registered as @challenger per model.

    A model that lacks labels does not stop the other from training; the step still fails
    afterwards so the weekly run shows it.
    """
    from models import fraud, survival
    from models.fraud import train as fraud_train
    from models.survival import train as survival_train

    versions: dict[str, str] = {}
    errors: list[DataError] = []
    for name, train in ((survival.MODEL_NAME, survival_train), (fraud.MODEL_NAME, fraud_train)):
        try:
            versions[name] = train.run(run_date, env, run_id)
        except DataError as e:
            log.error("%s not trained: %s", name, e)
            errors.append(e)
    if errors:
        raise errors[0]
    return versions

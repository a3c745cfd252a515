"""Which features drove a settlement's p_fraud: the model's own per-feature contributions (SHAP).

XGBoost computes exact tree SHAP values (`pred_contribs`); the top positive ones, named in Chinese
(conf/models.yaml fraud.feature_labels), go into the M02 clue's evidence so a verifier sees why.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xgboost import DMatrix, XGBClassifier


def contributions(model: XGBClassifier, x: np.ndarray) -> np.ndarray:
    """SHAP value per row and feature (log-odds), the bias column dropped."""
    return np.asarray(model.get_booster().predict(DMatrix(x), pred_contribs=True))[:, :-1]


def top_drivers(contribs: np.ndarray, names: Sequence[str], labels: dict[str, str], k: int) -> list[str]:
    """Per row, the `k` features that raised the score most (positive contributions only), joined by 、."""
    out = []
    for row in contribs:
        order = [i for i in np.argsort(-row, kind="stable")[:k] if row[i] > 0]
        out.append("、".join(labels.get(names[i], names[i]) for i in order))
    return out

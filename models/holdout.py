"""The frozen holdout: a fixed share of persons no model version is ever trained on.

Membership is a salted hash of `person_ref` (conf/models.yaml `holdout`), so it is the same for
every training run and every model of a lake: the promotion step can compare a challenger with
a champion trained months earlier on persons neither has seen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

from lakehouse.config import load_conf


def holdout_conf() -> dict:
    """conf/models.yaml `holdout`."""
    return dict(load_conf("models.yaml")["holdout"])


def in_holdout(person_refs: Iterable[str], share: float | None = None, salt: str | None = None) -> np.ndarray:
    """Boolean mask: which persons belong to the frozen holdout."""
    conf = holdout_conf()
    share = float(conf["share"] if share is None else share)
    salt = str(conf["salt"] if salt is None else salt)
    buckets = [int(hashlib.sha256(f"{salt}|{p}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF for p in person_refs]
    return np.asarray(buckets) < share

"""The nightly step `models_ready`: every model has a `@champion` before scoring, or the night stops.

Scoring never trains. A lake with no champion yet is either an installation whose environment
allows a first training (conf/env `models.bootstrap_when_no_champion`, on for local cities and
tests: that model is trained and its first version promoted here, in a task of its own, logged)
or one that must be trained on purpose (production: ModelNotTrained names the commands).
"""

from __future__ import annotations

import datetime as dt
import logging

from lakehouse.config import Env
from models.promote import promote_one, trainers
from models.registry import CHAMPION, ModelNotTrained, alias_ref, check_binding

log = logging.getLogger(__name__)


def run(run_date: dt.date, env: Env, run_id: str) -> dict[str, str]:
    """Champion version per model, training the first ones when the environment allows it."""
    check_binding(env)
    missing = [name for name in trainers() if alias_ref(env, name, CHAMPION) is None]
    if missing and not env.models.get("bootstrap_when_no_champion", False):
        raise ModelNotTrained(env, missing[0])
    for name in missing:
        log.warning("no %s@%s in the lake's registry: training the first version as of %s (environment %s "
                    "allows bootstrap_when_no_champion)", name, CHAMPION, run_date, env.name)
        trainers()[name].run(run_date, env, run_id)
        promote_one(env, name, run_date)
    return {name: ref.version for name in trainers() if (ref := alias_ref(env, name, CHAMPION))}

"""The nightly pipeline as an ordered list of named steps, shared by the CLI and the DAGs.

`run_step(name, run_date, env)` is the only entry point a DAG task or the CLI needs.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lakehouse import keyguard, run_audit
from lakehouse.config import Env
from lakehouse.permissions import restrict_umask
from lakehouse.recovery import record_versions
from lakehouse.runlock import lake_lock
from lakehouse.secrets import MissingSecret, pseudonym_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    """One step of the nightly run: a Spark job (or model step) over one run date."""

    name: str
    label: str  # Chinese label shown to operators
    target: str  # "module:function" called as fn(run_date=..., env=..., run_id=...)


NIGHTLY_STEPS: tuple[Step, ...] = (
    Step("ingest", "接入 bronze", "jobs.bronze_ingest:run"),
    Step("silver", "标准化 silver", "jobs.silver_build:run"),
    Step("feedback", "核查反馈", "jobs.feedback:run"),  # before the gate (suite) and rules (closes clues)
    Step("quality_gate", "质量闸门", "jobs.quality_gate:run"),
    Step("gold", "汇总 gold", "jobs.gold_build:run"),
    Step("marts", "专题集市", "jobs.gold_marts:run"),
    # every model has a @champion, or the night stops naming how to train; a fresh lake trains its
    # first versions here only when conf/env `models.bootstrap_when_no_champion` says so (local, tests)
    Step("models_ready", "模型就绪", "models.bootstrap:run"),
    Step("score", "模型评分", "models.score_all:run"),  # scores with @champion, never trains
    Step("rules", "监管规则", "jobs.rules_run:run"),
    Step("export", "夜间导出", "jobs.export_nightly:run"),
)
# Steps of their own DAGs: training (weekly) is never part of the nightly scoring; forecasts are monthly.
OTHER_STEPS: tuple[Step, ...] = (
    Step("train", "模型训练", "models.train_all:run"),  # registers @challenger versions
    Step("promote", "模型晋级", "models.promote:run"),  # @challenger → @champion past the margin, same holdout
    Step("maintain", "湖维护", "jobs.maintain_lake:run"),
    Step("rebuild", "全量重建 silver", "jobs.silver_build:rebuild"),  # the oracle of the incremental silver step
    Step("forecast", "基金预测", "jobs.forecast:run"),  # monthly: projections, mortality check, forecasts
)
STEPS_BY_NAME = {s.name: s for s in NIGHTLY_STEPS + OTHER_STEPS}


def _resolve(target: str) -> Callable[..., Any]:
    import importlib

    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)  # type: ignore[no-any-return]


def run_step(name: str, run_date: dt.date, env: Env, run_id: str | None = None) -> Any:
    """Run one named step for `run_date`; idempotent for the same inputs."""
    step = STEPS_BY_NAME[name]
    # a plain date: Airflow hands over pendulum dates, which Spark does not accept
    run_date = dt.date(run_date.year, run_date.month, run_date.day)
    run_id = run_id or f"manual__{run_date.isoformat()}"
    log.info("step %s (%s) for %s, run %s", step.name, step.label, run_date, run_id)
    restrict_umask()
    with lake_lock(env, run_id, f"step {step.name} {run_date}"):
        started = run_audit.now()
        try:
            keyguard.check(env, pseudonym_key(env))  # before anything is written with another key
        except (keyguard.WrongKey, MissingSecret) as exc:
            run_audit.record(env, run_id, run_date, step.name, started, "refused", exc)
            raise
        try:
            result = _resolve(step.target)(run_date=run_date, env=env, run_id=run_id)
            record_versions(env, run_date, run_id, step.name)  # what `lakehouse restore` rolls back to
        except BaseException as exc:
            run_audit.record(env, run_id, run_date, step.name, started, "failed", exc)
            raise
        run_audit.record(env, run_id, run_date, step.name, started, "succeeded")
        return result


def run_nightly(run_date: dt.date, env: Env, run_id: str | None = None) -> None:
    """All steps in order for one run date."""
    for step in NIGHTLY_STEPS:
        run_step(step.name, run_date, env, run_id)

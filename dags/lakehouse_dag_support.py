"""Wiring shared by the lakehouse DAG files (listed in .airflowignore: it defines no DAG itself).

Only Airflow glue lives here: schedules, run dates, default_args with retries and the data-error
rule, failure notes, delivery sensors, asset outlets — all parameterised by conf/airflow/dags.yaml.
What a task *does* is `lakehouse.pipeline.run_step(step, run_date, env, run_id)`, nothing else.

Run date. Each time schedule is a CronTriggerTimetable at 00:00 Asia/Shanghai: the run of day D
has logical date and data interval D 00:00 (the cut-off of the extracts dated D) and processes
run_date = D, the data interval end as a Shanghai date. `airflow dags test <dag> D` therefore
processes D, and `airflow backfill create --from-date D1 --to-date D2` (dates read in
Asia/Shanghai, [core] default_timezone) processes D1..D2, each run as the scheduled night would.
No timetable `interval`: with one, scheduled and backfill runs take the interval *start* (D-1) as
logical date while `dags test D` takes D, so one run date would have two run identities.
Asset-triggered DAGs take the latest run_date of their triggering asset events. The wall clock
only decides how long a sensor waits, never which data is processed.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import (
    DAG,
    Asset,
    CronTriggerTimetable,
    ExceptionRetryPolicy,
    RetryAction,
    RetryRule,
    TaskGroup,
    chain,
)
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from lakehouse.config import load_conf
from lakehouse.errors import DataError
from lakehouse.pipeline import NIGHTLY_STEPS, STEPS_BY_NAME, Step
from lakehouse.services.airflow import failure_log, task_env

log = logging.getLogger(__name__)

CONF: dict[str, Any] = load_conf("airflow/dags.yaml")
TZ = pendulum.timezone(CONF["timezone"])
STEP_LISTS: dict[str, tuple[Step, ...]] = {"NIGHTLY_STEPS": NIGHTLY_STEPS}

RUN_DATE_DOC = """
**Run date.** The run at 00:00 Asia/Shanghai of day *D* (logical date and data interval: that
instant, the cut-off of the extracts dated *D*) processes `run_date` = *D*:
`airflow dags test {dag_id} D` runs date *D*;
`airflow backfill create --dag-id {dag_id} --from-date D1 --to-date D2` runs *D1*..*D2*.
By hand: `lakehouse airflow test --dag {dag_id} --run-date D [--to D2]`.

**Failures** are noted in `<paths.state>/airflow/failures.log`. A `DataError` (corrupt delivery,
failed expectation) fails at once; other errors are retried with exponential backoff.
"""


# --- run date and environment ------------------------------------------------------------------


def run_date_of(context: Any) -> dt.date:
    """The extract date a run processes: its data interval end as a Shanghai date, or for an
    asset-triggered run the latest `run_date` its triggering asset events carry."""
    end = context.get("data_interval_end")
    if end is not None:
        local = pendulum.instance(end).in_timezone(TZ)
        return dt.date(local.year, local.month, local.day)  # a plain date: Spark refuses pendulum's Date
    dates = [
        dt.date.fromisoformat(str(event.extra["run_date"]))
        for events in (context.get("triggering_asset_events") or {}).values()
        for event in events
        if event.extra and "run_date" in event.extra
    ]
    if dates:
        return max(dates)
    raise AirflowFailException(
        f"run {context.get('run_id')} has neither a data interval nor a triggering asset event with a "
        "run_date: trigger it with a logical date (midnight of the extract date, Asia/Shanghai)"
    )


def _write_note(text: str) -> None:
    path = failure_log(task_env())
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as out:
        out.write(text.rstrip() + "\n\n")


def record_failure(context: Any) -> None:
    """on_failure_callback: a readable note of what failed, why, and how to re-run it."""
    try:
        ti = context["ti"]
        exc = context.get("exception")
        dag_id = ti.dag_id
        try:
            run_date = run_date_of(context).isoformat()
        except Exception:
            run_date = "?"
        if isinstance(exc, DataError):
            kind = "DATA ERROR — not retried: fix or re-send the data (or the expectation), then re-run"
        else:
            kind = f"ERROR after {ti.try_number} attempt(s) — retries exhausted or not retryable"
        where = "".join(traceback.format_exception(exc)[-3:]).strip() if isinstance(exc, BaseException) else ""
        _write_note(
            f"[{pendulum.now(TZ).to_iso8601_string()}] FAILED {dag_id}.{ti.task_id} run_date={run_date}\n"
            f"  run: {context.get('run_id')}\n"
            f"  {kind}\n"
            f"  error: {type(exc).__name__ if exc else '?'}: {exc}\n"
            f"  re-run: lakehouse airflow test --dag {dag_id} --run-date {run_date}\n"
            + ("  trace:\n    " + where.replace("\n", "\n    ") if where else "")
        )
    except Exception:  # a note that cannot be written must not hide the task's own failure
        log.exception("could not write the failure note")


# --- tasks ---------------------------------------------------------------------------------------


def _execute_step(step_name: str, outlets: Sequence[str] = (), **context: Any) -> None:
    from lakehouse.pipeline import run_step

    run_date = run_date_of(context)
    result = run_step(step_name, run_date, task_env(), context["run_id"])
    log.info("step %s for %s done: %.500r", step_name, run_date, result)
    for name in outlets:  # downstream DAGs scheduled on this asset learn which date was produced
        context["outlet_events"][Asset(name)].extra = {"run_date": run_date.isoformat(), "run_id": context["run_id"]}


def _delivery_arrived(source: str, wait_hours: float, ready_file: str, **context: Any) -> bool:
    env = task_env()
    run_date = run_date_of(context)
    folder = env.paths.landing / source / run_date.isoformat()
    if (folder / ready_file).is_file():
        log.info("delivery %s/%s is there", source, run_date)
        return True
    end = context.get("data_interval_end")
    deadline = pendulum.instance(end) + timedelta(hours=wait_hours) if end is not None else None
    if deadline is None or pendulum.now("UTC") >= deadline:
        note = (
            f"MISSING DELIVERY {source} for {run_date}: no {folder / ready_file}"
            + (f" by {deadline.in_timezone(TZ).to_iso8601_string()}" if deadline else "")
            + "; the night goes on without it (a later delivery or a re-send brings its records)"
        )
        _write_note(f"[{pendulum.now(TZ).to_iso8601_string()}] {note}")
        raise AirflowSkipException(note)
    log.info("delivery %s/%s not there yet; waiting until %s", source, run_date, deadline)
    return False


def delivery_sensors(sources: Sequence[str], wait_hours: float, poke_minutes: float, ready_file: str) -> TaskGroup:
    """One sensor per source: succeeds when <landing>/<source>/<D>/<ready_file> exists, is
    *skipped* as a missing delivery once the wait is over (immediately for past dates)."""
    with TaskGroup("deliveries", tooltip="wait for each source's delivery of the run date") as group:
        for source in sources:
            PythonSensor(
                task_id=f"wait_for_{source}",
                python_callable=_delivery_arrived,
                op_kwargs={"source": source, "wait_hours": wait_hours, "ready_file": ready_file},
                mode="reschedule",
                poke_interval=poke_minutes * 60,
                timeout=(wait_hours + 1) * 3600,  # backstop only; the deadline above ends the wait
                soft_fail=True,
                pool="default_pool",
                doc_md=f"Waits for `{source}`'s delivery dated run_date (`{ready_file}`); "
                "skipped with a MISSING DELIVERY note when it does not come in time.",
            )
    return group


def step_task(step: Step, outlets: Sequence[str], **kwargs: Any) -> PythonOperator:
    """A task running one pipeline step through `lakehouse.pipeline.run_step`."""
    return PythonOperator(
        task_id=step.name,
        task_display_name=f"{step.label} {step.name}",
        python_callable=_execute_step,
        op_kwargs={"step_name": step.name, "outlets": list(outlets)},
        outlets=[Asset(name) for name in outlets],
        doc_md=f"**{step.label}** — `run_step({step.name!r}, run_date, env, run_id)` → `{step.target}`",
        **kwargs,
    )


# --- DAGs ----------------------------------------------------------------------------------------


def default_args() -> dict[str, Any]:
    d = CONF["defaults"]
    return {
        "owner": d["owner"],
        "retries": d["retries"],
        "retry_delay": timedelta(minutes=d["retry_delay_minutes"]),
        "retry_exponential_backoff": float(d["retry_exponential_backoff"]),
        "max_retry_delay": timedelta(minutes=d["max_retry_delay_minutes"]),
        "execution_timeout": timedelta(minutes=d["execution_timeout_minutes"]),
        "retry_policy": ExceptionRetryPolicy(
            rules=[
                RetryRule(
                    exception=DataError,
                    action=RetryAction.FAIL,
                    reason="data error (bad delivery or failed expectation): retrying cannot help",
                )
            ]
        ),
        "on_failure_callback": record_failure,
        "pool": d["pool"],
    }


def steps_of(dag_id: str) -> tuple[Step, ...] | None:
    """The steps of a declared DAG, or None while lakehouse.pipeline does not know one of them."""
    steps = CONF["dags"][dag_id]["steps"]
    if isinstance(steps, str):
        return STEP_LISTS[steps]
    if any(name not in STEPS_BY_NAME for name in steps):
        return None
    return tuple(STEPS_BY_NAME[name] for name in steps)


def _schedule(spec: dict[str, Any]) -> Any:
    if "schedule_on_assets" in spec:
        return [Asset(name) for name in spec["schedule_on_assets"]]
    return CronTriggerTimetable(spec["schedule"], timezone=TZ)


def _doc(dag_id: str, intro: str, steps: Sequence[Step], spec: dict[str, Any]) -> str:
    rows = "\n".join(f"| {i} | `{s.name}` | {s.label} | `{s.target}` |" for i, s in enumerate(steps, 1))
    when = (
        f"Cron `{spec['schedule']}` Asia/Shanghai; run_date = the date of the run's logical time."
        if "schedule" in spec
        else f"After each update of asset(s) {', '.join(spec['schedule_on_assets'])}; "
        "run_date = the run_date of the triggering event."
    )
    return (
        f"{intro.strip()}\n\n**Schedule.** {when}\n\n"
        f"| # | step | | runs |\n|---|---|---|---|\n{rows}\n"
        + RUN_DATE_DOC.format(dag_id=dag_id)
        + "\nParameters: `conf/airflow/dags.yaml`; steps: `lakehouse/pipeline.py`."
    )


def build_dag(dag_id: str, doc: str | None) -> DAG | None:
    """The DAG `dag_id` of conf/airflow/dags.yaml, or None while one of its steps does not exist yet."""
    spec = CONF["dags"][dag_id]
    steps = steps_of(dag_id)
    if steps is None:
        return None
    outlets: dict[str, str] = spec.get("outlets") or {}
    with DAG(
        dag_id=dag_id,
        description=spec["description"],
        doc_md=_doc(dag_id, doc or "", steps, spec),
        schedule=_schedule(spec),
        catchup=False,
        max_active_runs=spec.get("max_active_runs", 1),
        tags=list(spec["tags"]),
        default_args=default_args(),
    ) as dag:
        tasks: list[Any] = []
        deliveries = spec.get("deliveries")
        if deliveries:
            from lakehouse.landing.delivery import MANIFEST
            from lakehouse.sources import load_sources

            sources = deliveries.get("sources") or list(load_sources())
            tasks.append(delivery_sensors(sources, deliveries["wait_hours"], deliveries["poke_minutes"],
                                          deliveries.get("ready_file", MANIFEST)))
        for i, step in enumerate(steps):
            # the first step runs when every delivery is in or declared missing (skipped)
            extra = {"trigger_rule": "none_failed"} if deliveries and i == 0 else {}
            tasks.append(step_task(step, [outlets[step.name]] if step.name in outlets else [], **extra))
        chain(*tasks)
    return dag

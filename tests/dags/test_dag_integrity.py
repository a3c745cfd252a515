"""Every DAG of dags/ loads in real Airflow and follows the project's DAG rules (STYLE.md, the
orchestration issue): docs, tags, owner, retries, no retry on data errors, the nightly order, and
run dates that `airflow dags test` and `airflow backfill create` map to the same extract dates."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from typing import Any

import pytest

from lakehouse.config import CONF_DIR
from lakehouse.errors import DataError
from lakehouse.pipeline import NIGHTLY_STEPS, STEPS_BY_NAME
from lakehouse.services import airflow as airflow_service

NIGHTLY = "nightly_pipeline"


def test_every_dag_file_imports_without_errors(dagbag: Any) -> None:
    assert not dagbag.import_errors, "\n".join(f"{f}:\n{e}" for f, e in dagbag.import_errors.items())


def test_the_dags_are_the_declared_ones_whose_steps_exist(dagbag: Any) -> None:
    pending = airflow_service.pending_dags()
    assert sorted(dagbag.dag_ids) == airflow_service.expected_dag_ids()
    assert NIGHTLY in dagbag.dag_ids
    if pending:
        warnings.warn(
            "declared in conf/airflow/dags.yaml, not built until lakehouse.pipeline has their steps: "
            + ", ".join(f"{d} ({', '.join(m)})" for d, m in pending.items()),
            stacklevel=1,
        )


def test_no_cycles(dagbag: Any) -> None:
    for dag in dagbag.dags.values():
        dag.check_cycle()  # raises AirflowDagCycleException


def test_every_dag_has_docs_tags_an_owner_and_retries(dagbag: Any) -> None:
    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md and len(dag.doc_md) > 200, f"{dag_id}: doc_md"
        assert "Run date" in dag.doc_md, f"{dag_id}: doc_md must say how the run date is chosen"
        assert dag.description, f"{dag_id}: description"
        assert dag.tags, f"{dag_id}: tags"
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag_id}.{task.task_id}: owner"
            assert task.retries >= 1, f"{dag_id}.{task.task_id}: retries"
            assert task.retry_exponential_backoff > 0, f"{dag_id}.{task.task_id}: backoff"
            assert task.on_failure_callback, f"{dag_id}.{task.task_id}: failure callback"
            assert task.doc_md, f"{dag_id}.{task.task_id}: doc_md"


def test_data_errors_are_not_retried_and_other_errors_are(dagbag: Any) -> None:
    from airflow.sdk import RetryAction

    class Corrupt(DataError):
        pass

    for dag in dagbag.dags.values():
        for task in dag.tasks:
            policy = task.retry_policy
            assert policy is not None, task.task_id
            assert policy.evaluate(Corrupt("bad delivery"), 1, 3).action is RetryAction.FAIL
            assert policy.evaluate(ConnectionError("spark driver lost"), 1, 3).action is RetryAction.DEFAULT


def test_nightly_tasks_follow_nightly_steps_in_order(dagbag: Any) -> None:
    dag = dagbag.dags[NIGHTLY]
    step_ids = [s.name for s in NIGHTLY_STEPS]
    ordered = [t.task_id for t in dag.topological_sort() if t.task_id in step_ids]
    assert ordered == step_ids
    sensors = {t.task_id for t in dag.tasks if t.task_id.startswith("deliveries.")}
    first = dag.get_task(step_ids[0])
    assert first.upstream_task_ids == sensors, "the first step waits for every delivery sensor"
    assert str(first.trigger_rule) in ("none_failed", "TriggerRule.NONE_FAILED"), "a missing delivery must not stop the night"
    for before, after in zip(step_ids, step_ids[1:], strict=False):
        assert dag.get_task(after).upstream_task_ids == {before}


def test_one_delivery_sensor_per_source_that_never_hangs(dagbag: Any) -> None:
    from lakehouse.sources import load_sources

    dag = dagbag.dags[NIGHTLY]
    sensors = {t.task_id.removeprefix("deliveries.wait_for_"): t for t in dag.tasks if t.task_id.startswith("deliveries.")}
    assert set(sensors) == set(load_sources())
    for sensor in sensors.values():
        assert sensor.mode == "reschedule", "a waiting sensor must not hold a worker slot"
        assert sensor.soft_fail, "a timed-out wait is a missing delivery (skipped), not a failed night"
        assert sensor.timeout <= 12 * 3600
        assert sensor.pool != "spark"
        assert sensor.op_kwargs["ready_file"] == "_MANIFEST.json", "a source's delivery is complete with its manifest"


def test_feedback_waits_for_the_disposition_file_the_contract_names(dagbag: Any) -> None:
    """OUTPUTS.md: the verification team delivers `feedback/<date>/disposition.csv`, without a manifest."""
    sensor = dagbag.dags["ingest_feedback"].get_task("deliveries.wait_for_feedback")
    assert sensor.op_kwargs["ready_file"] == "disposition.csv"


def test_spark_steps_share_a_one_slot_pool(dagbag: Any) -> None:
    pools = json.loads((CONF_DIR / "airflow" / "pools.json").read_text(encoding="utf-8"))
    assert pools["spark"]["slots"] == 1
    for dag in dagbag.dags.values():
        for task in dag.tasks:
            if task.task_id in STEPS_BY_NAME:
                assert task.pool == "spark", f"{dag.dag_id}.{task.task_id}"


def test_time_schedules_fire_at_midnight_shanghai_without_interval(dagbag: Any) -> None:
    """Date-only command-line ranges are exact only when runs fall on midnight with no interval."""
    from airflow.sdk import CronTriggerTimetable

    for dag in dagbag.dags.values():
        tt = dag.timetable
        if isinstance(tt, CronTriggerTimetable):
            minute, hour = tt.expression.split()[:2]
            assert (minute, hour) == ("0", "0"), dag.dag_id
            assert str(tt.timezone.name) == "Asia/Shanghai", dag.dag_id
            assert tt.interval == dt.timedelta(0), dag.dag_id


@pytest.mark.parametrize("first,last", [("2026-11-18", "2026-11-21"), ("2026-12-31", "2027-01-02")])
def test_dags_test_and_backfill_map_dates_to_the_same_run_dates(dagbag: Any, first: str, last: str) -> None:
    """`airflow dags test DAG D` processes D; `airflow backfill create --from-date D1 --to-date D2`
    processes D1..D2 — checked with Airflow's own date parsing, timetable and backfill iteration."""
    from airflow._shared.timezones.timezone import parse
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.settings import TIMEZONE  # [core] default_timezone, as the CLI uses it
    from lakehouse_dag_support import run_date_of

    dag = dagbag.dags[NIGHTLY]
    d1, d2 = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    wanted = [d1 + dt.timedelta(days=i) for i in range((d2 - d1).days + 1)]

    # airflow dags test DAG D: a manual run whose data interval the timetable infers
    timetable = coerce_to_core_timetable(dag.timetable)
    for day in wanted:
        interval = timetable.infer_manual_data_interval(run_after=parse(day.isoformat(), TIMEZONE))
        assert run_date_of({"data_interval_end": interval.end}) == day
        assert type(run_date_of({"data_interval_end": interval.end})) is dt.date, "Spark takes plain dates only"
        # lakehouse airflow test passes an explicit Shanghai midnight: same run
        explicit = timetable.infer_manual_data_interval(run_after=parse(airflow_service.logical_date(day)))
        assert run_date_of({"data_interval_end": explicit.end}) == day

    # airflow backfill create: the runs _create_backfill would create (models/backfill.py)
    serialized = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    infos = list(serialized.iter_dagrun_infos_between(parse(first, TIMEZONE), parse(last, TIMEZONE)))
    assert [run_date_of({"data_interval_end": i.data_interval.end}) for i in infos] == wanted
    # and the same logical date (the run's identity) as `dags test` gives each of those dates
    tz = dag.timetable.timezone
    assert [i.logical_date.in_timezone(tz).date() for i in infos] == wanted
    assert [parse(d.isoformat(), TIMEZONE) for d in wanted] == [i.logical_date for i in infos]


def test_asset_triggered_runs_take_the_run_date_of_the_event() -> None:
    from types import SimpleNamespace

    from lakehouse_dag_support import run_date_of

    events = {"lakehouse_nightly_exports": [SimpleNamespace(extra={"run_date": "2026-11-20"}),
                                            SimpleNamespace(extra={"run_date": "2026-11-21"})]}
    assert run_date_of({"data_interval_end": None, "triggering_asset_events": events}) == dt.date(2026, 11, 21)


def test_a_run_without_interval_or_event_fails_clearly() -> None:
    from airflow.sdk.exceptions import AirflowFailException
    from lakehouse_dag_support import run_date_of

    with pytest.raises(AirflowFailException, match="logical date"):
        run_date_of({"run_id": "manual__x"})

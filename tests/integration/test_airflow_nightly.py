"""The nightly DAG run by real Airflow (`airflow dags test`, in a subprocess with the project's
Airflow settings and a throw-away Airflow home) on the first date of the small generated city:
every task succeeds and the jobs' outputs appear where the contracts put them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from lakehouse.services import airflow as airflow_service
from tests.conftest import make_env

NIGHTLY = airflow_service.NIGHTLY_DAG


@pytest.fixture(scope="module")
def airflow_run(small_city, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One `airflow dags test nightly_pipeline D` for the city's first date; (env, D, seconds)."""
    root = tmp_path_factory.mktemp("airflow_nightly")
    env = airflow_service.with_airflow(make_env(root, landing=small_city.landing), home=root / "airflow")
    day = small_city.dates[0]
    seconds = airflow_service.dags_test(env, NIGHTLY, day)
    return env, day, seconds


def _task_states(env) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Task states of the one DAG run in the test's fresh Airflow metadata DB."""
    with sqlite3.connect(airflow_service.settings(env).db) as con:
        runs = con.execute("SELECT run_id, state FROM dag_run WHERE dag_id = ?", (NIGHTLY,)).fetchall()
        assert len(runs) == 1 and runs[0][1] == "success", runs
        rows = con.execute(
            "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?", (NIGHTLY, runs[0][0])
        ).fetchall()
    return dict(rows)


def test_every_step_succeeds_for_the_extract_date(airflow_run) -> None:  # type: ignore[no-untyped-def]
    from lakehouse.pipeline import NIGHTLY_STEPS

    env, _, _ = airflow_run
    states = _task_states(env)
    for step in NIGHTLY_STEPS:
        assert states[step.name] == "success", f"{step.name}: {states.get(step.name)}"
    # a delivery sensor either saw its delivery or noted it missing; none failed or hung
    sensors = {t: s for t, s in states.items() if t.startswith("deliveries.")}
    assert sensors and set(sensors.values()) <= {"success", "skipped"}, sensors
    assert "success" in sensors.values()


def test_the_jobs_outputs_appear_for_that_date(airflow_run) -> None:  # type: ignore[no-untyped-def]
    env, day, _ = airflow_run
    folder = env.paths.exports / day.isoformat()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["run_date"] == day.isoformat()
    assert manifest["files"], "an export without files"
    for f in manifest["files"]:
        assert (folder / f["path"]).is_file(), f["path"]
    for layer in ("bronze", "silver", "gold"):
        tables = [p for p in (env.paths.lake / layer).iterdir() if (p / "_delta_log").is_dir()]
        assert tables, f"no Delta table in {env.paths.lake / layer}"
    assert [p.name for p in env.paths.exports.iterdir() if p.is_dir()] == [day.isoformat()]


def test_no_failure_was_noted_and_the_run_log_is_kept(airflow_run) -> None:  # type: ignore[no-untyped-def]
    env, day, seconds = airflow_run
    notes = airflow_service.failure_log(env)
    assert "FAILED" not in (notes.read_text(encoding="utf-8") if notes.exists() else "")
    run_log = env.paths.state / "airflow" / "dags_test" / f"{NIGHTLY}__{day.isoformat()}.log"
    assert "DagRun Finished" in run_log.read_text(encoding="utf-8")
    print(f"airflow dags test {NIGHTLY} {day}: {seconds:.1f}s")  # shown with -s; measured in the report


def test_airflow_state_stayed_in_the_test_home(airflow_run) -> None:  # type: ignore[no-untyped-def]
    env, _, _ = airflow_run
    home = airflow_service.settings(env).home
    assert Path(home, "airflow.db").is_file()
    assert str(home).startswith(str(env.paths.state.parent))


def _free_port_pair() -> int:
    """A port p with p and p + 1 (the scheduler's log server) free."""
    import socket

    for _ in range(50):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            port = int(a.getsockname()[1])
            try:
                with socket.socket() as b:
                    b.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free pair of ports")


def _export_hashes(folder: Path) -> dict[str, str]:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return {f["path"]: f["sha256"] for f in manifest["files"]}


@pytest.mark.slow
@pytest.mark.services
def test_a_backfill_through_the_scheduler_produces_what_the_nightly_run_produced(
    airflow_run, small_city, tmp_path_factory: pytest.TempPathFactory
) -> None:  # type: ignore[no-untyped-def]
    """`airflow backfill create --from-date D --to-date D` on a started Airflow (LocalExecutor, the
    `spark` pool, a fresh lake) writes the same export folder as `airflow dags test DAG D`."""
    import os
    import secrets

    env_test, day, _ = airflow_run
    root = tmp_path_factory.mktemp("airflow_backfill")
    env = airflow_service.with_airflow(
        make_env(root, landing=small_city.landing), home=root / "airflow", port=_free_port_pair()
    )
    saved = {k: os.environ.get(k) for k in ("AIRFLOW_ADMIN_USER", "AIRFLOW_ADMIN_PASSWORD")}
    os.environ.update(AIRFLOW_ADMIN_USER="admin", AIRFLOW_ADMIN_PASSWORD=secrets.token_urlsafe(16))
    try:
        airflow_service.start(env, schedules=False)  # no scheduled run of today next to the backfill
        states = airflow_service.backfill(env, NIGHTLY, day, day, unpause=True, timeout=1800)
    finally:
        airflow_service.stop(env)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert states == {day: "success"}
    produced = sorted(p.name for p in env.paths.exports.iterdir() if p.is_dir())
    assert produced == [day.isoformat()], "the backfill processed exactly its date"
    assert _export_hashes(env.paths.exports / day.isoformat()) == _export_hashes(
        env_test.paths.exports / day.isoformat()
    )

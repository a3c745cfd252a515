"""The nightly DAG run by real Airflow (`airflow dags test`, in a subprocess with the project's
Airflow settings and a throw-away Airflow home) on every date of the small generated city, in order
(the session's `nightly_lake`): every task succeeds and the jobs' outputs appear where the contracts
put them. The slow test backfills the same dates through a started scheduler into a second lake
and finds the same gold tables and exports."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from lakehouse.services import airflow as airflow_service
from tests.conftest import make_env

NIGHTLY = airflow_service.NIGHTLY_DAG


def _task_states(env) -> dict[dt.date, dict[str, str]]:  # type: ignore[no-untyped-def]
    """Task states of each run of the nightly DAG in the lake's Airflow metadata DB, by run date."""
    out: dict[dt.date, dict[str, str]] = {}
    with sqlite3.connect(airflow_service.settings(env).db) as con:
        runs = con.execute("SELECT run_id, state, logical_date FROM dag_run WHERE dag_id = ?", (NIGHTLY,)).fetchall()
        for run_id, state, logical in runs:
            assert state == "success", (run_id, state)
            day = (dt.datetime.fromisoformat(str(logical)).replace(tzinfo=dt.UTC)
                   + dt.timedelta(hours=8)).date()  # logical dates are Shanghai midnights, stored in UTC
            rows = con.execute(
                "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?", (NIGHTLY, run_id)
            ).fetchall()
            out[day] = dict(rows)
    return out


def test_one_successful_run_per_date_with_every_step(nightly_lake) -> None:  # type: ignore[no-untyped-def]
    from lakehouse.pipeline import NIGHTLY_STEPS

    runs = _task_states(nightly_lake.env)
    assert sorted(runs) == nightly_lake.dates, "one DAG run per extract date, dated by its data interval"
    for day, states in runs.items():
        for step in NIGHTLY_STEPS:
            assert states[step.name] == "success", f"{day} {step.name}: {states.get(step.name)}"
        # a delivery sensor either saw its delivery or noted it missing; none failed or hung
        sensors = {t: s for t, s in states.items() if t.startswith("deliveries.")}
        assert sensors and set(sensors.values()) <= {"success", "skipped"}, (day, sensors)
        assert "success" in sensors.values()


def test_the_jobs_outputs_appear_for_each_date(nightly_lake) -> None:  # type: ignore[no-untyped-def]
    env = nightly_lake.env
    for day in nightly_lake.dates:
        folder = env.paths.exports / day.isoformat()
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["run_date"] == day.isoformat()
        assert manifest["files"], "an export without files"
        for f in manifest["files"]:
            assert (folder / f["path"]).is_file(), f["path"]
    for layer in ("bronze", "silver", "gold"):
        tables = [p for p in (env.paths.lake / layer).iterdir() if (p / "_delta_log").is_dir()]
        assert tables, f"no Delta table in {env.paths.lake / layer}"
    assert sorted(p.name for p in env.paths.exports.iterdir() if p.is_dir()) == [d.isoformat() for d in nightly_lake.dates]


def test_no_failure_was_noted_and_the_run_logs_are_kept(nightly_lake) -> None:  # type: ignore[no-untyped-def]
    env = nightly_lake.env
    notes = airflow_service.failure_log(env)
    assert "FAILED" not in (notes.read_text(encoding="utf-8") if notes.exists() else "")
    for day, seconds in nightly_lake.seconds.items():
        run_log = env.paths.state / "airflow" / "dags_test" / f"{NIGHTLY}__{day.isoformat()}.log"
        assert "DagRun Finished" in run_log.read_text(encoding="utf-8")
        print(f"airflow dags test {NIGHTLY} {day}: {seconds:.1f}s")  # shown with -s


def test_airflow_state_stayed_in_the_test_home(nightly_lake) -> None:  # type: ignore[no-untyped-def]
    env = nightly_lake.env
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


def _delta_tables(lake: Path, layer: str) -> list[str]:
    return sorted(p.name for p in (lake / layer).iterdir() if (p / "_delta_log").is_dir())


@pytest.mark.slow
@pytest.mark.services
def test_a_backfill_through_the_scheduler_produces_what_the_nightly_runs_produced(
    nightly_lake, spark, tmp_path_factory: pytest.TempPathFactory
) -> None:  # type: ignore[no-untyped-def]
    """`airflow backfill create` over the city's dates on a started Airflow (LocalExecutor, the
    `spark` pool) into a second, fresh lake: the same gold tables and export folders as the
    nightly `airflow dags test` runs, date by date, and nothing outside the range."""
    import os
    import secrets

    first, last = nightly_lake.dates[0], nightly_lake.dates[-1]
    root = tmp_path_factory.mktemp("airflow_backfill")
    env = airflow_service.with_airflow(
        make_env(root, landing=nightly_lake.city.landing), home=root / "airflow", port=_free_port_pair()
    )
    saved = {k: os.environ.get(k) for k in ("AIRFLOW_ADMIN_USER", "AIRFLOW_ADMIN_PASSWORD")}
    os.environ.update(AIRFLOW_ADMIN_USER="admin", AIRFLOW_ADMIN_PASSWORD=secrets.token_urlsafe(16))
    try:
        airflow_service.start(env, schedules=False)  # no scheduled run of today next to the backfill
        states = airflow_service.backfill(env, NIGHTLY, first, last, unpause=True, timeout=3 * 3600)
    finally:
        airflow_service.stop(env)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert states == {d: "success" for d in nightly_lake.dates}
    produced = sorted(p.name for p in env.paths.exports.iterdir() if p.is_dir())
    assert produced == [d.isoformat() for d in nightly_lake.dates], "the backfill processed exactly its dates"
    for day in nightly_lake.dates:
        assert _export_hashes(env.paths.exports / day.isoformat()) == _export_hashes(
            nightly_lake.env.paths.exports / day.isoformat()
        ), day

    nightly, backfilled = nightly_lake.env.paths.lake, env.paths.lake
    assert _delta_tables(backfilled, "gold") == _delta_tables(nightly, "gold")
    for table in _delta_tables(nightly, "gold"):
        a = spark.read.format("delta").load(str(nightly / "gold" / table))
        b = spark.read.format("delta").load(str(backfilled / "gold" / table))
        assert a.columns == b.columns, table
        assert a.count() == b.count() and a.exceptAll(b).isEmpty() and b.exceptAll(a).isEmpty(), table

"""`ops.run_audit`: one row per step with who, what, when and the outcome (issue 12, point 8)."""

from __future__ import annotations

import datetime as dt
import getpass
import socket
from pathlib import Path

import pytest

from lakehouse import keyguard, lake, pipeline, run_audit
from lakehouse.recovery import AUDIT_TABLES
from tests.conftest import make_env

D = dt.date(2026, 10, 1)


def _rows(env):  # type: ignore[no-untyped-def]
    return lake.read_arrow(env, run_audit.RUN_AUDIT).to_pylist()


def test_a_successful_and_a_failed_step_are_audited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = make_env(tmp_path)
    monkeypatch.setattr(pipeline, "_resolve", lambda target: lambda **kw: None)
    pipeline.run_step("gold", D, env, "run-1")

    def boom(**kw: object) -> None:
        raise ValueError("no such table\nsecond line")

    monkeypatch.setattr(pipeline, "_resolve", lambda target: boom)
    with pytest.raises(ValueError):
        pipeline.run_step("rules", D, env, "run-1")
    ok, failed = sorted(_rows(env), key=lambda r: r["started_at"])
    assert (ok["step"], ok["outcome"], ok["error"], ok["run_id"], ok["run_date"]) == ("gold", "succeeded", None, "run-1", D)
    assert (failed["step"], failed["outcome"], failed["error"]) == ("rules", "failed", "ValueError: no such table")
    assert ok["os_user"] == getpass.getuser() and ok["host"] == socket.gethostname() and ok["command"]
    assert ok["ended_at"] >= ok["started_at"]
    assert run_audit.RUN_AUDIT in AUDIT_TABLES


def test_a_run_refused_for_its_key_is_audited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = make_env(tmp_path)
    keyguard.record(env, b"the-lakes-key", "test")
    monkeypatch.setenv("LAKEHOUSE_PSEUDONYM_KEY", "another-key")
    with pytest.raises(keyguard.WrongKey):
        pipeline.run_step("gold", D, env, "run-2")
    (row,) = _rows(env)
    assert row["outcome"] == "refused" and row["error"].startswith("WrongKey: ")
    assert "another-key" not in row["error"]

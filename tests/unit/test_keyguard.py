"""The lake's key fingerprint: recorded on first use, a different key refused with a clear message,
files created owner/group only (issue 12)."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest

from lakehouse import keyguard, permissions, pipeline
from tests.conftest import make_env


def test_first_use_records_and_the_same_key_passes(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    keyguard.check(env, b"key-one")
    on_file = keyguard.recorded(env)
    assert on_file == keyguard.fingerprint(b"key-one") and len(on_file) == 32
    assert "key-one" not in keyguard.fingerprint_path(env).read_text()
    keyguard.check(env, b"key-one")


def test_a_different_key_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    keyguard.check(env, b"key-one")
    with pytest.raises(keyguard.WrongKey, match="not the key the lake .* was built with.*lakehouse rekey"):
        keyguard.check(env, b"key-One")


def test_a_step_with_the_wrong_key_refuses_before_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = make_env(tmp_path)
    keyguard.record(env, b"the-lakes-key", "test")
    monkeypatch.setenv("LAKEHOUSE_PSEUDONYM_KEY", "another-key")
    ran = []
    monkeypatch.setattr(pipeline, "_resolve", lambda target: lambda **kw: ran.append(kw))
    with pytest.raises(keyguard.WrongKey):
        pipeline.run_step("gold", dt.date(2026, 10, 1), env)
    assert ran == []


def test_the_cli_reports_the_wrong_key_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from lakehouse import cli

    lake = tmp_path / "lake"
    env = make_env(tmp_path)
    keyguard.record(env, b"the-lakes-key", "test")
    monkeypatch.setenv("LAKEHOUSE_PSEUDONYM_KEY", "another-key")
    code = cli.main(["step", "gold", "--lake", str(lake), "--run-date", "2026-10-01"])
    assert code == 1
    assert "is not the key the lake" in capsys.readouterr().err


def test_files_are_created_owner_and_group_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        permissions.restrict_umask()
        path = tmp_path / "f"
        path.write_text("x")
        assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0
        assert stat.S_IMODE(os.umask(0o022)) & 0o027 == 0o027
    finally:
        os.umask(old)

"""`lakehouse synth` writes a city and prints a summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.cli import main


def test_help_names_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["synth", "--help"])
    text = capsys.readouterr().out
    for option in ("--persons", "--days", "--seed", "--out", "--start", "--corrupt"):
        assert option in text
    assert "truth" in text and "landing" in text


def test_synth_command_writes_landing_and_truth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["synth", "--persons", "120", "--days", "2", "--seed", "3", "--start", "2026-11-01",
                 "--out", str(tmp_path / "city")])
    assert code == 0
    out, err = capsys.readouterr()
    assert "planted" in out and str(tmp_path / "city") in out
    assert "2026-11-01 pension" in err  # progress per night and source on stderr
    assert (tmp_path / "city" / "landing" / "pension" / "2026-11-02" / "_MANIFEST.json").exists()
    assert (tmp_path / "city" / "truth" / "planted_risks.csv").exists()

"""Two clones on one machine share the cached dependencies but each runs its own code (issue 11):
`.venv/bin/lakehouse` and `.venv/bin/python` of a clone import that clone, whichever set up last."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from lakehouse.config import REPO_ROOT


def _run(cmd: list[str], cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # no help from the caller's path
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_each_clone_runs_its_own_code(tmp_path: Path) -> None:
    clones = [tmp_path / "a", tmp_path / "b"]
    for clone in clones:
        _run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], tmp_path)
        (clone / "scripts" / "setup_python.sh").write_bytes((REPO_ROOT / "scripts" / "setup_python.sh").read_bytes())
    for clone in clones:  # b sets up last
        _run(["bash", "scripts/setup_python.sh"], clone)
    for clone in clones:
        assert (clone / ".venv" / "bin" / "lakehouse").read_text().splitlines()[0] == f"#!{clone}/.venv/bin/python"
        where = _run([str(clone / ".venv" / "bin" / "python"), "-c", "import lakehouse, pyspark; print(lakehouse.__file__)"],
                     tmp_path)
        assert where.strip() == str(clone / "lakehouse" / "__init__.py")
        assert "usage: lakehouse" in _run([str(clone / ".venv" / "bin" / "lakehouse"), "--help"], tmp_path)

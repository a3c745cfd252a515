"""One run at a time per lake (issue 11): a second caller is refused with a message naming the run
that holds the lake; after it, the same command completes; a lock left by a dead process is taken over."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from lakehouse import lake
from lakehouse.config import REPO_ROOT
from tests.conftest import make_env
from tests.unit.test_hostile_deliveries import CRJ, DAY, deliver

HOLD = """
import sys, time
from lakehouse.runlock import lake_lock
from tests.conftest import make_env
from pathlib import Path
env = make_env(Path(sys.argv[1]), landing=Path(sys.argv[1]) / "landing")
with lake_lock(env, "nightly__holder", "lakehouse nightly (test holder)"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _ingest(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "lakehouse.cli", "ingest", "--landing", str(root / "landing"),
                           "--lake", str(root / "lake"), "--run-date", DAY.isoformat()],
                          capture_output=True, text=True, timeout=300, env=env, check=False)


def test_a_second_run_is_refused_naming_the_holder_then_runs_alone(tmp_path: Path) -> None:
    deliver(tmp_path / "landing", "public_security", DAY, {"crj.csv": CRJ})
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path), "20"], stdout=subprocess.PIPE, text=True,
                              env=env, cwd=REPO_ROOT)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        refused = _ingest(tmp_path)
        assert refused.returncode == 75, refused.stderr
        assert "nightly__holder" in refused.stderr and f"pid {holder.pid}" in refused.stderr
        assert not lake.exists(make_env(tmp_path), "ops.deliveries")  # the refused run wrote nothing
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone without releasing: its lock is stale and the next run takes over
    assert (tmp_path / "lake" / "_lock").exists()
    done = _ingest(tmp_path)
    assert done.returncode == 0, done.stderr
    rows = lake.read_arrow(make_env(tmp_path), "ops.deliveries").to_pylist()
    assert [(r["source"], r["status"]) for r in rows if r["source"] == "public_security"] == [
        ("public_security", "LOADED")]
    assert not (tmp_path / "lake" / "_lock").exists()  # released after the run


def test_a_lock_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    deliver(tmp_path / "landing", "public_security", DAY, {"crj.csv": CRJ})
    (tmp_path / "lake").mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket

    (tmp_path / "lake" / "_lock").write_text(json.dumps({"run_id": "gone", "host": socket.gethostname(),
                                                         "pid": int(dead.stdout), "since": time.ctime()}))
    done = _ingest(tmp_path)
    assert done.returncode == 0, done.stderr

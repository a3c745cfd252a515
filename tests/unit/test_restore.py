"""Recovery (issue 11): every step records the version of every table; `lakehouse restore` rolls
the lake back to the end of a night, and re-running the next night gives what a clean run gives."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from lakehouse import lake
from lakehouse.config import REPO_ROOT
from lakehouse.pipeline import run_step
from lakehouse.recovery import table_versions
from tests.conftest import make_env
from tests.unit.test_hostile_deliveries import CRJ, GOOD_ID, deliver

D1, D2 = dt.date(2026, 11, 20), dt.date(2026, 11, 21)
RIGHT = CRJ + f"{GOOD_ID},2,2026-11-20,K2\n".encode()
WRONG = CRJ + "".join(f"{GOOD_ID},1,2026-11-{d:02d},KX\n" for d in range(1, 20)).encode()


def _content(env, name: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    rows = lake.read_arrow(env, name).to_pylist()
    return sorted(tuple(v for k, v in sorted(r.items()) if k not in ("_run_id", "run_id", "fingerprint")) for r in rows)


def _night(root: Path, day: dt.date) -> None:
    run_step("ingest", day, make_env(root, landing=root / "landing"), f"test__{day}")


def test_restore_then_rerun_equals_a_clean_run(tmp_path: Path) -> None:
    clean, bad = tmp_path / "clean", tmp_path / "bad"
    for root in (clean, bad):
        deliver(root / "landing", "public_security", D1, {"crj.csv": CRJ})
        _night(root, D1)
    deliver(clean / "landing", "public_security", D2, {"crj.csv": RIGHT})
    _night(clean, D2)

    deliver(bad / "landing", "public_security", D2, {"crj.csv": WRONG})  # a wrong delivery goes in
    _night(bad, D2)
    env = make_env(bad, landing=bad / "landing")
    assert len(lake.read_arrow(env, "bronze.public_security__crj").to_pylist()) == 1 + 20
    after_d1 = {k: v for k, v in table_versions(env).items() if not k.startswith("ops.")}

    done = subprocess.run([sys.executable, "-m", "lakehouse.cli", "restore", "--lake", str(bad / "lake"),
                           "--run-date", D1.isoformat()], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, check=False)
    assert done.returncode == 0, done.stderr
    assert "bronze.public_security__crj" in done.stdout and "ops.deliveries" in done.stdout
    assert len(lake.read_arrow(env, "bronze.public_security__crj").to_pylist()) == 1
    assert all(v == after_d1[k] + 1 for k, v in table_versions(env).items() if k in after_d1)  # one RESTORE commit

    (bad / "landing" / "public_security" / D2.isoformat()).rename(tmp_path / "wrong")
    deliver(bad / "landing", "public_security", D2, {"crj.csv": RIGHT})  # the right delivery, re-run the night
    _night(bad, D2)
    clean_env = make_env(clean, landing=clean / "landing")
    for name in ("bronze.public_security__crj", "ops.deliveries"):
        assert _content(env, name) == _content(clean_env, name), name


def test_restore_names_the_nights_it_knows_when_asked_for_another(tmp_path: Path) -> None:
    deliver(tmp_path / "landing", "public_security", D1, {"crj.csv": CRJ})
    _night(tmp_path, D1)
    done = subprocess.run([sys.executable, "-m", "lakehouse.cli", "restore", "--lake", str(tmp_path / "lake"),
                           "--run-date", "2026-01-01"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, check=False)
    assert done.returncode == 1 and "never run on this lake" in done.stderr and D1.isoformat() in done.stderr

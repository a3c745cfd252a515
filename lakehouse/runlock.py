"""One run at a time per lake: a lock file `<lake>/_lock` naming the run that holds it.

Every entry point that writes the lake goes through `lake_lock` (pipeline.run_step, so the CLI
steps and every Airflow task; the CLI's nightly and backfill hold it for the whole command).
The lock is re-entrant within one process, taken atomically (O_CREAT|O_EXCL), and a lock left by
a process that no longer runs on this host is stale and taken over, with a warning. A second
caller gets `LakeBusy` naming the holder (run id, host, pid, since when), at once or after
`wait_seconds`; Airflow retries it like any transient error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from lakehouse.config import Env

log = logging.getLogger(__name__)
LOCK = "_lock"
_held: dict[Path, int] = {}  # lock path → nesting depth in this process


class LakeBusy(RuntimeError):
    """Another run holds the lake."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder(env: Env) -> dict | None:
    """Who holds the lake now (run_id, host, pid, since, command), or None."""
    path = env.paths.lake / LOCK
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def _try_take(path: Path, run_id: str, command: str) -> bool:
    info = {"run_id": run_id, "host": socket.gethostname(), "pid": os.getpid(),
            "since": dt.datetime.now().astimezone().isoformat(timespec="seconds"), "command": command}
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(info, out)
    return True


@contextlib.contextmanager
def lake_lock(env: Env, run_id: str, command: str = "", wait_seconds: float = 0) -> Iterator[None]:
    """Hold the lake's lock for the block (re-entrant in one process)."""
    path = env.paths.lake / LOCK
    if _held.get(path):
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    while not _try_take(path, run_id, command):
        other = holder(env)
        if other and other.get("host") == socket.gethostname() and not _alive(int(other.get("pid", 0))):
            log.warning("taking over a stale lock of run %s (pid %s is gone): %s", other.get("run_id"),
                        other.get("pid"), path)
            path.unlink(missing_ok=True)
            continue
        if time.monotonic() >= deadline:
            who = (f"run {other.get('run_id')} ({other.get('command') or 'pipeline'}) on {other.get('host')}, "
                   f"pid {other.get('pid')}, since {other.get('since')}") if other else "another run"
            raise LakeBusy(f"the lake {env.paths.lake} is in use by {who}; wait for it to finish and re-run. "
                           f"If that process is gone from another host, remove {path}.")
        time.sleep(1)
    _held[path] = 1
    try:
        yield
    finally:
        _held.pop(path, None)
        path.unlink(missing_ok=True)

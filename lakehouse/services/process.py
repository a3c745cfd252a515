"""Background server processes with a pid file and a log file, and readiness waits."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

# Names of environment variables that carry a secret: not inherited by servers that get only
# what they are given (`clean_env`), e.g. the pseudonymisation key never reaches Trino or a web UI.
SECRET_NAME = re.compile(r"KEY|PASSWORD|SECRET|TOKEN|CREDENTIAL", re.IGNORECASE)


def inherited_environ(clean: bool) -> dict[str, str]:
    """This process's environment for a child: all of it, or without secrets when `clean`."""
    if not clean:
        return dict(os.environ)
    return {k: v for k, v in os.environ.items() if not SECRET_NAME.search(k)}


def is_running(pid_file: Path) -> bool:
    """True when the pid file names a live process."""
    import psutil

    try:
        proc = psutil.Process(int(pid_file.read_text().strip()))
        # an exited child that nobody reaped yet is a zombie, not a running server
        return proc.status() != psutil.STATUS_ZOMBIE
    except (FileNotFoundError, ValueError, psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def start(
    name: str,
    cmd: Sequence[str],
    state_dir: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    clean_env: bool = False,
) -> int:
    """Start `cmd` detached in its own process group; output goes to <state_dir>/<name>.log.

    `env` is added to the inherited environment; with `clean_env` the inherited part leaves out
    every secret-looking variable (SECRET_NAME), so only secrets passed in `env` reach the process.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    pid_file = state_dir / f"{name}.pid"
    if is_running(pid_file):
        log.info("%s already running (pid %s)", name, pid_file.read_text().strip())
        return int(pid_file.read_text())
    log_path = state_dir / f"{name}.log"
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            list(cmd),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**inherited_environ(clean_env), **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )
    pid_file.write_text(str(proc.pid))
    log.info("started %s (pid %d), log: %s", name, proc.pid, log_path)
    return proc.pid


def stop(name: str, state_dir: Path, timeout: float = 30) -> None:
    """Stop the process group started by `start`, politely then firmly."""
    pid_file = state_dir / f"{name}.pid"
    if not is_running(pid_file):
        pid_file.unlink(missing_ok=True)
        return
    pid = int(pid_file.read_text())
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and is_running(pid_file):
            time.sleep(0.3)
        if not is_running(pid_file):
            break
    pid_file.unlink(missing_ok=True)
    log.info("stopped %s", name)


def wait_until(check: Callable[[], bool], what: str, timeout: float, log_file: Path | None = None) -> None:
    """Poll `check` until true; on timeout raise with the tail of the server log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # a server that is still booting refuses or errors
            pass
        time.sleep(1)
    tail = ""
    if log_file and log_file.exists():
        tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-30:])
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s" + (f"; log tail:\n{tail}" if tail else ""))


def http_ok(url: str, timeout: float = 3) -> bool:
    """True when GET url answers with a 2xx/3xx status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= resp.status < 400
    except urllib.error.HTTPError as err:
        return 200 <= err.code < 400

"""`ops.run_audit`: who ran what on the lake, when, and how it ended (issue 12, point 8).

One row per pipeline step (`pipeline.run_step`, so every CLI step and Airflow task): the OS
user and host, the command line, run id, run date and step, start and end time, and the outcome
(`succeeded`, `failed` with the error's type and first line, or `refused` when the key guard
stopped it). Appended with delta-rs in its own commit, like `ops.run_versions`; an audit log is
never restored or compared (recovery.AUDIT_TABLES).
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import socket
import sys

import pyarrow as pa

from lakehouse import lake
from lakehouse.config import Env

RUN_AUDIT = "ops.run_audit"
SCHEMA = pa.schema([
    ("run_id", pa.string()), ("run_date", pa.date32()), ("step", pa.string()), ("command", pa.string()),
    ("os_user", pa.string()), ("host", pa.string()), ("pid", pa.int64()),
    ("started_at", pa.timestamp("us")), ("ended_at", pa.timestamp("us")),
    ("outcome", pa.string()), ("error", pa.string()),
])


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _command() -> str:
    # the program and its arguments as given (flags and dates; secrets never go on a command line)
    return " ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]])[:500] if sys.argv else ""


def record(env: Env, run_id: str, run_date: dt.date, step: str, started_at: dt.datetime, outcome: str,
           error: BaseException | None = None) -> None:
    """Append one row for a step that ended with `outcome`."""
    message = None
    if error is not None:
        first = (str(error).splitlines() or [""])[0]
        message = f"{type(error).__name__}: {first}"[:300]
    row = {"run_id": run_id, "run_date": run_date, "step": step, "command": _command(),
           "os_user": getpass.getuser(), "host": socket.gethostname(), "pid": os.getpid(),
           "started_at": started_at, "ended_at": now(), "outcome": outcome, "error": message}
    lake.append_arrow(pa.Table.from_pylist([row], schema=SCHEMA), env, RUN_AUDIT)

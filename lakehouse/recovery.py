"""Recovery: which Delta version of every table each night produced, and rolling the lake back to it.

After every step, `record_versions` appends the current version of every table of the lake to
`ops.run_versions` (run_date, run_id, step, table, version): read from the Delta logs' file names,
no Spark. `restore(env, run_date)` brings every table back to the versions recorded at the end
of that night's last step (Delta RESTORE, one new commit per table, history kept), and moves
tables created after it aside to `<lake>/_restored_away/`; the audit logs (`ops.run_versions`,
`ops.delivery_attempts`) are never rolled back. Then re-run the following nights.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from pathlib import Path

import pyarrow as pa

from lakehouse import lake
from lakehouse.config import Env

log = logging.getLogger(__name__)
RUN_VERSIONS = "ops.run_versions"
# logs every step appends to: never restored nor compared between lakes
AUDIT_TABLES = {RUN_VERSIONS, "ops.delivery_attempts", "ops.run_audit", "restricted.disposition_audit"}
SCHEMA = pa.schema([("run_date", pa.date32()), ("run_id", pa.string()), ("step", pa.string()),
                    ("table_name", pa.string()), ("version", pa.int64()), ("recorded_at", pa.timestamp("us"))])


def table_versions(env: Env) -> dict[str, int]:
    """`layer.table` → its latest committed version, for every Delta table of the lake."""
    out: dict[str, int] = {}
    for layer in lake.LAYERS:
        root = env.paths.lake / layer
        for folder in sorted(root.iterdir()) if root.is_dir() else []:
            latest = lake.version(env, f"{layer}.{folder.name}")
            if latest is not None:
                out[f"{layer}.{folder.name}"] = latest
    return out


def record_versions(env: Env, run_date: dt.date, run_id: str, step: str) -> None:
    """Append the versions every table has after `step` of the night `run_date`."""
    versions = {k: v for k, v in table_versions(env).items() if k not in AUDIT_TABLES}
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = [{"run_date": run_date, "run_id": run_id, "step": step, "table_name": name, "version": v,
             "recorded_at": now} for name, v in sorted(versions.items())]
    if rows:
        lake.append_arrow(pa.Table.from_pylist(rows, schema=SCHEMA), env, RUN_VERSIONS)


def versions_after(env: Env, run_date: dt.date) -> dict[str, int]:
    """The versions recorded at the end of the last step of night `run_date` (a clear error if none)."""
    if not lake.exists(env, RUN_VERSIONS):
        raise ValueError(f"no night has been recorded in {env.paths.lake} yet ({RUN_VERSIONS} is empty)")
    rows = [r for r in lake.read_arrow(env, RUN_VERSIONS).to_pylist() if r["run_date"] == run_date]
    if not rows:
        known = sorted({r["run_date"] for r in lake.read_arrow(env, RUN_VERSIONS, ["run_date"]).to_pylist()})
        raise ValueError(f"night {run_date} was never run on this lake; recorded nights: "
                         f"{', '.join(map(str, known[-10:]))}")
    last = max(r["recorded_at"] for r in rows)
    return {r["table_name"]: r["version"] for r in rows if r["recorded_at"] == last}


def restore(env: Env, run_date: dt.date) -> dict[str, tuple[int | None, int | None]]:
    """Roll every table back to the end of night `run_date`; returns table → (from, to) version,
    `to` None for a table moved aside because it did not exist then."""
    from deltalake import DeltaTable

    target = versions_after(env, run_date)
    current = {k: v for k, v in table_versions(env).items() if k not in AUDIT_TABLES}
    changes: dict[str, tuple[int | None, int | None]] = {}
    away = env.paths.lake / "_restored_away" / dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    for name, version in sorted(current.items()):
        want = target.get(name)
        if want is None:
            folder = lake.table_path(env, name)
            away.mkdir(parents=True, exist_ok=True)
            shutil.move(str(folder), str(away / name))
            changes[name] = (version, None)
            log.warning("%s did not exist after %s: moved aside to %s", name, run_date, away / name)
        elif want != version:
            DeltaTable(str(lake.table_path(env, name))).restore(want)
            changes[name] = (version, want)
    missing = sorted(set(target) - set(current))
    if missing:
        log.warning("tables recorded after %s but gone since (not restored): %s", run_date, ", ".join(missing))
    log.info("restored %d table(s) to the end of %s", len(changes), run_date)
    return changes


def moved_aside(env: Env) -> list[Path]:
    """Folders of tables moved aside by earlier restores."""
    root = env.paths.lake / "_restored_away"
    return sorted(root.glob("*/*")) if root.is_dir() else []

"""Which deliveries each silver table has applied, so a night standardises only what is new.

`ops.silver_applied` holds one row per silver table: the deliveries (source, extract date,
sequence, fingerprint) its rows were built from, the version of the logic that built them
and a signature of the lookups its standardisation joined (registries as known then).
`plan` compares that record with what the run date makes eligible:

- `skip`        — nothing new: the table stays as it is;
- `incremental` — only new deliveries: the applier re-collapses the groups they touch;
- `full`        — anything else (first build, new code or codes, a changed lookup, a delivery
                  replaced by a re-send or beyond the run date): rebuild the table from bronze.

Re-applying a delivery is harmless (rows are replaced by their lineage), so a night that
fails after writing a table but before saving this record redoes that table next time.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache

import pyarrow as pa

from lakehouse import lake
from lakehouse.config import CONF_DIR, REPO_ROOT, Env

TABLE = "ops.silver_applied"
Delivery = tuple[str, str, int, str]  # source, extract date (ISO), sequence, fingerprint
# what a silver table's rows depend on besides its deliveries: change any of these and
# every table is rebuilt once from bronze
LOGIC_FILES = ("jobs/silver_*.py", "lakehouse/standardise.py", "lakehouse/history.py",
               "lakehouse/identity.py", "lakehouse/bronze.py", "lakehouse/uscc.py")
LOGIC_CONF = ("codes.yaml", "sources.yaml", "identity.yaml")


@dataclass(frozen=True)
class Applied:
    """What one silver table was built from."""

    table: str
    logic: str
    lookups: str
    deliveries: frozenset[Delivery]


def plan(previous: Applied | None, now: Applied) -> tuple[str, frozenset[Delivery]]:
    """(`skip` | `incremental` | `full`, the deliveries to apply) for a table built as `previous`."""
    if previous is None or previous.logic != now.logic or previous.lookups != now.lookups:
        return "full", now.deliveries
    if not previous.deliveries <= now.deliveries:  # re-sent, or a re-run of an earlier date
        return "full", now.deliveries
    new = now.deliveries - previous.deliveries
    return ("incremental" if new else "skip"), frozenset(new)


@cache
def logic_version(key_fingerprint: str) -> str:
    """A digest of the code and code lists that shape silver rows, and of the pseudonym key."""
    h = hashlib.sha256(key_fingerprint.encode())
    files = sorted({p for pattern in LOGIC_FILES for p in REPO_ROOT.glob(pattern)})
    files += [CONF_DIR / name for name in LOGIC_CONF]
    for path in files:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def delivered(env: Env) -> list[dict]:
    """The deliveries log (ops.deliveries) as rows; empty before the first ingest."""
    if not lake.exists(env, "ops.deliveries"):
        return []
    return lake.read_arrow(env, "ops.deliveries", ["source", "extract_date", "sequence", "status", "fingerprint",
                                                   "files_json"]).to_pylist()


def eligible(log: list[dict], source: str, pattern: str, run_date: dt.date) -> frozenset[Delivery]:
    """LOADED deliveries of `source` up to `run_date` whose manifest lists a file like `pattern`."""
    regex = re.compile(fnmatch.translate(pattern))
    return frozenset(
        (r["source"], r["extract_date"].isoformat(), int(r["sequence"]), r["fingerprint"] or "")
        for r in log
        if r["source"] == source and r["status"] == "LOADED" and r["extract_date"] <= run_date
        and any(regex.match(f["name"]) for f in json.loads(r["files_json"] or "[]"))
    )


def load(env: Env) -> dict[str, Applied]:
    """The record of every silver table (empty before the first incremental build)."""
    if not lake.exists(env, TABLE):
        return {}
    out = {}
    for r in lake.read_arrow(env, TABLE).to_pylist():
        deliveries = frozenset((d[0], d[1], int(d[2]), d[3]) for d in json.loads(r["deliveries_json"]))
        out[r["silver_table"]] = Applied(r["silver_table"], r["logic"], r["lookups"], deliveries)
    return out


def save(env: Env, records: list[Applied], modes: dict[str, str], run_date: dt.date, run_id: str) -> None:
    """Record what each table of this run was built from, and how (one transaction)."""
    if not records:
        return
    rows = pa.table({
        "silver_table": [a.table for a in records],
        "mode": [modes[a.table] for a in records],
        "logic": [a.logic for a in records],
        "lookups": [a.lookups for a in records],
        "deliveries_json": [json.dumps(sorted(a.deliveries)) for a in records],
        "deliveries": pa.array([len(a.deliveries) for a in records], pa.int32()),
        "run_date": pa.array([run_date] * len(records), pa.date32()),
        "run_id": [run_id] * len(records),
    })
    lake.upsert_arrow(rows, env, TABLE, ["silver_table"])


def run_modes(env: Env, run_id: str) -> dict[str, str]:
    """How the run `run_id` brought each recorded table up to date: full or incremental, else skip
    (a skipped table keeps the record of an earlier run)."""
    if not lake.exists(env, TABLE):
        return {}
    rows = lake.read_arrow(env, TABLE, ["silver_table", "mode", "run_id"]).to_pylist()
    return {r["silver_table"]: r["mode"] if r["run_id"] == run_id else "skip" for r in rows}

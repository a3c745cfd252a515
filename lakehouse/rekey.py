"""Rotate the pseudonymisation key: every `person_ref` and `clue_id` of the lake rewritten at once.

`person_ref` = HMAC(key, 身份证号) and `clue_id` = sha256(person_ref|rule_code) (OUTPUTS.md), so
a new key gives every person and every clue a new id. Nightly tables are rebuilt from bronze with
whatever key the night has; what outlives a night must be translated: the clue history (first
seen, statuses), dispositions and training labels, and the lake's other tables so that the lake
is consistent before the next night. `rekey`:

1. checks the old key against the lake's fingerprint (keyguard) and that the new one differs;
2. maps old → new `person_ref` from `restricted.identity` (each stored ref is recomputed from its
   number with the old key first: a lake built with another key is refused) and old → new
   `clue_id` from `gold.risk_clue_history`;
3. rewrites the `person_ref` and `clue_id` columns of every Delta table of silver, gold,
   restricted, quarantine and ops (delta-rs, one overwrite commit per table, partitioning kept);
   a value missing from the maps stops the rekey before anything is written;
4. appends old → new clue ids to `restricted.clue_id_map` (dispositions delivered later with an
   old clue id, taken from an earlier export, are translated through it by the feedback step);
5. records the new key's fingerprint.

Then the new key replaces the old one in the secrets (file or environment) before the next run.
Earlier Delta versions keep the old ids: do not `lakehouse restore` to a night before a rekey.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from pathlib import Path

import pyarrow as pa

from lakehouse import keyguard, lake
from lakehouse.config import Env
from lakehouse.identity import person_ref

log = logging.getLogger(__name__)

CLUE_MAP = "restricted.clue_id_map"
LAYERS = ("silver", "gold", "restricted", "quarantine", "ops")
MAP_SCHEMA = pa.schema([("old_clue_id", pa.string()), ("new_clue_id", pa.string()),
                        ("rekeyed_at", pa.timestamp("us")), ("key_fingerprint", pa.string())])


class RekeyRefused(RuntimeError):
    """The rekey cannot be done consistently; nothing was written."""


def clue_id(ref: str, rule_code: str) -> str:
    """The clue id of jobs.rules_run.clue_id, in Python."""
    return hashlib.sha256(f"{ref}|{rule_code}".encode()).hexdigest()[:16]


def ref_map(env: Env, old_key: bytes, new_key: bytes) -> dict[str, str]:
    """old person_ref → new person_ref for every identity of the lake."""
    rows = lake.read_arrow(env, "restricted.identity", ["person_ref", "certno"]).to_pylist()
    out: dict[str, str] = {}
    for row in rows:
        if person_ref(row["certno"], old_key) != row["person_ref"]:
            raise RekeyRefused("restricted.identity was not built with the old key: nothing rewritten")
        out[row["person_ref"]] = person_ref(row["certno"], new_key)
    return out


def clue_map(env: Env, refs: dict[str, str]) -> dict[str, str]:
    """old clue_id → new clue_id for every clue the lake ever raised (and earlier rekeys' ids)."""
    out: dict[str, str] = {}
    if lake.exists(env, "gold.risk_clue_history"):
        for row in lake.read_arrow(env, "gold.risk_clue_history", ["clue_id", "person_ref", "rule_code"]).to_pylist():
            out[row["clue_id"]] = clue_id(refs[row["person_ref"]], row["rule_code"])
    if lake.exists(env, CLUE_MAP):  # ids of earlier keys still in dispositions: point them at the newest
        for row in lake.read_arrow(env, CLUE_MAP, ["old_clue_id", "new_clue_id"]).to_pylist():
            if row["new_clue_id"] in out:
                out[row["old_clue_id"]] = out[row["new_clue_id"]]
    return out


def _tables(env: Env) -> list[tuple[str, Path]]:
    found = []
    for layer in LAYERS:
        root = env.paths.lake / layer
        for folder in sorted(root.iterdir()) if root.is_dir() else []:
            if (folder / "_delta_log").is_dir():
                found.append((f"{layer}.{folder.name}", folder))
    return found


def _mapped(column: pa.ChunkedArray, mapping: dict[str, str], what: str) -> pa.Array:
    values = column.to_pylist()
    missing = {v for v in values if v is not None and v not in mapping}
    if missing:
        raise RekeyRefused(f"{what}: {len(missing)} ids not in the lake's identities or clue history")
    return pa.array([None if v is None else mapping[v] for v in values], type=column.type)


def rekey(env: Env, old_key: bytes, new_key: bytes) -> dict[str, int]:
    """Rewrite every person_ref and clue_id for `new_key`; returns rows rewritten per table."""
    from deltalake import DeltaTable, write_deltalake

    if keyguard.recorded(env) != keyguard.fingerprint(old_key):
        raise RekeyRefused("the old key is not the key this lake was built with (fingerprint differs)")
    if keyguard.fingerprint(new_key) == keyguard.fingerprint(old_key):
        raise RekeyRefused("the new key is the old key")
    refs = ref_map(env, old_key, new_key)
    clues = clue_map(env, refs)
    rewritten: dict[str, tuple[Path, pa.Table, list[str]]] = {}
    for name, folder in _tables(env):  # every table mapped in memory first: all or nothing
        dt_ = DeltaTable(str(folder))
        columns = [f.name for f in dt_.schema().fields]
        if "person_ref" not in columns and "clue_id" not in columns:
            continue
        table = lake.arrow_of(folder)
        for column, mapping in (("person_ref", refs), ("clue_id", clues)):
            if column in columns:
                index = table.schema.get_field_index(column)
                table = table.set_column(index, table.schema.field(index), _mapped(table[column], mapping,
                                                                                    f"{name}.{column}"))
        rewritten[name] = (folder, table, list(dt_.metadata().partition_columns))
    for name, (folder, table, partitions) in rewritten.items():
        write_deltalake(str(folder), table, mode="overwrite", partition_by=partitions or None)
        log.info("rekey: %s (%d rows)", name, table.num_rows)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    fingerprint = keyguard.fingerprint(new_key)
    rows = [{"old_clue_id": o, "new_clue_id": n, "rekeyed_at": now, "key_fingerprint": fingerprint}
            for o, n in sorted(clues.items()) if o != n]
    if rows:
        lake.append_arrow(pa.Table.from_pylist(rows, schema=MAP_SCHEMA), env, CLUE_MAP)
    keyguard.record(env, new_key, "rekey")
    return {name: t.num_rows for name, (_, t, _) in rewritten.items()}


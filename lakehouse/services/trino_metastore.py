"""Table entries of Trino's file metastore, written without going through Trino.

Registering a Delta table through Trino (`CALL system.register_table`) is checked as CREATE
TABLE and unregistering as DROP TABLE: whoever may do it may also create tables (CTAS) and drop
them. The catalog is read-only to every Trino user, so `lakehouse trino register` writes the
same entries the procedure writes (measured on Trino 476, `hive.metastore=file`) directly:

    <metastore>/.<schema>.trinoSchema       the schema
    <metastore>/<schema>/<table>/.trinoSchema   an EXTERNAL_TABLE whose location is the Delta folder

Only metadata: removing an entry never touches the table's data. Views stay Trino's business
(CREATE VIEW by the registrar, which owns only the view names of sql/views).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

WRITER_VERSION = "476"
_ENTRY = ".trinoSchema"


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def ensure_schema(metastore: Path, schema: str, owner: str) -> None:
    """Create the schema entry when missing (CREATE SCHEMA IF NOT EXISTS)."""
    entry = metastore / f".{schema}{_ENTRY}"
    (metastore / schema).mkdir(parents=True, exist_ok=True)
    if not entry.exists():
        _write_json(entry, {"writerVersion": WRITER_VERSION, "ownerName": owner, "ownerType": "USER",
                            "parameters": {}})


def register(metastore: Path, schema: str, table: str, location: str, owner: str) -> None:
    """An external Delta table `schema.table` at `location` (a `local:///…` URI)."""
    ensure_schema(metastore, schema, owner)
    folder = metastore / schema / table
    folder.mkdir(parents=True, exist_ok=True)
    _write_json(folder / _ENTRY, {
        "writerVersion": WRITER_VERSION,
        "owner": owner,
        "tableType": "EXTERNAL_TABLE",
        # Trino's Delta connector keeps this placeholder column; the schema comes from the Delta log
        "dataColumns": [{"name": "col", "type": "array<string>", "properties": {}}],
        "partitionColumns": [],
        "parameters": {"location": location, "spark.sql.sources.provider": "DELTA", "numFiles": "-1",
                       "totalSize": "-1", "EXTERNAL": "TRUE"},
        "storageFormat": "SEQUENCEFILE",
        "serdeParameters": {"path": location},
        "externalLocation": location,
        "columnStatistics": {},
    })


def unregister(metastore: Path, schema: str, table: str) -> None:
    """Remove the entry of `schema.table` (metadata only: the folder holds nothing else)."""
    folder = metastore / schema / table
    if not folder.is_dir():
        return
    if any(not p.name.startswith(".trino") for p in folder.iterdir()):
        raise RuntimeError(f"{folder} holds more than a metastore entry: not removed")
    shutil.rmtree(folder)


def tables(metastore: Path, schemas: list[str]) -> dict[str, str | None]:
    """`schema.table` → location of each external table entry (None when unreadable); views left out."""
    out: dict[str, str | None] = {}
    for schema in schemas:
        root = metastore / schema
        if not root.is_dir():
            continue
        for entry in sorted(root.glob(f"*/{_ENTRY}")):
            try:
                doc = json.loads(entry.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                out[f"{schema}.{entry.parent.name}"] = None
                continue
            if doc.get("tableType") == "EXTERNAL_TABLE":
                out[f"{schema}.{entry.parent.name}"] = doc.get("externalLocation") or doc.get(
                    "parameters", {}
                ).get("location")
    return out

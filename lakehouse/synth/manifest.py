"""`_MANIFEST.json` of a delivery: source, extract date, sequence, window and per-file
rows and sha256, counted as SOURCES.md says (the writers return those counts)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "_MANIFEST.json"


@dataclass
class FileEntry:
    """One data file of a delivery: its name relative to the delivery folder and row count."""

    name: str
    rows: int
    sha256: str = ""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_body(source: str, extract_date: dt.date, sequence: int, window: tuple[dt.date, dt.date],
                  files: list[FileEntry]) -> dict:
    """The manifest as a dict, files sorted by name."""
    return {
        "source": source,
        "extract_date": extract_date.isoformat(),
        "schema_version": 1,
        "sequence": sequence,
        "window": {"from": window[0].isoformat(), "to": window[1].isoformat()},
        "files": [{"name": f.name, "rows": f.rows, "sha256": f.sha256} for f in sorted(files, key=lambda f: f.name)],
    }


def write_manifest(folder: Path, body: dict) -> Path:
    """Write `_MANIFEST.json` (UTF-8, stable layout)."""
    path = folder / MANIFEST
    path.write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def seal(folder: Path, source: str, extract_date: dt.date, sequence: int, window: tuple[dt.date, dt.date],
         files: list[FileEntry]) -> dict:
    """Hash every file and write the manifest; returns its body."""
    for f in files:
        f.sha256 = sha256_file(folder / f.name)
    body = manifest_body(source, extract_date, sequence, window, files)
    write_manifest(folder, body)
    return body

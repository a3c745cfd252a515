"""Deliveries in the landing zone: discovery, manifest verification and parsing.

A delivery is one `<landing>/<source>/<extract_date>/` folder with its `_MANIFEST.json`.
It is accepted whole or rejected whole (`CorruptDelivery` naming source, date, file, reason).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lakehouse.errors import CorruptDelivery
from lakehouse.landing.readers import ParsedFile, Unreadable, read_file, read_limits
from lakehouse.sources import FileSpec, SourceSpec

log = logging.getLogger(__name__)
MANIFEST = "_MANIFEST.json"
MANIFEST_MAX_BYTES = 16 * 2**20


@dataclass(frozen=True)
class ManifestFile:
    name: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class Delivery:
    """A source/date folder and what its manifest declares."""

    source: str
    extract_date: dt.date
    path: Path
    sequence: int
    window_from: dt.date | None
    window_to: dt.date | None
    files: tuple[ManifestFile, ...]
    manifest_sha256: str


@dataclass
class LoadedFile:
    spec: FileSpec
    name: str
    parsed: ParsedFile


@dataclass
class LoadedDelivery:
    """A verified delivery, parsed, with any schema drift noted."""

    delivery: Delivery
    files: list[LoadedFile]
    drift: list[str] = field(default_factory=list)


DATE_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def folder_date(name: str) -> dt.date | None:
    """The extract date of a delivery folder named exactly `YYYY-MM-DD`, else None (never `20261121`
    or `2026-W47-6`, which `date.fromisoformat` would also accept: one date, one folder name)."""
    if not DATE_FOLDER.match(name):
        return None
    try:
        return dt.date.fromisoformat(name)
    except ValueError:
        return None


class _Bad(ValueError):
    """A manifest field that is not what SOURCES.md says; its message names the field."""


def _field(body: dict, name: str, kind: type | tuple[type, ...], default: object = None) -> object:
    value = body.get(name, default)
    # bool is an int in Python, 1e999 is a float: neither is a count
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise _Bad(f"field {name!r} must be {getattr(kind, '__name__', kind)}, not {type(value).__name__}")
    return value


def _date(value: object, name: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not DATE_FOLDER.match(value):
        raise _Bad(f"field {name!r} must be a YYYY-MM-DD date, not {str(value)[:40]!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise _Bad(f"field {name!r}: {exc}") from exc


def safe_name(folder: Path, name: object) -> str:
    """A manifest file name that stays inside the delivery folder: relative, no `..`, no symlink
    that leads out; raises `_Bad` otherwise."""
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
        raise _Bad(f"file name {str(name)[:80]!r} is not a relative path")
    parts = PurePosixPath(name).parts
    if PurePosixPath(name).is_absolute() or any(p in ("..", ".") for p in parts):
        raise _Bad(f"file name {name[:80]!r} leaves the delivery folder")
    root = folder.resolve()
    target = (folder / name).resolve()
    if root != target and root not in target.parents:
        raise _Bad(f"file name {name[:80]!r} resolves outside the delivery folder (symlink?)")
    return name


def _manifest_files(folder: Path, body: dict) -> tuple[ManifestFile, ...]:
    listed = _field(body, "files", list)
    if not listed:
        raise _Bad("field 'files' must list the delivered files")
    out = []
    for i, f in enumerate(listed):
        if not isinstance(f, dict):
            raise _Bad(f"files[{i}] must be an object")
        name = safe_name(folder, f.get("name"))
        rows = _field(f, "rows", int)
        if rows is None or rows < 0:
            raise _Bad(f"files[{i}] ({name}): 'rows' must be a non-negative integer")
        sha = _field(f, "sha256", str)
        if sha is None or not SHA256.match(sha.lower()):
            raise _Bad(f"files[{i}] ({name}): 'sha256' must be 64 hexadecimal characters")
        out.append(ManifestFile(name, rows, sha.lower()))
    if len({f.name for f in out}) != len(out):
        raise _Bad("a file is listed twice")
    return tuple(out)


def read_manifest(source: str, folder: Path) -> Delivery:
    """Parse and validate a delivery's manifest field by field; any problem makes the delivery
    corrupt with a reason naming the field."""
    date_text = folder.name
    path = folder / MANIFEST
    try:
        if path.is_symlink() or path.stat().st_size > MANIFEST_MAX_BYTES:
            raise _Bad(f"not a plain file of at most {MANIFEST_MAX_BYTES} bytes")
        raw = path.read_bytes()
        body = json.loads(raw.decode("utf-8"))
        if not isinstance(body, dict):
            raise _Bad("not a JSON object")
        window = _field(body, "window", dict) or {}
        sequence = _field(body, "sequence", int, 1)
        if sequence is None or sequence < 1:
            raise _Bad("field 'sequence' must be a positive integer")
        extract_date = folder_date(date_text)
        if extract_date is None:
            raise _Bad(f"folder {date_text!r} is not an extract date YYYY-MM-DD")
        delivery = Delivery(
            source=source,
            extract_date=extract_date,
            path=folder,
            sequence=sequence,
            window_from=_date(window.get("from"), "window.from"),
            window_to=_date(window.get("to"), "window.to"),
            files=_manifest_files(folder, body),
            manifest_sha256=hashlib.sha256(raw).hexdigest(),
        )
    except (ValueError, RecursionError, OSError) as exc:  # JSON, UTF-8 and field errors are ValueErrors
        raise CorruptDelivery(source, date_text, MANIFEST, f"unreadable manifest ({exc})"[:300]) from exc
    if body.get("source") not in (None, source) or str(body.get("extract_date", date_text)) != date_text:
        raise CorruptDelivery(source, date_text, MANIFEST, "manifest names another source or date")
    return delivery


def discover(landing: Path, source: str, up_to: dt.date) -> tuple[list[Path], list[dt.date]]:
    """Delivery folders of `source` with extract_date <= up_to (sorted), and dates lacking a manifest.

    A folder not named exactly YYYY-MM-DD is reported and never read.
    """
    root = landing / source
    folders: list[Path] = []
    incomplete: list[dt.date] = []
    if not root.is_dir():
        return [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        day = folder_date(folder.name)
        if day is None:
            log.warning("ignoring %s: folder name is not an extract date YYYY-MM-DD", folder)
            continue
        if day > up_to:
            continue
        if (folder / MANIFEST).exists():
            folders.append(folder)
        else:
            incomplete.append(day)
    return folders, incomplete


def load_delivery(delivery: Delivery, source: SourceSpec) -> LoadedDelivery:
    """Verify every listed file (sha256, format, encoding, row count) and parse it."""
    date_text = delivery.extract_date.isoformat()
    loaded = LoadedDelivery(delivery, [])
    listed = {f.name for f in delivery.files}
    for other in sorted(p for p in delivery.path.rglob("*") if p.is_file()):
        name = other.relative_to(delivery.path).as_posix()
        if name != MANIFEST and name not in listed:
            loaded.drift.append(f"unlisted file {name} ignored")
    limits = read_limits()
    for mf in delivery.files:
        path = delivery.path / mf.name
        if not path.is_file():
            raise CorruptDelivery(delivery.source, date_text, mf.name, "listed in the manifest but absent")
        size = path.stat().st_size
        if size > limits.file_bytes:
            raise CorruptDelivery(delivery.source, date_text, mf.name,
                                  f"{size} bytes, over the limit of {limits.file_bytes} (conf/ingest.yaml)")
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != mf.sha256:
            raise CorruptDelivery(
                delivery.source, date_text, mf.name, f"sha256 {digest[:12]}… differs from manifest {mf.sha256[:12]}…"
            )
        spec = source.spec_for(mf.name)
        if spec is None:
            loaded.drift.append(f"unknown file kind {mf.name} kept in landing, not loaded")
            continue
        try:
            parsed = read_file(data, spec, limits)
        except Unreadable as exc:
            raise CorruptDelivery(delivery.source, date_text, mf.name, str(exc)) from exc
        except Exception as exc:  # whatever a broken file makes a library raise: the delivery is corrupt
            raise CorruptDelivery(delivery.source, date_text, mf.name,
                                  f"unreadable as {spec.format}: {type(exc).__name__}: {exc}"[:300]) from exc
        if parsed.row_count != mf.rows:
            raise CorruptDelivery(
                delivery.source, date_text, mf.name, f"{parsed.row_count} rows, manifest says {mf.rows}"
            )
        if parsed.extra_columns:
            loaded.drift.append(f"{mf.name}: extra column(s) {', '.join(parsed.extra_columns)} kept in _extra")
        loaded.files.append(LoadedFile(spec, mf.name, parsed))
    return loaded

"""Deliveries in the landing zone: discovery, manifest verification and parsing.

A delivery is one `<landing>/<source>/<extract_date>/` folder with its `_MANIFEST.json`.
It is accepted whole or rejected whole (`CorruptDelivery` naming source, date, file, reason).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from lakehouse.errors import CorruptDelivery
from lakehouse.landing.readers import ParsedFile, Unreadable, read_file
from lakehouse.sources import FileSpec, SourceSpec

log = logging.getLogger(__name__)
MANIFEST = "_MANIFEST.json"


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


def _date(value: object) -> dt.date | None:
    return dt.date.fromisoformat(str(value)) if value else None


def read_manifest(source: str, folder: Path) -> Delivery:
    """Parse and sanity-check a delivery's manifest; a bad manifest makes the delivery corrupt."""
    date_text = folder.name
    path = folder / MANIFEST
    raw = path.read_bytes()
    try:
        body = json.loads(raw.decode("utf-8"))
        files = tuple(ManifestFile(f["name"], int(f["rows"]), str(f["sha256"]).lower()) for f in body["files"])
        window = body.get("window") or {}
        delivery = Delivery(
            source=source,
            extract_date=dt.date.fromisoformat(date_text),
            path=folder,
            sequence=int(body.get("sequence") or 1),
            window_from=_date(window.get("from")),
            window_to=_date(window.get("to")),
            files=files,
            manifest_sha256=hashlib.sha256(raw).hexdigest(),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise CorruptDelivery(source, date_text, MANIFEST, f"unreadable manifest ({exc})") from exc
    if body.get("source") not in (None, source) or str(body.get("extract_date", date_text)) != date_text:
        raise CorruptDelivery(source, date_text, MANIFEST, "manifest names another source or date")
    return delivery


def discover(landing: Path, source: str, up_to: dt.date) -> tuple[list[Path], list[dt.date]]:
    """Delivery folders of `source` with extract_date <= up_to (sorted), and dates lacking a manifest."""
    root = landing / source
    folders: list[Path] = []
    incomplete: list[dt.date] = []
    if not root.is_dir():
        return [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            day = dt.date.fromisoformat(folder.name)
        except ValueError:
            log.warning("ignoring %s: folder name is not an extract date", folder)
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
    for mf in delivery.files:
        path = delivery.path / mf.name
        if not path.is_file():
            raise CorruptDelivery(delivery.source, date_text, mf.name, "listed in the manifest but absent")
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
            parsed = read_file(data, spec)
        except Unreadable as exc:
            raise CorruptDelivery(delivery.source, date_text, mf.name, str(exc)) from exc
        if parsed.row_count != mf.rows:
            raise CorruptDelivery(
                delivery.source, date_text, mf.name, f"{parsed.row_count} rows, manifest says {mf.rows}"
            )
        if parsed.extra_columns:
            loaded.drift.append(f"{mf.name}: extra column(s) {', '.join(parsed.extra_columns)} kept in _extra")
        loaded.files.append(LoadedFile(spec, mf.name, parsed))
    return loaded

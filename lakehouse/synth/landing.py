"""Writing the deliveries: one folder per source/extract date (and superseded first
deliveries of re-sent dates under `superseded/`), sealed with their manifest."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lakehouse.synth.context import Rows, Source
from lakehouse.synth.corruption import corrupt
from lakehouse.synth.delivery import Ledger, rows_for
from lakehouse.synth.manifest import FileEntry, seal
from lakehouse.synth.schedule import Delivery, Schedule
from lakehouse.synth.tables import EventTable


@dataclass
class Written:
    """A delivery on disk."""

    delivery: Delivery
    folder: Path
    files: list[FileEntry]
    corruption: dict[str, str] | None


def delivery_folder(out: Path, d: Delivery) -> Path:
    """`landing/<source>/<date>/` for the version left in the landing zone, else
    `superseded/seq-<n>/<source>/<date>/` (a first delivery replaced by its re-send): each
    `superseded/seq-<n>/` is itself shaped like a landing zone."""
    date = d.extract_date.isoformat()
    if d.final:
        return out / "landing" / d.source / date
    return out / "superseded" / f"seq-{d.sequence}" / d.source / date


def write_deliveries(out: Path, schedule: Schedule, sources: dict[str, Source], tables: dict[str, list[EventTable]],
                     ledger: Ledger, say: Callable[[str], None]) -> list[Written]:
    """Write every delivery of the schedule, in arrival order."""
    for sub in ("landing", "superseded"):
        shutil.rmtree(out / sub, ignore_errors=True)
    written: list[Written] = []
    snapshots: dict[tuple[str, int], dict[str, Rows]] = {}
    current_night = -1
    for d in schedule.deliveries:
        if d.arrives != current_night:
            current_night = d.arrives
            # a re-send arrives the night after its date: keep only the snapshots it may share
            snapshots = {k: v for k, v in snapshots.items() if k[1] >= current_night - 1}
        folder = delivery_folder(out, d)
        folder.mkdir(parents=True)
        registry = None
        if d.registry:
            registry = snapshots.get((d.source, d.night))
            if registry is None:
                registry = snapshots[(d.source, d.night)] = sources[d.source].snapshot(d)
        events = {t.file: rows_for(ledger, t, d) for t in tables[d.source]}
        files = sources[d.source].write(folder, d, registry, events)
        body = seal(folder, d.source, d.extract_date, d.sequence, d.window, files)
        broken = corrupt(folder, d, body) if d.corruption is not None else None
        written.append(Written(d, folder, files, broken))
        rows = sum(f.rows for f in files)
        label = f" seq {d.sequence}" if d.sequence > 1 else ""
        say(f"{d.extract_date} {d.source:<16}{label} {len(files):4d} files {rows:9d} rows"
            f"{' (registry)' if registry else ''}{' CORRUPT ' + d.corruption.kind if d.corruption else ''}")
    return written


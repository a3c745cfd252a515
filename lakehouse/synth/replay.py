"""Replaying deliveries night by night: the landing zone as it looked after a given night.

The generated `landing/` is the state after the last night: a re-sent date shows only its
latest sequence. `truth/deliveries.csv` records every delivery with the night it arrived and
where it is kept (superseded first deliveries under `superseded/`), so a test can stage the
zone as of any night and watch a re-send replace a delivery.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path


def stage_landing(city: Path, night: dt.date, dest: Path) -> list[tuple[str, str, int]]:
    """Copy into `dest` (a landing root) each source/date's latest sequence arrived by `night`.

    Returns the (source, extract_date, sequence) staged. Existing folders in `dest` are replaced.
    """
    with (city / "truth" / "deliveries.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    latest: dict[tuple[str, str], dict[str, str]] = {}
    for row in rows:
        if dt.date.fromisoformat(row["arrives_on"]) > night:
            continue
        key = (row["source"], row["extract_date"])
        if key not in latest or int(latest[key]["sequence"]) < int(row["sequence"]):
            latest[key] = row
    staged = []
    for (source, date), row in sorted(latest.items()):
        target = dest / source / date
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(city / row["location"], target)
        staged.append((source, date, int(row["sequence"])))
    return staged

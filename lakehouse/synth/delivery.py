"""Cutting event tables into deliveries, and the ledger of when each record first arrived.

An event of business day d is normally delivered the night after d (history: the initial
load). Some records come late, some are re-sent later (exact duplicates); a missing night
pushes its records to the next delivery; the records of a corrupt delivery come again in
its re-send or in the source's next delivery. The ledger keeps, per record, the first night
a *valid* delivery brought it: the basis of every `detectable_from` in the truth.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lakehouse.synth.quirks import QuirkLog
from lakehouse.synth.rng import stream, unit
from lakehouse.synth.schedule import Delivery, Schedule
from lakehouse.synth.settings import Settings
from lakehouse.synth.tables import EventTable

NOT_DELIVERED = -1


@dataclass
class Ledger:
    """First valid arrival night of every event record and every registry snapshot."""

    schedule: Schedule
    arrival: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    rows: dict[tuple[str, str], dict[tuple[str, int, int], np.ndarray]] = field(default_factory=dict)

    _snapshots: dict[tuple[str, dt.date], int | None] = field(default_factory=dict)

    def snapshot(self, source: str, as_of: dt.date) -> int | None:
        """First arrival of a valid registry snapshot whose state date is on or after `as_of`."""
        key = (source, as_of)
        if key not in self._snapshots:
            nights = [d.arrives for d in self.schedule.deliveries
                      if d.source == source and d.registry and d.valid and d.as_of >= as_of]
            self._snapshots[key] = min(nights) if nights else None
        return self._snapshots[key]


def _expand(source: str, rid: np.ndarray, night: np.ndarray, schedule: Schedule, seed: int,
            file: str) -> dict[tuple[str, int, int], list[np.ndarray]]:
    """Map (rid, nominal night) copies onto actual deliveries."""
    out: dict[tuple[str, int, int], list[np.ndarray]] = defaultdict(list)
    order = np.argsort(night, kind="stable")
    rid, night = rid[order], night[order]
    bounds = np.flatnonzero(np.diff(night)) + 1
    queue = [(int(n[0]), r) for r, n in zip(np.split(rid, bounds), np.split(night, bounds), strict=True) if len(r)]
    while queue:
        nominal, rids = queue.pop()
        actual = schedule.next_night(source, nominal)
        if actual is None:
            continue  # beyond the last night: never delivered in this city
        first = schedule.get(source, actual, 1)
        assert first is not None
        if first.omitted_share:
            keep = np.asarray([unit(seed, "omit", source, file, int(r)) >= first.omitted_share for r in rids], bool)
            out[first.key].append(rids[keep])
        else:
            out[first.key].append(rids)
        resend = schedule.get(source, actual, 2)
        if resend is not None:
            out[resend.key].append(rids)
        elif first.corruption is not None:
            queue.append((actual + 1, rids))  # they come again with the next delivery
    return out


def assign_table(table: EventTable, schedule: Schedule, settings: Settings, seed: int, ledger: Ledger,
                 log: QuirkLog) -> None:
    """Decide which deliveries carry each row of `table` and record first arrivals."""
    source, file = table.key
    tl = schedule.timeline
    frame = table.frame()
    n = len(frame)
    days = frame["_day"].to_numpy()
    if table.parent is not None:
        parent_rows = ledger.rows[table.parent.key]
        parent_of = np.asarray(table.parent_rid, dtype=np.int64)
        by_parent = pd.Series(np.arange(n), index=parent_of).sort_index()
        rows: dict[tuple[str, int, int], np.ndarray] = {}
        for key, prids in parent_rows.items():
            hit = by_parent.index.isin(prids)
            rows[key] = np.sort(by_parent.to_numpy()[hit])
    else:
        cfg = settings.delivery
        rng = stream(seed, f"delivery/{source}/{file}")
        in_history = days >= tl.history[source].toordinal()
        nominal = np.maximum(0, days - tl.start.toordinal() + 1)
        late = (nominal > 0) & (rng.random(n) < cfg["late_rate"][source])
        nominal = nominal + late * rng.integers(1, int(cfg["late_max_nights"]) + 1, n)
        dup = rng.random(n) < cfg["resend_rate"][source]
        dup_night = nominal + rng.integers(1, 4, n)
        rid = np.arange(n)
        all_rid = np.concatenate([rid[in_history], rid[in_history & dup]])
        all_night = np.concatenate([nominal[in_history], dup_night[in_history & dup]])
        expanded = _expand(source, all_rid, all_night, schedule, seed, file)
        rows = {key: np.unique(np.concatenate(parts)) for key, parts in expanded.items()}
        for r in rid[late][:20]:
            log.add("late_record", source, file, f"row {int(r)}",
                    note=f"business day {dt.date.fromordinal(int(days[r]))}, delivered nights later")
        for r in rid[in_history & dup][:20]:
            log.add("exact_resend", source, file, f"row {int(r)}",
                    note=f"business day {dt.date.fromordinal(int(days[r]))}, delivered again later")
    arrival = np.full(n, NOT_DELIVERED, dtype=np.int64)
    for key, rids in rows.items():
        d = schedule.get(*key)
        assert d is not None
        if not d.valid or not len(rids):
            continue
        current = arrival[rids]
        arrival[rids] = np.where((current == NOT_DELIVERED) | (current > d.arrives), d.arrives, current)
    ledger.rows[table.key] = rows
    ledger.arrival[table.key] = arrival


def rows_for(ledger: Ledger, table: EventTable, delivery: Delivery) -> pd.DataFrame:
    """The rows of `table` in one delivery, ordered by business day then rid."""
    rids = ledger.rows.get(table.key, {}).get(delivery.key)
    frame = table.frame()
    if rids is None or not len(rids):
        return frame.iloc[0:0]
    part = frame.iloc[rids]
    return part.sort_values(["_day"], kind="stable")

"""What every source writer shares: the city, settings, spellings, the quirk log and the
per-night file layout (schema drift, shuffled headers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from lakehouse.synth.formats import write_text_table
from lakehouse.synth.manifest import FileEntry
from lakehouse.synth.policy import Policy
from lakehouse.synth.population import City, Person
from lakehouse.synth.quirks import QuirkLog, Speller
from lakehouse.synth.rng import unit
from lakehouse.synth.schedule import Delivery
from lakehouse.synth.settings import Settings
from lakehouse.synth.tables import EventTable

Rows = list[tuple[Any, ...]]


@dataclass
class Context:
    """Generation context passed to every source."""

    city: City
    settings: Settings
    policy: Policy
    speller: Speller
    log: QuirkLog
    seed: int

    def sex(self, p: Person, source: str, file: str, codes: tuple[str, str], unspecified: tuple[str, ...]) -> str:
        """A sex code as `source` writes it; never contradicting the ID of a pensioner, whose
        legal retirement age depends on it (the ID decides, but keep R03 unambiguous)."""
        pensioner = p.retired_on is not None and p.retired_on <= self.city.timeline.sim_end
        return self.speller.sex(p, source, file, codes, unspecified, allow_contradiction=not pensioner)

    def _from_night(self, night: int) -> int:
        return min(int(night), self.city.timeline.days - 1)

    def columns(self, source: str, file: str, columns: Sequence[str], delivery: Delivery) -> tuple[list[str], dict]:
        """The header of a file in one delivery (maybe reordered) and extra drift values."""
        cols = list(columns)
        extra: dict[str, Any] = {}
        date = delivery.extract_date.isoformat()
        for spec in self.settings.delivery["shuffled"]:
            if (spec["source"], spec["file"]) == (source, file) and delivery.night >= self._from_night(spec["night"]):
                cols.sort(key=lambda c: unit(self.seed, "shuffle", source, file, c))
                self.log.add("shuffled_columns", source, file, date, ",".join(cols))
        for spec in self.settings.delivery["drift"]:
            if (spec["source"], spec["file"]) == (source, file) and delivery.night >= self._from_night(spec["night"]):
                extra[str(spec["column"])] = spec["value"]
                self.log.add("schema_drift_column", source, file, date, str(spec["column"]))
        return cols, extra


class Source(Protocol):
    """A source generator: event tables, registry snapshots and the writer of a delivery."""

    name: str

    def events(self) -> list[EventTable]:
        """Every event table of the source (filled once)."""
        ...

    def snapshot(self, delivery: Delivery) -> dict[str, Rows]:
        """Registry files as of the end of the delivery's window."""
        ...

    def write(self, folder: Path, delivery: Delivery, registry: dict[str, Rows] | None,
              events: dict[str, pd.DataFrame]) -> list[FileEntry]:
        """Write one delivery's data files; returns them with their row counts."""
        ...


def with_layout(columns: Sequence[str], cols: Sequence[str], extra: dict[str, Any],
                rows: Any) -> tuple[list[str], list[list[Any]]]:
    """Reorder row values from `columns` to `cols` and append the extra drift columns."""
    index = [list(columns).index(c) for c in cols]
    header = list(cols) + list(extra)
    tail = list(extra.values())
    return header, [[row[i] for i in index] + tail for row in rows]


def frame_rows(frame: pd.DataFrame, columns: Sequence[str]) -> Rows:
    """Rows of an event frame in contract column order."""
    return list(frame[list(columns)].itertuples(index=False, name=None))


def write_csv_files(ctx: Context, folder: Path, delivery: Delivery, columns: dict[str, tuple[str, ...]],
                    registry: dict[str, Rows] | None, events: dict[str, pd.DataFrame], *,
                    encoding: str, newline: str = "\n") -> list[FileEntry]:
    """The one CSV writer of the header CSV sources (pension GBK, public security UTF-8, transit)."""
    files: dict[str, Rows] = dict(registry or {})
    files.update({name: frame_rows(frame, columns[name]) for name, frame in events.items()})
    out = []
    for name, rows in files.items():
        cols, extra = ctx.columns(delivery.source, name, columns[name], delivery)
        header, body = with_layout(columns[name], cols, extra, rows)
        out.append(FileEntry(name, write_text_table(folder / name, header, body, encoding=encoding, newline=newline)))
    return out

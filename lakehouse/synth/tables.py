"""In-memory event tables: the rows of one event file with who and when each row is about."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

META = ("_pid", "_day", "_tag")  # person index (-1 none), business day (ordinal), quirk/scenario tag


class EventTable:
    """Rows of one event file (`source`/`file`) before they are cut into deliveries.

    A row's id (`rid`) is its position; `day` is the business day whose window delivers it.
    Rows of a `parent` table (settlement details) travel with their parent row.
    """

    def __init__(self, source: str, file: str, columns: Sequence[str], parent: EventTable | None = None) -> None:
        self.source, self.file, self.columns, self.parent = source, file, tuple(columns), parent
        self._chunks: list[list[tuple[Any, ...]] | pd.DataFrame] = []
        self._size = 0
        self._frame: pd.DataFrame | None = None
        self.parent_rid: list[int] = []

    @property
    def key(self) -> tuple[str, str]:
        """(source, file) of the table."""
        return self.source, self.file

    def __len__(self) -> int:
        return self._size

    def add(self, values: Sequence[Any], pid: int, day: dt.date, tag: str = "", parent_rid: int = -1) -> int:
        """Append one row; returns its rid."""
        if self._frame is not None:
            raise RuntimeError(f"{self.file}: table already frozen")
        if len(values) != len(self.columns):
            raise ValueError(f"{self.file}: {len(values)} values for {len(self.columns)} columns")
        if not self._chunks or isinstance(self._chunks[-1], pd.DataFrame):
            self._chunks.append([])
        chunk = self._chunks[-1]
        assert isinstance(chunk, list)
        chunk.append((*values, pid, day.toordinal(), tag))
        if self.parent is not None:
            self.parent_rid.append(parent_rid)
        self._size += 1
        return self._size - 1

    def add_frame(self, frame: pd.DataFrame) -> range:
        """Append many rows at once (columns plus `_pid`, `_day` as ordinals, `_tag`)."""
        if self.parent is not None:
            raise ValueError("column batches are not supported for child tables")
        self._chunks.append(frame[list(self.columns) + list(META)].reset_index(drop=True))
        first = self._size
        self._size += len(frame)
        return range(first, self._size)

    def frame(self) -> pd.DataFrame:
        """All rows as a DataFrame indexed by rid (built once; the table is then frozen)."""
        if self._frame is None:
            cols = list(self.columns) + list(META)
            parts = [c if isinstance(c, pd.DataFrame) else pd.DataFrame.from_records(c, columns=cols)
                     for c in self._chunks if len(c)]
            self._frame = (pd.concat(parts, ignore_index=True) if parts
                           else pd.DataFrame({c: pd.Series(dtype=object) for c in cols}))
            self._frame["_day"] = self._frame["_day"].astype(np.int64)
            self._frame["_pid"] = self._frame["_pid"].astype(np.int64)
        return self._frame


"""Measuring one stage of a run: wall and CPU time, peak memory, I/O, Delta commits and files.

Everything is read from the operating system and the lake folder, never from the code under
measurement: CPU and memory of this process and its children (the Spark JVM and its Python
workers), bytes read and written through system calls, and the lake's Delta log and data files
before and after the stage.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


def _family() -> list[psutil.Process]:
    me = psutil.Process()
    return [me, *me.children(recursive=True)]


class PeakMemory:
    """Samples the RSS of this process and its children (the Spark JVM, Python workers) in a thread."""

    def __init__(self, interval: float = 0.25) -> None:
        self._interval, self.peak, self._stop = interval, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def rss() -> int:
        total = 0
        for p in _family():
            with contextlib.suppress(psutil.Error):  # a child may exit between listing and reading
                total += p.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(self._interval)

    def __enter__(self) -> PeakMemory:
        self.peak = self.rss()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True)
class Counters:
    """Cumulative CPU seconds and bytes read/written of this process and its live children."""

    cpu: float
    read: int
    written: int

    @staticmethod
    def now() -> Counters:
        cpu = read = written = 0.0
        for p in _family():
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                cpu += t.user + t.system + t.children_user + t.children_system
                io = p.io_counters()
                read += getattr(io, "read_chars", io.read_bytes)
                written += getattr(io, "write_chars", io.write_bytes)
        return Counters(cpu, int(read), int(written))


@dataclass(frozen=True)
class Footprint:
    """Delta commits, data files and their bytes under a lake folder."""

    commits: int
    files: int
    bytes: int

    @staticmethod
    def of(lake: Path) -> Footprint:
        commits = files = size = 0
        if lake.is_dir():
            for p in lake.rglob("*"):
                if p.suffix == ".json" and p.parent.name == "_delta_log":
                    commits += 1
                elif p.suffix == ".parquet" and "_delta_log" not in p.parts and "_staging" not in p.parts:
                    files += 1
                    size += p.stat().st_size
        return Footprint(commits, files, size)


@dataclass
class Measured:
    """What one stage cost."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    read_mb: float = 0.0
    written_mb: float = 0.0
    delta_commits: int = 0
    files_added: int = 0
    lake_mb_added: float = 0.0


@contextlib.contextmanager
def measure(lake: Path):  # type: ignore[no-untyped-def]
    """`with measure(lake) as m:` fills `m` (a Measured) when the block ends."""
    out = Measured()
    before, fp = Counters.now(), Footprint.of(lake)
    t0 = time.monotonic()
    with PeakMemory() as mem:
        yield out
    after, fp2 = Counters.now(), Footprint.of(lake)
    out.seconds = time.monotonic() - t0
    out.cpu_seconds = max(after.cpu - before.cpu, 0.0)
    out.peak_rss_mb = mem.peak / 2**20
    out.read_mb = max(after.read - before.read, 0) / 2**20
    out.written_mb = max(after.written - before.written, 0) / 2**20
    out.delta_commits = fp2.commits - fp.commits
    out.files_added = fp2.files - fp.files
    out.lake_mb_added = (fp2.bytes - fp.bytes) / 2**20

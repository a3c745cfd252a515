"""Which deliveries exist: per source and night, registry snapshot or not, missing nights,
re-sends (sequence 2) and corrupt deliveries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from lakehouse.synth.settings import SOURCES, Settings
from lakehouse.synth.timeline import Timeline

CORRUPTION_KINDS = ("sha256_mismatch", "row_count_mismatch", "truncated_gzip", "wrong_encoding")
REGISTRY_FILES = {"ab01_employer.csv", "ac01_person.csv", "ac20_enrollment.csv", "psn_insu.jsonl.gz", "czrk.csv",
                  "dibao.xlsx", "card_holder.csv", "acct.txt"}


@dataclass(frozen=True)
class Corruption:
    """How a delivery is broken, and whether a correct re-send follows."""

    kind: str
    file: str  # a file name, or a pattern such as `txn_*.txt` (the last matching file)
    resend: bool = False


@dataclass
class Delivery:
    """One `<source>/<extract_date>/` delivery with its sequence and arrival night."""

    source: str
    night: int
    extract_date: dt.date
    window: tuple[dt.date, dt.date]
    sequence: int = 1
    arrives: int = 0  # night it lands (a re-send lands after its extract date)
    registry: bool = False
    corruption: Corruption | None = None
    omitted_share: float = 0.0  # a first delivery that missed records (then re-sent)
    final: bool = True  # the version left in the landing zone (else kept under superseded/)

    @property
    def key(self) -> tuple[str, int, int]:
        """(source, night, sequence)."""
        return self.source, self.night, self.sequence

    @property
    def valid(self) -> bool:
        """A pipeline can load it."""
        return self.corruption is None

    @property
    def as_of(self) -> dt.date:
        """State date of its registry snapshot (end of the window)."""
        return self.window[1]


@dataclass
class Schedule:
    """All deliveries of a city, plus the special nights and what could not be placed."""

    timeline: Timeline
    deliveries: list[Delivery]
    missing: list[tuple[str, int]]
    skipped: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_key = {d.key: d for d in self.deliveries}

    def get(self, source: str, night: int, sequence: int = 1) -> Delivery | None:
        """The delivery of a source/night/sequence, if any."""
        return self._by_key.get((source, night, sequence))

    def next_night(self, source: str, night: int) -> int | None:
        """First night >= `night` on which `source` delivers."""
        for n in range(max(0, night), self.timeline.days):
            if (source, n, 1) in self._by_key:
                return n
        return None

    def extract_dates(self, source: str) -> list[dt.date]:
        """Extract dates of a source's deliveries."""
        return sorted({d.extract_date for d in self.deliveries if d.source == source})


def _placer(days: int) -> Callable[[str, int], int | None]:
    taken: dict[str, set[int]] = {s: set() for s in SOURCES}

    def place(source: str, wanted: int) -> int | None:
        """A night in 1 … days-2 near `wanted` not yet special for this source."""
        lo, hi = 1, days - 2
        if hi < lo:
            return None
        clamped = min(max(wanted, lo), hi)
        for night in sorted(range(lo, hi + 1), key=lambda n: (abs(n - clamped), n)):
            if night not in taken[source]:
                taken[source].add(night)
                return night
        return None

    return place


def plan_schedule(timeline: Timeline, settings: Settings, corrupt: bool) -> Schedule:
    """Lay out every delivery of the city."""
    cfg = settings.delivery
    place = _placer(timeline.days)
    skipped: list[str] = []
    corruptions: dict[tuple[str, int], Corruption] = {}
    if corrupt:
        for spec in cfg["corrupt"]:
            if spec["kind"] not in CORRUPTION_KINDS:
                raise ValueError(f"unknown corruption kind {spec['kind']!r}")
            night = place(spec["source"], int(spec["night"]))
            if night is None:
                skipped.append(f"corrupt {spec['source']} {spec['kind']}: the city has too few nights")
                continue
            corruptions[(spec["source"], night)] = Corruption(spec["kind"], spec["file"], bool(spec.get("resend")))
    partial: dict[tuple[str, int], float] = {}
    for spec in cfg["resend"]:
        night = place(spec["source"], int(spec["night"]))
        if night is None:
            skipped.append(f"re-send of {spec['source']}: the city has too few nights")
            continue
        partial[(spec["source"], night)] = float(spec["omitted_share"])
    missing: list[tuple[str, int]] = []
    for spec in cfg["missing"]:
        night = place(spec["source"], int(spec["night"]))
        if night is None:
            skipped.append(f"missing night of {spec['source']}: the city has too few nights")
            continue
        missing.append((spec["source"], night))

    every = int(cfg["registry_every_days"])
    deliveries: list[Delivery] = []
    for source in SOURCES:
        offset = int(cfg["registry_offset"][source]) % every
        for night in range(timeline.days):
            if (source, night) in missing:
                continue
            c = corruptions.get((source, night))
            registry = night == 0 or night % every == offset or (c is not None and c.file in REGISTRY_FILES)
            window = timeline.window(source, night)
            first = Delivery(source, night, timeline.extract_date(night), window, arrives=night, registry=registry,
                             corruption=c, omitted_share=partial.get((source, night), 0.0))
            deliveries.append(first)
            if (c is not None and c.resend) or (source, night) in partial:
                first.final = False
                deliveries.append(Delivery(source, night, first.extract_date, window, sequence=2, arrives=night + 1,
                                           registry=registry))
    deliveries.sort(key=lambda d: (d.arrives, SOURCES.index(d.source), d.night, d.sequence))
    return Schedule(timeline, deliveries, missing, skipped)

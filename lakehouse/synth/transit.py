"""`transit` — citizen-card company: card_holder.csv (registry) and taps/part-*.parquet.

Elderly people mostly ride on a 05 老年卡; some cards are anonymous; a lost card (`L`)
gets a replacement. Taps stop at death, abroad, in hospital and after a card is lost or
cancelled; devices sometimes send the same tap twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lakehouse.synth.context import Context, Rows, write_csv_files
from lakehouse.synth.formats import write_taps_parquet
from lakehouse.synth.manifest import FileEntry
from lakehouse.synth.population import Person
from lakehouse.synth.rng import stream, unit
from lakehouse.synth.schedule import Delivery
from lakehouse.synth.tables import EventTable
from lakehouse.synth.timeline import add_months

SOURCE = "transit"
CARD_COLUMNS = ("card_no", "holder_certno", "holder_name", "card_type", "issue_date", "status")
TAP_COLUMNS = ("card_no", "tap_time", "line_id", "stop_id", "device_id", "fare_cents")
EPOCH = dt.date(1970, 1, 1).toordinal()
MS_PER_DAY = 86_400_000
N_LINES, N_STOPS = 320, 60
# Line, stop and gate/validator names: every third line is a metro line (gates), the rest buses.
LINE_IDS = np.asarray([f"{'M' if k % 3 == 0 else 'B'}{k + 1:03d}" for k in range(N_LINES)], dtype=object)
STOP_IDS = np.asarray([f"{LINE_IDS[k]}-{s + 1:03d}" for k in range(N_LINES) for s in range(N_STOPS)], dtype=object)
DEVICE_IDS = np.asarray([f"D{stop}-{'G1' if stop.startswith('M') else 'V1'}" for stop in STOP_IDS], dtype=object)


@dataclass
class Card:
    """A citizen card; `pid` -1 for an anonymous card."""

    card_no: str
    pid: int
    card_type: str
    issue: dt.date
    lost_on: dt.date | None = None
    cancelled_on: dt.date | None = None

    def status(self, as_of: dt.date) -> str:
        """A 正常 / L 挂失 / C 注销 on `as_of`."""
        if self.cancelled_on is not None and self.cancelled_on <= as_of:
            return "C"
        if self.lost_on is not None and self.lost_on <= as_of:
            return "L"
        return "A"

    def usable_until(self) -> dt.date | None:
        """Last day the card can be used (the day before it is lost or cancelled)."""
        ends = [d for d in (self.lost_on, self.cancelled_on) if d is not None]
        return min(ends) - dt.timedelta(days=1) if ends else None


class Transit:
    """Generator and writer of the `transit` source."""

    name = SOURCE

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rng = stream(ctx.seed, SOURCE)
        self.cards: list[Card] = []
        self.by_person: dict[int, list[Card]] = {}
        self.taps = EventTable(SOURCE, "taps", TAP_COLUMNS)
        self._build_cards()

    # -- cards --------------------------------------------------------------------------
    def _new_card(self, pid: int, card_type: str, issue: dt.date) -> Card:
        card = Card(f"33{(len(self.cards) * 7_919_113 + 1_234_567) % 10**10:010d}", pid, card_type, issue)
        self.cards.append(card)
        if pid >= 0:
            self.by_person.setdefault(pid, []).append(card)
        return card

    def _issue_between(self, lo: dt.date, hi: dt.date) -> dt.date | None:
        if hi < lo:
            return None
        return lo + dt.timedelta(days=int(self.rng.integers(0, (hi - lo).days + 1)))

    def _build_cards(self) -> None:
        ctx, cfg = self.ctx, self.ctx.settings.transit
        tl, seed = ctx.city.timeline, ctx.seed
        last_issue = tl.sim_end - dt.timedelta(days=10)
        for p in ctx.city.persons:
            end = min(last_issue, p.in_city_until() or last_issue)
            sixty = add_months(p.birth, 60 * 12)
            elderly = sixty <= end and "no_card05" not in p.flags and (
                unit(seed, "card05", p.pid) < cfg["elderly_card_share"] or "card05" in p.flags)
            if elderly:
                issue = self._issue_between(max(sixty, dt.date(2008, 1, 1)), min(end, sixty + dt.timedelta(days=400)))
                if "card05" in p.flags:  # planted: the card must exist well before the transit history
                    issue = min(issue or end, tl.history[SOURCE] - dt.timedelta(days=30))
                if issue:
                    self._new_card(p.pid, "05", issue)
            share = cfg["normal_card_share"] * (0.3 if elderly else 1.0)
            if p.age_on(end) >= 7 and (unit(seed, "card01", p.pid) < share or "card01" in p.flags):
                issue = self._issue_between(max(add_months(p.birth, 84), dt.date(2005, 1, 1)), end)
                if "card01" in p.flags:
                    issue = min(issue or end, tl.history[SOURCE] - dt.timedelta(days=30))
                if issue:
                    self._new_card(p.pid, "01", issue)
            if p.age_on(end) >= 16 and unit(seed, "card06", p.pid) < cfg["care_card_share"]:
                issue = self._issue_between(max(add_months(p.birth, 16 * 12), dt.date(2005, 1, 1)), end)
                if issue:
                    self._new_card(p.pid, "06", issue)
        for card in list(self.cards):
            self._lose_or_cancel(card)
        for _ in range(round(len(ctx.city.persons) * cfg["anonymous_cards_per_person"])):
            issue = self._issue_between(dt.date(2015, 1, 1), last_issue)
            self._new_card(-1, "01", issue or last_issue)

    def _lose_or_cancel(self, card: Card) -> None:
        ctx, cfg = self.ctx, self.ctx.settings.transit
        p = ctx.city.persons[card.pid]
        tl = ctx.city.timeline
        end = p.in_city_until()
        if not p.protected and unit(ctx.seed, "lost", card.card_no) < cfg["lost_share"]:
            lost = self._issue_between(card.issue + dt.timedelta(days=30), min(tl.sim_end, end or tl.sim_end))
            if lost is not None:
                card.lost_on = lost
                replaced = self._new_card(p.pid, card.card_type, min(tl.sim_end, lost + dt.timedelta(days=int(
                    self.rng.integers(0, 6)))))
                ctx.log.add("lost_card", SOURCE, "card_holder.csv", card.card_no, note=f"replaced by {replaced.card_no}")
        if p.death is not None and "keep_card" not in p.flags and self.rng.random() < cfg["cancelled_after_death_share"]:
            cancelled = p.death + dt.timedelta(days=int(self.rng.integers(20, 200)))
            card.cancelled_on = cancelled if cancelled <= tl.sim_end else None
        elif p.cancel_reason == "02" and p.cancelled_on and self.rng.random() < 0.6:
            cancelled = p.cancelled_on + dt.timedelta(days=int(self.rng.integers(10, 60)))
            card.cancelled_on = cancelled if cancelled <= tl.sim_end else None

    def person_cards(self, p: Person, card_type: str | None = None) -> list[Card]:
        """Cards registered to a person (optionally of one type)."""
        return [c for c in self.by_person.get(p.pid, []) if card_type is None or c.card_type == card_type]

    # -- taps ---------------------------------------------------------------------------
    def _build_taps(self, cards: list[Card], days: list[np.ndarray], per_day: list[np.ndarray], tag: str | list[str]
                    ) -> pd.DataFrame:
        """Taps of many cards at once: `per_day[k][i]` taps of `cards[k]` on ordinal `days[k][i]`."""
        rng = self.rng
        counts = np.asarray([int(c.sum()) for c in per_day], dtype=np.int64)
        card_of = np.repeat(np.arange(len(cards)), counts)
        day_of = np.concatenate([np.repeat(d, c) for d, c in zip(days, per_day, strict=True)]) if cards else \
            np.zeros(0, dtype=np.int64)
        n = len(day_of)
        kind = np.asarray([c.card_type for c in cards], dtype=object)[card_of] if n else np.zeros(0, dtype=object)
        commuter = (kind == "01") & (np.asarray([c.pid >= 0 for c in cards], dtype=bool)[card_of] if n else False)
        peak = rng.choice([7, 8, 9, 12, 17, 18, 19, 21], size=n, p=[.18, .22, .08, .07, .17, .18, .06, .04])
        hours = np.where(commuter, peak, rng.integers(8, 18, size=n))
        ms = hours * 3_600_000 + rng.integers(0, 3_600_000, size=n)
        # each card rides a few lines of its own; line k is metro when k % 3 == 0
        card_lines = (np.asarray([int(c.card_no[-6:]) for c in cards], dtype=np.int64)[:, None] * np.array([7, 13, 29])
                      ) % N_LINES if cards else np.zeros((0, 3), dtype=np.int64)
        line = card_lines[card_of, rng.integers(0, 3, size=n)] if n else np.zeros(0, dtype=np.int64)
        stop = rng.integers(0, N_STOPS, size=n)
        metro = line % 3 == 0
        free = (kind == "05") | (kind == "06")
        fare = np.where(free, 0, np.where(metro, rng.integers(2, 9, size=n) * 100, 200)).astype(np.int32)
        card_nos = np.asarray([c.card_no for c in cards], dtype=object)
        tags = np.asarray(tag, dtype=object)[card_of] if isinstance(tag, list) else tag
        return pd.DataFrame({
            "card_no": card_nos[card_of] if n else np.zeros(0, dtype=object),
            "tap_time": ((day_of - EPOCH) * MS_PER_DAY + ms).astype("datetime64[ms]"),
            "line_id": LINE_IDS[line],
            "stop_id": STOP_IDS[line * N_STOPS + stop],
            "device_id": DEVICE_IDS[line * N_STOPS + stop],
            "fare_cents": fare,
            "_pid": np.asarray([c.pid for c in cards], dtype=np.int64)[card_of] if n else np.zeros(0, dtype=np.int64),
            "_day": day_of.astype(np.int64),
            "_tag": tags,
        })

    def _active_days(self, card: Card) -> np.ndarray:
        tl = self.ctx.city.timeline
        lo = max(card.issue, tl.history[SOURCE])
        ends = [tl.sim_end, card.usable_until()]
        p = self.ctx.city.persons[card.pid] if card.pid >= 0 else None
        if p is not None:
            end = p.in_city_until()
            ends.append(end - dt.timedelta(days=1) if end else None)
        hi = min(d for d in ends if d is not None)
        if hi < lo:
            return np.zeros(0, dtype=np.int64)
        days = np.arange(lo.toordinal(), hi.toordinal() + 1)
        if p is not None:
            keep = np.ones(len(days), dtype=bool)
            for out, back in p.trips:  # abroad strictly between exit and entry
                keep &= ~((days > out.toordinal()) & (back is None or days < back.toordinal()))
            for admit, discharge in p.stays:  # in hospital from admission to discharge
                keep &= ~((days >= admit.toordinal()) & (days <= discharge.toordinal()))
            days = days[keep]
        return days

    def events(self) -> list[EventTable]:
        """Every card's taps in the transit history and the generated nights."""
        rates = self.ctx.settings.transit["taps_per_day"]
        used, all_days, all_counts, tags = [], [], [], []
        for card in self.cards:
            days = self._active_days(card)
            if not len(days):
                continue
            rate = rates["anonymous" if card.pid < 0 else card.card_type]
            weekday = (days + 6) % 7 < 5  # ordinal 1 (0001-01-01) was a Monday
            lam = rate * np.where(weekday, 1.15, 0.65) if card.card_type == "01" else np.full(len(days), rate)
            used.append(card)
            all_days.append(days)
            all_counts.append(self.rng.poisson(lam))
            tags.append("anonymous_card" if card.pid < 0 else "")
        taps = self._build_taps(used, all_days, all_counts, tags)
        dup = self.rng.random(len(taps)) < self.ctx.settings.transit["duplicate_tap_rate"]
        copies = taps[dup].assign(_tag="duplicate_tap")
        for row in copies.head(20).itertuples(index=False):
            self.ctx.log.add("duplicate_tap", SOURCE, "taps", f"{row.card_no} {row.tap_time} {row.device_id}")
        self.taps.add_frame(pd.concat([taps, copies], ignore_index=True))
        return [self.taps]

    def add_taps(self, card: Card, days: list[dt.date], tag: str) -> range:
        """Planted taps: one to three on each given day (before the table is frozen)."""
        ordinals = np.asarray([d.toordinal() for d in days], dtype=np.int64)
        per_day = self.rng.integers(1, 4, size=len(ordinals))
        return self.taps.add_frame(self._build_taps([card], [ordinals], [per_day], tag))

    # -- registry and writing -----------------------------------------------------------
    def snapshot(self, delivery: Delivery) -> dict[str, Rows]:
        """card_holder as of the end of the window."""
        as_of, ctx = delivery.as_of, self.ctx
        rows: Rows = []
        for card in self.cards:
            if card.issue > as_of:
                continue
            if card.pid < 0:
                certno, name = "", ""
                ctx.log.add("anonymous_card", SOURCE, "card_holder.csv", card.card_no)
            else:
                p = ctx.city.persons[card.pid]
                certno, name = ctx.speller.certno(p, SOURCE, "card_holder.csv"), p.name
            rows.append((card.card_no, certno, name, card.card_type, card.issue.isoformat(), card.status(as_of)))
        return {"card_holder.csv": rows}

    def write(self, folder: Path, delivery: Delivery, registry: dict[str, Rows] | None,
              events: dict[str, pd.DataFrame]) -> list[FileEntry]:
        """card_holder.csv (UTF-8) and the taps cut into Parquet parts of ms or us unit."""
        out = write_csv_files(self.ctx, folder, delivery, {"card_holder.csv": CARD_COLUMNS}, registry, {},
                              encoding="utf-8")
        taps = events.get("taps", pd.DataFrame(columns=list(TAP_COLUMNS)))
        (folder / "taps").mkdir(exist_ok=True)
        size = int(self.ctx.settings.transit["part_rows"])
        starts = list(range(0, len(taps), size)) or [0]
        for i, first in enumerate(starts):
            unit_ = "ms" if (delivery.night + i) % 2 == 0 else "us"
            name = f"taps/part-{i:05d}.parquet"
            self.ctx.log.add(f"parquet_{unit_}_unit", SOURCE, "taps", f"{delivery.extract_date} {name}")
            part = taps.iloc[first:first + size]
            out.append(FileEntry(name, write_taps_parquet(folder / name, part, unit_)))
        return out

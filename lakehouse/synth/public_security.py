"""`public_security` — 公安 户籍: UTF-8 CSV, pinyin-initial headers, two date styles.

Registry czrk (local 户籍 holders); events hkzx (cancellations: death 0–120 days late,
emigration, army, moving away) and crj (border crossings).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lakehouse.synth.context import Context, Rows, write_csv_files
from lakehouse.synth.manifest import FileEntry
from lakehouse.synth.population import Person
from lakehouse.synth.quirks import slash_or_dash
from lakehouse.synth.schedule import Delivery
from lakehouse.synth.tables import EventTable

SOURCE = "public_security"
COLUMNS = {
    "czrk.csv": ("GMSFHM", "XM", "XBDM", "CSRQ", "HJDZ_XZQHDM", "HKZT"),
    "hkzx.csv": ("GMSFHM", "XM", "ZXRQ", "ZXYYDM", "SWRQ"),
    "crj.csv": ("GMSFHM", "CRJBS", "CRJRQ", "KADM"),
}
PORTS = ("3301", "3101", "3102", "4403", "1101", "3302")  # 萧山机场, 浦东, 虹桥, 罗湖, 首都, 宁波栎社


class PublicSecurity:
    """Generator and writer of the `public_security` source."""

    name = SOURCE

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.tables = {f: EventTable(SOURCE, f, COLUMNS[f]) for f in ("hkzx.csv", "crj.csv")}

    def _date(self, day: object, *key: object) -> str:
        text = slash_or_dash(self.ctx.seed, day, *key)  # type: ignore[arg-type]
        if "/" in text:
            self.ctx.log.add("date_style_slash", SOURCE, str(key[0]), str(key[1]), text)
        return text

    def events(self) -> list[EventTable]:
        """Cancellations and border crossings since the start of the history."""
        tl, sp = self.ctx.city.timeline, self.ctx.speller
        lo = tl.history[SOURCE]
        hkzx, crj = self.tables["hkzx.csv"], self.tables["crj.csv"]
        for p in self.ctx.city.persons:
            if p.hukou_region is None:
                continue
            certno = sp.certno(p, SOURCE, "hkzx.csv")
            if p.hkzx_on is not None and lo <= p.hkzx_on <= tl.sim_end:
                hkzx.add((certno, p.name, self._date(p.hkzx_on, "hkzx.csv", p.certno, "ZXRQ"), "01",
                          self._date(p.hkzx_death, "hkzx.csv", p.certno, "SWRQ")), p.pid, p.hkzx_on, "death")
            if p.cancelled_on is not None and lo <= p.cancelled_on <= tl.sim_end:
                hkzx.add((certno, p.name, self._date(p.cancelled_on, "hkzx.csv", p.certno, "ZXRQ"), p.cancel_reason,
                          ""), p.pid, p.cancelled_on, f"cancel_{p.cancel_reason}")
            for i, (out, back) in enumerate(p.trips):
                for flag, day in (("1", out), ("2", back)):
                    if day is not None and lo <= day <= tl.sim_end:
                        crj.add((sp.certno(p, SOURCE, "crj.csv"), flag, self._date(day, "crj.csv", p.certno, i, flag),
                                 PORTS[(p.pid + i) % len(PORTS)]), p.pid, day)
        return list(self.tables.values())

    def hukou_cancelled(self, p: Person, as_of: object) -> bool:
        """户口状态 注销 on `as_of`: a registered death or another cancellation."""
        return any(d is not None and d <= as_of for d in (p.hkzx_on, p.cancelled_on))  # type: ignore[operator]

    def snapshot(self, delivery: Delivery) -> dict[str, Rows]:
        """czrk as of the end of the window (cancelled records stay, HKZT 1)."""
        as_of, sp = delivery.as_of, self.ctx.speller
        rows: Rows = [
            (sp.certno(p, SOURCE, "czrk.csv"), p.name, self.ctx.sex(p, SOURCE, "czrk.csv", ("1", "2"), ("0", "9", "")),
             self._date(p.birth, "czrk.csv", p.certno, "CSRQ"), p.hukou_region,
             "1" if self.hukou_cancelled(p, as_of) else "0")
            for p in self.ctx.city.persons if p.hukou_region is not None and p.birth <= as_of
        ]
        return {"czrk.csv": rows}

    def write(self, folder: Path, delivery: Delivery, registry: dict[str, Rows] | None,
              events: dict[str, pd.DataFrame]) -> list[FileEntry]:
        """UTF-8 CSVs."""
        return write_csv_files(self.ctx, folder, delivery, COLUMNS, registry, events, encoding="utf-8")

"""`civil_affairs` — 民政 hand-made Excel workbooks (手工数据).

huohua.xlsx (cremations, events) and dibao.xlsx (低保 registry). Sometimes a title row
and/or an empty row above the header; dates as real Excel dates or as two kinds of text.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from lakehouse.synth.context import Context, Rows, frame_rows
from lakehouse.synth.formats import write_xlsx
from lakehouse.synth.manifest import FileEntry
from lakehouse.synth.quirks import excel_date
from lakehouse.synth.rng import unit
from lakehouse.synth.schedule import Delivery
from lakehouse.synth.tables import EventTable

SOURCE = "civil_affairs"
COLUMNS = {
    "huohua.xlsx": ("姓名", "身份证号", "性别", "死亡日期", "火化日期", "殡仪馆"),
    "dibao.xlsx": ("身份证号", "姓名", "保障类型", "开始日期", "结束日期", "月保障金额"),
}
FUNERAL_HOMES = {"330109": "萧山区殡仪馆", "330110": "余杭区殡仪馆"}


class CivilAffairs:
    """Generator and writer of the `civil_affairs` source."""

    name = SOURCE

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.tables = {"huohua.xlsx": EventTable(SOURCE, "huohua.xlsx", COLUMNS["huohua.xlsx"])}

    def _date(self, day: dt.date | None, file: str, *key: object) -> dt.date | str | None:
        value = excel_date(self.ctx.seed, day, file, *key)
        if value is not None:
            quirk = ("xlsx_date_excel" if isinstance(value, dt.date)
                     else "xlsx_date_text_chinese" if "年" in value else "xlsx_date_text_iso")
            self.ctx.log.add(quirk, SOURCE, file, str(key[0]), str(value))
        return value

    def events(self) -> list[EventTable]:
        """Cremations, usually 1–7 days after the death."""
        tl, ctx = self.ctx.city.timeline, self.ctx
        table = self.tables["huohua.xlsx"]
        for p in ctx.city.persons:
            day = p.cremated_on
            if day is None or not tl.history[SOURCE] <= day <= tl.sim_end:
                continue
            home = FUNERAL_HOMES.get(p.region, f"{ctx.settings.city['name']}市殡仪馆")
            table.add((p.name, ctx.speller.certno(p, SOURCE, "huohua.xlsx"),
                       ctx.sex(p, SOURCE, "huohua.xlsx", ("男", "女"), ("",)),
                       self._date(p.huohua_death, "huohua.xlsx", p.certno, "death"),
                       self._date(day, "huohua.xlsx", p.certno, "cremation"), home), p.pid, day, "death")
        return list(self.tables.values())

    def snapshot(self, delivery: Delivery) -> dict[str, Rows]:
        """The 低保 roll as of the end of the window (ended cases keep their end date)."""
        as_of, ctx = delivery.as_of, self.ctx
        rows: Rows = []
        for p in ctx.city.persons:
            if p.dibao is None or p.dibao[1] > as_of:
                continue
            kind, start, end, amount = p.dibao
            ended = end if end is not None and end <= as_of else None
            rows.append((ctx.speller.certno(p, SOURCE, "dibao.xlsx"), p.name, kind,
                         self._date(start, "dibao.xlsx", p.certno, "start"),
                         self._date(ended, "dibao.xlsx", p.certno, "end"), amount))
        return {"dibao.xlsx": rows}

    def write(self, folder: Path, delivery: Delivery, registry: dict[str, Rows] | None,
              events: dict[str, pd.DataFrame]) -> list[FileEntry]:
        """Workbooks, each with or without a title row and an empty row above the header."""
        files: dict[str, Rows] = dict(registry or {})
        files.update({name: frame_rows(frame, COLUMNS[name]) for name, frame in events.items()})
        stamp = dt.datetime.combine(delivery.extract_date, dt.time(8, 30))
        out = []
        for name, rows in files.items():
            date = delivery.extract_date.isoformat()
            u = unit(self.ctx.seed, "layout", name, date, delivery.sequence)
            title = None
            if u < 0.4:
                label = "火化登记表" if name == "huohua.xlsx" else "低保对象名册"
                title = f"{delivery.window[1].year}年{delivery.window[1].month}月{label}"
                self.ctx.log.add("xlsx_title_row", SOURCE, name, date, title)
            blank = 0.25 < u < 0.6
            if blank:
                self.ctx.log.add("xlsx_blank_row", SOURCE, name, date)
            count = write_xlsx(folder / name, COLUMNS[name], rows, stamp=stamp, title=title, blank_above=blank)
            out.append(FileEntry(name, count))
        return out

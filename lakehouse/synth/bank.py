"""`bank` — the pension-paying bank: GB18030 pipe-delimited text without a header.

acct.txt (registry) and txn_YYYYMMDD.txt, one per business day of the window (late records
in the last day's file). Pensions arrive by AUTO credit on the payment day; people use ATM,
POS, mobile banking and the counter (CTR, the only channel that proves the person was there).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lakehouse.synth.context import Context, Rows
from lakehouse.synth.formats import write_text_table
from lakehouse.synth.lifecourse import free_day
from lakehouse.synth.manifest import FileEntry
from lakehouse.synth.pension import NEW_CODE
from lakehouse.synth.population import Person
from lakehouse.synth.rng import stream, unit
from lakehouse.synth.schedule import Delivery
from lakehouse.synth.tables import EventTable
from lakehouse.synth.timeline import add_months, month_index, month_start

SOURCE = "bank"
ACCT_COLUMNS = ("acct_no", "certno", "name", "open_date", "status")
TXN_COLUMNS = ("acct_no", "txn_time", "txn_type", "channel", "amount_fen", "balance_fen", "branch_code")
HOURS = {"ATM": (7, 22), "POS": (8, 21), "MOB": (6, 23), "CTR": (9, 17), "AUTO": (1, 5)}
WEAK_AFTER_DEATH = ("ATM", "POS")  # what a relative holding the card can still do


@dataclass
class Account:
    """An account at the bank; `closed_on`/`frozen_on` end its activity."""

    acct_no: str
    pid: int
    opened: dt.date
    closed_on: dt.date | None = None
    frozen_on: dt.date | None = None

    def status(self, as_of: dt.date) -> str:
        """N 正常 / F 冻结 / C 销户 on `as_of`."""
        if self.closed_on is not None and self.closed_on <= as_of:
            return "C"
        if self.frozen_on is not None and self.frozen_on <= as_of:
            return "F"
        return "N"


class Bank:
    """Generator and writer of the `bank` source."""

    name = SOURCE

    def __init__(self, ctx: Context, payments: pd.DataFrame) -> None:
        self.ctx = ctx
        self.rng = stream(ctx.seed, SOURCE)
        self.accounts: list[Account] = []
        self.table = EventTable(SOURCE, "txn", TXN_COLUMNS)
        self._credits = self._pension_credits(payments)
        self._open_accounts()

    def _pension_credits(self, payments: pd.DataFrame) -> dict[int, list[tuple[dt.date, int]]]:
        """One AUTO credit per person, standard scheme and month paid through this bank."""
        paid = payments[(payments["AAE008"] == "402") & (payments["AAE117"] == "1")]
        paid = paid.assign(scheme=paid["AAE140"].map(NEW_CODE)).drop_duplicates(["_pid", "scheme", "AAE002"])
        credits: dict[int, list[tuple[dt.date, int]]] = {}
        for pid, day, amount in zip(paid["_pid"], paid["AAE036"], paid["AAE019"], strict=True):
            when = dt.date(int(day[:4]), int(day[4:6]), int(day[6:8]))
            credits.setdefault(int(pid), []).append((when, round(float(amount) * 100)))
        return credits

    def _open_accounts(self) -> None:
        ctx, cfg = self.ctx, self.ctx.settings.bank
        tl = ctx.city.timeline
        for p in ctx.city.persons:
            adult = add_months(p.birth, 18 * 12)
            if p.pay_bank == "402" and p.retired_on is not None:
                acct_no = p.pay_acct
            elif adult < tl.sim_end and unit(ctx.seed, "bank-other", p.pid) < cfg["other_accounts_share"]:
                acct_no = f"6230{(p.pid * 2_750_159 + 99) % 10**15:015d}"
            else:
                continue
            lo = max(adult, dt.date(1995, 1, 1))
            hi = min(p.retired_on or tl.sim_end, tl.history[SOURCE])
            opened = lo + dt.timedelta(days=int(self.rng.integers(0, max(1, (hi - lo).days))))
            account = Account(str(acct_no), p.pid, opened)
            if p.death is not None and "keep_account" not in p.flags and self.rng.random() < cfg["closed_after_death_share"]:
                closed = p.death + dt.timedelta(days=int(self.rng.integers(30, 180)))
                account.closed_on = closed if closed <= tl.sim_end else None
            elif not p.protected and unit(ctx.seed, "frozen", p.pid) < cfg["frozen_share"]:
                account.frozen_on = tl.start - dt.timedelta(days=int(self.rng.integers(0, 200)))
            self.accounts.append(account)

    # -- transactions -------------------------------------------------------------------
    def _channel_ok(self, p: Person, channel: str, day: dt.date) -> bool:
        """Who can do what on `day`: the dead only through a relative with the card."""
        if p.death is not None and day > p.death:
            return "family_uses_account" in p.flags and channel in WEAK_AFTER_DEATH
        if p.cancelled_on is not None and day >= p.cancelled_on:
            return channel == "MOB"
        if not free_day(p, day):
            return channel == "MOB"
        return True

    def _month_txns(self, p: Person, account: Account, m: int, lo: dt.date, hi: dt.date) -> list[tuple]:
        rng, cfg = self.rng, self.ctx.settings.bank["monthly"]
        out: list[tuple] = []
        first, last = max(lo, month_start(m)), min(hi, month_start(m + 1) - dt.timedelta(days=1))
        if last < first:
            return out
        elderly = p.age_on(first) >= 60
        for channel, key in (("ATM", "ATM"), ("POS", "POS"), ("MOB", "MOB"), ("CTR", "CTR"), ("AUTO", "AUTO_D")):
            rate = cfg[key] * (0.4 if channel == "MOB" and elderly else 1.0) * (1.6 if channel == "CTR" and elderly else 1.0)
            for _ in range(int(rng.poisson(rate))):
                day = first + dt.timedelta(days=int(rng.integers(0, (last - first).days + 1)))
                if not self._channel_ok(p, channel, day):
                    continue
                h0, h1 = HOURS[channel]
                at = dt.datetime.combine(day, dt.time(int(rng.integers(h0, h1)), int(rng.integers(60)),
                                                      int(rng.integers(60))))
                amount = {"ATM": int(rng.integers(1, 30)) * 10_000, "POS": int(rng.integers(1_000, 80_000)),
                          "MOB": int(rng.integers(1_000, 200_000)), "CTR": int(rng.integers(5, 100)) * 10_000,
                          "AUTO": int(rng.integers(5_000, 40_000))}[channel]
                out.append((at, "D", channel, amount))
        if p.retired_on is None or p.retired_on > first:  # an income for people without a pension here
            day = first + dt.timedelta(days=int(rng.integers(0, (last - first).days + 1)))
            if self._channel_ok(p, "MOB", day):
                out.append((dt.datetime.combine(day, dt.time(10, 0)), "C", "MOB", int(rng.integers(100_000, 900_000))))
        return out

    def _branch(self, p: Person, channel: str) -> str:
        if channel in ("CTR", "ATM"):
            return f"{p.region}{(p.pid % 7) + 1:03d}"
        return "330000000"

    def events(self) -> list[EventTable]:
        """Credits and debits of every account over the bank history and the nights."""
        tl = self.ctx.city.timeline
        for account in self.accounts:
            p = self.ctx.city.persons[account.pid]
            lo = max(account.opened, tl.history[SOURCE])
            ends = [d for d in (tl.sim_end, account.closed_on, account.frozen_on) if d is not None]
            hi = min(ends) - (dt.timedelta(days=1) if min(ends) != tl.sim_end else dt.timedelta(0))
            txns: list[tuple] = []
            for m in range(month_index(lo), month_index(hi) + 1):
                txns.extend(self._month_txns(p, account, m, lo, hi))
            for day, fen in self._credits.get(p.pid, []):
                if lo <= day <= hi:
                    at = dt.datetime.combine(day, dt.time(2, int(self.rng.integers(60)), int(self.rng.integers(60))))
                    txns.append((at, "C", "AUTO", fen))
            self._book(p, account, sorted(txns))
        return [self.table]

    def _book(self, p: Person, account: Account, txns: list[tuple]) -> None:
        """Running balance (a debit the balance cannot cover does not happen) and the line quirks."""
        rng, cfg = self.rng, self.ctx.settings.bank
        balance = int(rng.integers(500_000, 8_000_000))
        n = len(txns)
        padded = rng.random(n) < cfg["trailing_space_rate"]
        pad_field, pad_len = rng.choice((0, 3, 6), size=n), rng.integers(1, 4, size=n)
        malformed = rng.random(n) < cfg["malformed_rate"]
        lost_field = rng.random(n) < 0.5
        for i, (at, kind, channel, fen) in enumerate(txns):
            if kind == "D" and fen > balance:
                continue
            balance += fen if kind == "C" else -fen
            values: list[str | None] = [account.acct_no, at.strftime("%Y%m%d%H%M%S"), kind, channel, str(fen),
                                        str(balance), self._branch(p, channel)]
            key = f"{account.acct_no} {values[1]}"
            tag = ""
            if padded[i]:
                values[pad_field[i]] = f"{values[pad_field[i]]}{' ' * int(pad_len[i])}"
                self.ctx.log.add("bank_trailing_spaces", SOURCE, "txn", key, str(values[pad_field[i]]))
            if malformed[i]:
                # a lost field or a stray extra one: the line has the wrong number of fields
                if lost_field[i]:
                    values[5] = None  # the writer drops None fields
                else:
                    values[6] = f"{values[6]}|补录"
                tag = "bank_malformed_line"
                self.ctx.log.add("bank_malformed_line", SOURCE, "txn", key)
            self.table.add(tuple(values), p.pid, at.date(), tag)

    # -- registry and writing -----------------------------------------------------------
    def snapshot(self, delivery: Delivery) -> dict[str, Rows]:
        """acct.txt as of the end of the window."""
        as_of, ctx = delivery.as_of, self.ctx
        rows: Rows = []
        for a in self.accounts:
            if a.opened > as_of:
                continue
            p = ctx.city.persons[a.pid]
            name = p.name
            if unit(ctx.seed, "acctpad", a.acct_no) < ctx.settings.bank["trailing_space_rate"] * 3:
                name = p.name.ljust(8)  # a fixed-width field of the old core system
                ctx.log.add("bank_trailing_spaces", SOURCE, "acct.txt", a.acct_no, name)
            rows.append((a.acct_no, ctx.speller.certno(p, SOURCE, "acct.txt"), name, f"{a.opened:%Y%m%d}",
                         a.status(as_of)))
        return {"acct.txt": rows}

    def write(self, folder: Path, delivery: Delivery, registry: dict[str, Rows] | None,
              events: dict[str, pd.DataFrame]) -> list[FileEntry]:
        """acct.txt and one txn file per day of the window (late records in the last one)."""
        out = []
        if registry:
            out.append(FileEntry("acct.txt", write_text_table(folder / "acct.txt", None, registry["acct.txt"],
                                                              encoding="gb18030", delimiter="|")))
        txns = events.get("txn")
        lo, hi = delivery.window
        day_of = txns["_day"].to_numpy() if txns is not None else np.zeros(0, dtype=np.int64)
        file_day = np.where((day_of >= lo.toordinal()) & (day_of <= hi.toordinal()), day_of, hi.toordinal())
        for ordinal in range(lo.toordinal(), hi.toordinal() + 1):
            name = f"txn_{dt.date.fromordinal(ordinal):%Y%m%d}.txt"
            rows: list[list[str]] = []
            if txns is not None and len(txns):
                part = txns[file_day == ordinal].sort_values("txn_time", kind="stable")
                rows = [[v for v in row if v is not None] for row in part[list(TXN_COLUMNS)].itertuples(index=False)]
            out.append(FileEntry(name, write_text_table(folder / name, None, rows, encoding="gb18030", delimiter="|")))
        return out

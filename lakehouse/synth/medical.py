"""`medical` — the national medical-insurance platform: gzip JSON Lines, platform field names.

Registry psn_insu; events setl (settlements, refunds as a second record), setl_detail
(line items, delivered with their settlement) and audit_cases (confirmed fraud labels).
Visits happen only while the person is alive, insured, in the city and not in hospital.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lakehouse.synth.context import Context, Rows, frame_rows
from lakehouse.synth.formats import write_jsonl_gz
from lakehouse.synth.lifecourse import free_day
from lakehouse.synth.manifest import FileEntry
from lakehouse.synth.population import DAYS_PER_YEAR, Person
from lakehouse.synth.rng import stream, unit
from lakehouse.synth.schedule import Delivery
from lakehouse.synth.tables import EventTable

SOURCE = "medical"
COLUMNS = {
    "psn_insu.jsonl.gz": ("psn_no", "certno", "psn_cert_type", "psn_name", "gend", "brdy", "insutype",
                          "psn_insu_stas", "insu_admdvs", "begndate", "enddate"),
    "setl.jsonl.gz": ("setl_id", "mdtrt_id", "psn_no", "certno", "insutype", "med_type", "fixmedins_code",
                      "fixmedins_name", "begndate", "enddate", "setl_time", "medfee_sumamt", "hifp_pay",
                      "psn_cash_pay", "dise_codg", "dise_name", "refd_setl_flag"),
    "setl_detail.jsonl.gz": ("setl_id", "med_list_codg", "med_list_name", "list_type", "cnt", "pric",
                             "det_item_fee_sumamt", "fee_ocur_time"),
    "audit_cases.jsonl.gz": ("case_id", "setl_id", "psn_no", "case_type", "confirmed_date", "amount"),
}
EVENTS = ("setl.jsonl.gz", "setl_detail.jsonl.gz", "audit_cases.jsonl.gz")
MONEY = frozenset({"medfee_sumamt", "hifp_pay", "psn_cash_pay", "pric", "det_item_fee_sumamt", "amount"})

# (code, name, list_type, price)
DRUGS = (
    ("XC09AAA001A001010100001", "卡托普利片", "101", 12.5), ("XA10BAA001A001010100002", "盐酸二甲双胍片", "101", 18.0),
    ("XC10AAA001A001010100003", "阿托伐他汀钙片", "101", 35.0), ("XJ01CAA001A001010100004", "阿莫西林胶囊", "101", 15.0),
    ("XN02BEA001A001010100005", "对乙酰氨基酚片", "101", 8.0), ("XC08CAA001A001010100006", "硝苯地平缓释片", "101", 28.0),
    ("XA02BCA001A001010100007", "奥美拉唑肠溶胶囊", "101", 22.0), ("XB01ACA001A001010100008", "阿司匹林肠溶片", "101", 16.0),
    ("ZA01AAA0001010100009", "感冒清热颗粒", "102", 24.0), ("ZA12BAA0002010100010", "复方丹参滴丸", "102", 32.0),
    ("ZA04CAA0003010100011", "六味地黄丸", "102", 26.0), ("ZA06AAA0004010100012", "连花清瘟胶囊", "102", 29.0),
)
EXPENSIVE = ("ZA15BAA0005010100013", "安宫牛黄丸", "102", 680.0)
SERVICES = {
    "visit": ("001101000010000", "普通门诊诊查费", "201", 25.0),
    "ward_round": ("001102000010000", "住院诊查费", "201", 30.0),
    "bed": ("001103000010000", "床位费", "201", 60.0),
    "blood": ("002701000010000", "血常规检查", "201", 20.0),
    "liver": ("002703000010000", "肝功能检查", "201", 80.0),
    "ecg": ("002101000010000", "心电图检查", "201", 30.0),
    "ct": ("003101000010000", "CT检查", "201", 260.0),
    "drip": ("003105000010000", "静脉输液", "201", 15.0),
    "surgery": ("003302000010000", "手术费", "201", 3500.0),
}
DISEASES = {
    "11": (("J06.900", "急性上呼吸道感染"), ("K29.700", "胃炎"), ("M54.500", "腰痛"), ("I10.x00", "高血压"),
           ("E11.900", "2型糖尿病")),
    "14": (("I10.x00", "高血压"), ("E11.900", "2型糖尿病"), ("I25.100", "冠状动脉粥样硬化性心脏病"),
           ("N18.900", "慢性肾脏病")),
    "21": (("J18.900", "肺炎"), ("I63.900", "脑梗死"), ("S72.000", "股骨颈骨折"), ("C34.900", "肺恶性肿瘤"),
           ("K80.200", "胆囊结石"), ("I25.100", "冠状动脉粥样硬化性心脏病")),
    "41": (("J06.900", "急性上呼吸道感染"), ("I10.x00", "高血压"), ("K29.700", "胃炎"), ("E11.900", "2型糖尿病")),
}


@dataclass(frozen=True)
class Settlement:
    """What a scenario needs to know about a settlement it wrote."""

    rid: int
    setl_id: str
    hifp_pay: float
    refunded: bool


@dataclass(frozen=True)
class Facility:
    """A hospital (`H…`) or pharmacy (`P…`)."""

    code: str
    name: str
    region: str


def facilities(ctx: Context) -> dict[str, list[Facility]]:
    """Hospitals and pharmacies per region (`H<region>` / `P<region>` keys)."""
    cfg, out = ctx.settings.medical, {}
    chains = ("老百姓大药房", "九州大药房", "华东大药房", "海王星辰", "天天好大药房")
    for region in ctx.settings.regions:
        rname = ctx.settings.region_name(region)
        out[f"H{region}"] = [Facility(f"H{region}{i + 1:05d}", f"{ctx.settings.city['name']}市{rname}"
                                      f"{('第一人民医院', '中医院', '社区卫生服务中心', '第二人民医院')[i % 4]}", region)
                             for i in range(int(cfg["hospitals_per_region"]))]
        out[f"P{region}"] = [Facility(f"P{region}{i + 1:05d}", f"{chains[i % len(chains)]}{rname}{i + 1}店", region)
                             for i in range(int(cfg["pharmacies_per_region"]))]
    return out


def insurance_periods(p: Person, share_change: float, seed: int) -> list[tuple[str, dt.date, dt.date | None]]:
    """(insutype, begndate, enddate) of a person's psn_insu records, enddate None = open."""
    if p.insutype is None or p.insured_on is None:
        return []
    end = medical_end(p)
    if (p.insutype == "310" and p.insured_on > dt.date(2013, 1, 1) and not p.protected
            and unit(seed, "insutype-change", p.pid) < share_change):
        return [("390", max(p.birth, dt.date(2012, 1, 1)), p.insured_on - dt.timedelta(days=1)),
                ("310", p.insured_on, end)]
    return [(p.insutype, p.insured_on, end)]


def medical_end(p: Person) -> dt.date | None:
    """When the platform closes the insurance: a month after it learns of a death or departure."""
    known = [d for d in (p.hkzx_on, p.cremated_on) if d is not None]
    if p.death is not None and known:
        return min(known) + dt.timedelta(days=30)
    if p.cancelled_on is not None:
        return p.cancelled_on + dt.timedelta(days=30)
    return None


class Medical:
    """Generator and writer of the `medical` source."""

    name = SOURCE

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rng = stream(ctx.seed, SOURCE)
        self.facilities = facilities(ctx)
        setl = EventTable(SOURCE, "setl.jsonl.gz", COLUMNS["setl.jsonl.gz"])
        self.tables = {
            "setl.jsonl.gz": setl,
            "setl_detail.jsonl.gz": EventTable(SOURCE, "setl_detail.jsonl.gz", COLUMNS["setl_detail.jsonl.gz"], setl),
            "audit_cases.jsonl.gz": EventTable(SOURCE, "audit_cases.jsonl.gz", COLUMNS["audit_cases.jsonl.gz"]),
        }
        self._serial = 0
        self.stays: dict[tuple[int, dt.date], Settlement] = {}  # (pid, admission) → its settlement
        self._periods = {p.pid: insurance_periods(p, ctx.settings.medical["insutype_change_share"], ctx.seed)
                         for p in ctx.city.persons}

    # -- settlements --------------------------------------------------------------------
    def insutype_on(self, p: Person, day: dt.date) -> str | None:
        """The person's insurance type on a day (None when not insured)."""
        for insutype, begin, end in self._periods[p.pid]:
            if begin <= day and (end is None or day <= end):
                return insutype
        return None

    def facility(self, p: Person, kind: str) -> Facility:
        """A hospital (`H`) or pharmacy (`P`), mostly in the person's region."""
        regions = self.ctx.settings.regions
        region = p.region if self.rng.random() < 0.8 else regions[int(self.rng.integers(len(regions)))]
        pool = self.facilities[f"{kind}{region}"]
        return pool[int(self.rng.integers(len(pool)))]

    def _items(self, med_type: str, days: int, expensive: bool) -> list[tuple[str, str, str, float, float]]:
        rng = self.rng
        items: list[tuple[str, str, str, float, float]] = []

        def add(item: tuple[str, str, str, float], cnt: float) -> None:
            items.append((item[0], item[1], item[2], cnt, item[3]))

        if med_type in ("11", "14"):
            add(SERVICES["visit"], 1)
        if med_type == "11" and rng.random() < 0.4:
            add(SERVICES[("blood", "liver", "ecg", "ct")[int(rng.integers(4))]], 1)
        if med_type == "21":
            add(SERVICES["bed"], days)
            add(SERVICES["ward_round"], days)
            add(SERVICES["drip"], max(1, days - 1))
            for key in ("blood", "liver", "ecg", "ct"):
                if rng.random() < 0.6:
                    add(SERVICES[key], int(rng.integers(1, 3)))
            if rng.random() < 0.3:
                add(SERVICES["surgery"], 1)
        n_drugs = {"11": (1, 3), "14": (1, 3), "21": (3, 8), "41": (1, 3)}[med_type]
        for _ in range(int(rng.integers(n_drugs[0], n_drugs[1] + 1))):
            add(DRUGS[int(rng.integers(len(DRUGS)))], int(rng.integers(1, 7 if med_type == "14" else 4)))
        if expensive:
            add(EXPENSIVE, int(rng.integers(3, 10)))
        return items

    def settle(self, p: Person, med_type: str, begin: dt.date, end: dt.date, *, tag: str = "",
               certno: str | None = None, facility: Facility | None = None, setl_day: dt.date | None = None,
               expensive: bool = False, refund_after: int | None = None) -> Settlement:
        """Write one settlement with its details (and maybe a refund).

        `certno` overrides the spelling on this record; `refund_after` forces a refund that
        many days later (otherwise refunds happen at the configured rate).
        """
        ctx, rng = self.ctx, self.rng
        insutype = self.insutype_on(p, begin) or p.insutype or "390"
        facility = facility or self.facility(p, "P" if med_type == "41" else "H")
        self._serial += 1
        setl_id = f"{begin:%Y%m%d}{self._serial:010d}"
        mdtrt_id = f"MT{facility.code[1:7]}{self._serial:012d}"
        setl_day = setl_day or end
        hour = int(rng.integers(8, 21 if med_type == "41" else 17))
        setl_time = dt.datetime.combine(setl_day, dt.time(hour, int(rng.integers(60)), int(rng.integers(60))))
        items = self._items(med_type, max(1, (end - begin).days), expensive)
        details = [(code, name, kind, cnt, price, round(cnt * price, 2)) for code, name, kind, cnt, price in items]
        total = round(sum(d[5] for d in details), 2)
        lo, hi = ctx.settings.medical["hifp_ratio"][insutype]
        hifp = round(total * float(rng.uniform(lo, hi)), 2)
        cash = round(total - hifp, 2)
        disease = DISEASES[med_type][int(rng.integers(len(DISEASES[med_type])))]
        if certno is None:
            typo_rate = ctx.settings.quirks["certno_invalid"]  # a mistyped number at the counter
            certno = ctx.speller.record_typo(p, SOURCE, "setl.jsonl.gz", setl_id, typo_rate) or \
                ctx.speller.certno(p, SOURCE, "setl.jsonl.gz")
            if certno != ctx.speller.certno(p, SOURCE, "setl.jsonl.gz"):
                ctx.log.add("setl_certno_invalid_psn_no_resolves", SOURCE, "setl.jsonl.gz", setl_id, certno)
        base = (setl_id, mdtrt_id, p.psn_no, certno, insutype, med_type, facility.code, facility.name,
                begin.isoformat(), end.isoformat())
        rid = self.tables["setl.jsonl.gz"].add(
            (*base, setl_time.strftime("%Y-%m-%d %H:%M:%S"), total, hifp, cash, disease[0], disease[1], "0"),
            p.pid, setl_day, tag)
        for i, (code, name, kind, cnt, price, fee) in enumerate(details):
            at = dt.datetime.combine(begin + dt.timedelta(days=min(i, (end - begin).days)), dt.time(9 + i % 8, 0))
            self.tables["setl_detail.jsonl.gz"].add(
                (setl_id, code, name, kind, cnt, price, fee, at.strftime("%Y-%m-%d %H:%M:%S")), p.pid, setl_day, tag,
                parent_rid=rid)
        refund = refund_after
        if refund is None and not tag and not p.protected and rng.random() < ctx.settings.medical["refund_rate"]:
            refund = int(rng.integers(0, 11))
        refunded = False
        if refund is not None:
            day = setl_day + dt.timedelta(days=refund)
            refunded = day <= ctx.city.timeline.sim_end
            if refunded:
                when = dt.datetime.combine(day, dt.time(int(rng.integers(9, 17)), int(rng.integers(60))))
                self.tables["setl.jsonl.gz"].add(
                    (*base, when.strftime("%Y-%m-%d %H:%M:%S"), -total, -hifp, -cash, disease[0], disease[1], "1"),
                    p.pid, day, tag or "refund")
                ctx.log.add("refund", SOURCE, "setl.jsonl.gz", setl_id)
        return Settlement(rid, setl_id, hifp, refunded)

    def audit_case(self, case_id: str, setl_id: str | None, p: Person, case_type: str, confirmed: dt.date,
                   amount: float, tag: str) -> int:
        """A confirmed fraud label (`setl_id` None when the case names no settlement)."""
        return self.tables["audit_cases.jsonl.gz"].add(
            (case_id, setl_id, p.psn_no, case_type, confirmed.isoformat(), round(amount, 2)), p.pid, confirmed, tag)

    # -- base behaviour -----------------------------------------------------------------
    def events(self) -> list[EventTable]:
        """Visits, pharmacy purchases, chronic-care visits and inpatient stays of everybody."""
        tl = self.ctx.city.timeline
        cfg = self.ctx.settings.medical
        lo_all = tl.history[SOURCE]
        for p in self.ctx.city.persons:
            if p.psn_no is None:
                continue
            lo = max(lo_all, p.birth, p.insured_on or lo_all)
            hi = min(tl.sim_end, p.in_city_until() or tl.sim_end)
            if hi < lo:
                continue
            band = 0 if p.age_on(hi) < 15 else 1 if p.age_on(hi) < 60 else 2 if p.age_on(hi) < 75 else 3
            years = ((hi - lo).days + 1) / DAYS_PER_YEAR
            span = np.arange(lo.toordinal(), hi.toordinal() + 1)
            for med_type, key in (("11", "outpatient"), ("41", "pharmacy")):
                n = int(self.rng.poisson(cfg["visits"][key][band] * years))
                for day in sorted(self.rng.choice(span, size=n)) if n else ():
                    self._visit(p, med_type, dt.date.fromordinal(int(day)))
            if band >= 2 and unit(self.ctx.seed, "chronic", p.pid) < cfg["chronic_share_60"]:
                day = lo.replace(day=min(28, 1 + p.pid % 28))
                while day <= hi:
                    if day >= lo:
                        self._visit(p, "14", day)
                    day = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=day.day)
            for admit, discharge in p.stays:
                if lo <= admit and discharge <= hi and self.insutype_on(p, admit):
                    setl_day = min(tl.sim_end, discharge + dt.timedelta(days=int(self.rng.integers(0, 3)))) \
                        if p.death == discharge else discharge
                    self.stays[(p.pid, admit)] = self.settle(p, "21", admit, discharge, setl_day=setl_day)
        return list(self.tables.values())

    def _visit(self, p: Person, med_type: str, day: dt.date) -> None:
        if free_day(p, day) and self.insutype_on(p, day):
            self.settle(p, med_type, day, day)

    # -- registry -----------------------------------------------------------------------
    def snapshot(self, delivery: Delivery) -> dict[str, Rows]:
        """psn_insu as of the end of the window."""
        as_of, ctx = delivery.as_of, self.ctx
        rows: Rows = []
        file = "psn_insu.jsonl.gz"
        for p in ctx.city.persons:
            periods = self._periods[p.pid]
            if not periods or p.birth > as_of:
                continue
            certno = ctx.speller.certno(p, SOURCE, file)
            gend = ctx.sex(p, SOURCE, file, ("1", "2"), ("",))
            for insutype, begin, end in periods:
                if begin > as_of:
                    continue
                closed = end if end is not None and end <= as_of else None
                status = ("2" if p.cancel_reason in ("03", "04") else "4") if closed else "1"
                rows.append((p.psn_no, certno, "01", p.name, gend or None, p.birth.isoformat(), insutype, status,
                             p.region, begin.isoformat(), closed.isoformat() if closed else None))
        return {file: rows}

    # -- writing ------------------------------------------------------------------------
    def write(self, folder: Path, delivery: Delivery, registry: dict[str, Rows] | None,
              events: dict[str, pd.DataFrame]) -> list[FileEntry]:
        """One gzip JSON Lines file per file kind (schema drift: an extra field on every line)."""
        files: dict[str, Rows] = dict(registry or {})
        files.update({name: frame_rows(frame, COLUMNS[name]) for name, frame in events.items()})
        out = []
        for name, rows in files.items():
            _, extra = self.ctx.columns(SOURCE, name, COLUMNS[name], delivery)
            out.append(FileEntry(name, write_jsonl_gz(folder / name, COLUMNS[name], rows, extra, MONEY)))
        return out

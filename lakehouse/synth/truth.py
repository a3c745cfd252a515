"""The planted truth, written outside the landing zone (`<out>/truth/`, UTF-8 CSV + city.json).

Column lists are part of the generator's interface (tests and scoring read them by name).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lakehouse.synth.delivery import NOT_DELIVERED, Ledger
from lakehouse.synth.landing import Written
from lakehouse.synth.population import City, Person
from lakehouse.synth.tables import EventTable

PERSON_COLUMNS = (
    "certno", "name", "sex", "birth_date", "death_date", "death_registered_in", "death_known_from", "region",
    "hukou_region", "birthplace", "pension_scheme", "aac001", "retired", "retirement_date", "legal_retirement_date",
    "special_job", "monthly_pension", "employer_id", "cancel_reason", "cancelled_on", "emigrated_on",
    "abroad_at_end", "psn_no", "insutype", "on_dibao", "planted",
)
RISK_COLUMNS = ("rule_code", "certno", "region", "is_decoy", "scenario", "detail", "detectable_from",
                "amount_at_risk")
CORRUPT_COLUMNS = ("source", "extract_date", "sequence", "file", "reason", "detail", "in_landing",
                   "resent_sequence", "resent_arrives_on", "location")
INVALID_COLUMNS = ("raw", "source", "file", "key", "reason", "true_certno")
QUIRK_COLUMNS = ("quirk", "source", "file", "key", "raw", "note")
DELIVERY_COLUMNS = ("source", "extract_date", "sequence", "arrives_on", "window_from", "window_to", "registry",
                    "status", "location", "files", "rows")


def write_csv(path: Path, columns: Iterable[str], rows: Iterable[dict[str, Any]]) -> int:
    """A UTF-8 CSV with a header; returns the number of rows."""
    columns = list(columns)
    count = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: "" if row.get(c) is None else row.get(c) for c in columns})
            count += 1
    return count


def _first_arrival_by_person(table: EventTable, ledger: Ledger, tag: str | None = None) -> dict[int, int]:
    frame = table.frame()
    arrival = ledger.arrival[table.key]
    mask = arrival != NOT_DELIVERED
    if tag is not None:
        mask &= frame["_tag"].to_numpy() == tag
    pids, nights = frame["_pid"].to_numpy()[mask], arrival[mask]
    out: dict[int, int] = {}
    for pid, night in zip(pids.tolist(), nights.tolist(), strict=True):
        if pid not in out or night < out[pid]:
            out[pid] = night
    return out


def _d(value: Any) -> str:
    return "" if value is None else str(value)


def person_rows(city: City, ledger: Ledger, tables: dict[tuple[str, str], EventTable],
                planted: dict[int, list[str]]) -> list[dict[str, str]]:
    """persons.csv rows: the true state of every person."""
    tl = city.timeline
    hkzx = _first_arrival_by_person(tables[("public_security", "hkzx.csv")], ledger, "death")
    huohua = _first_arrival_by_person(tables[("civil_affairs", "huohua.xlsx")], ledger, "death")
    rows = []
    for p in city.persons:
        registered = [name for name, when in (("hkzx", p.hkzx_on), ("huohua", p.cremated_on))
                      if when is not None and when <= tl.sim_end]
        known = [n for n in (hkzx.get(p.pid), huohua.get(p.pid)) if n is not None]
        retired = p.retired_on is not None and p.retired_on <= tl.sim_end
        rows.append({
            "certno": p.certno, "name": p.name, "sex": str(p.sex), "birth_date": p.birth.isoformat(),
            "death_date": _d(p.death), "death_registered_in": "+".join(registered) or ("none" if p.death else ""),
            "death_known_from": tl.extract_date(min(known)).isoformat() if known else "",
            "region": p.region if p.scheme else (p.hukou_region or p.region), "hukou_region": _d(p.hukou_region),
            "birthplace": p.birthplace, "pension_scheme": _d(p.scheme), "aac001": _d(p.aac001),
            "retired": "1" if retired else "0", "retirement_date": _d(p.retired_on) if retired else "",
            "legal_retirement_date": _d(p.legal_retirement), "special_job": "1" if p.special_job else "0",
            "monthly_pension": f"{p.pension:.2f}" if retired else "",
            "employer_id": city.employers[p.employer].aab001 if p.employer is not None else "",
            "cancel_reason": _d(p.cancel_reason), "cancelled_on": _d(p.cancelled_on),
            "emigrated_on": _d(p.cancelled_on) if p.cancel_reason == "02" else "",
            "abroad_at_end": "1" if p.abroad_on(tl.sim_end) else "0",
            "psn_no": _d(p.psn_no), "insutype": _d(p.insutype), "on_dibao": "1" if p.dibao else "0",
            "planted": ";".join(planted.get(p.pid, [])),
        })
    return rows


def corrupt_rows(out: Path, written: list[Written], start: dt.date) -> list[dict[str, str]]:
    """corrupt_deliveries.csv rows, with the re-send that replaced a delivery (if any)."""
    resends = {(w.delivery.source, w.delivery.night): w for w in written if w.delivery.sequence > 1}
    rows = []
    for w in written:
        if w.corruption is None:
            continue
        again = resends.get((w.delivery.source, w.delivery.night))
        rows.append({**w.corruption, "in_landing": "1" if w.delivery.final else "0",
                     "resent_sequence": str(again.delivery.sequence) if again else "",
                     "resent_arrives_on": _d(start + dt.timedelta(days=again.delivery.arrives)) if again else "",
                     "location": w.folder.relative_to(out).as_posix()})
    return rows


def delivery_rows(out: Path, written: list[Written], start: dt.date) -> list[dict[str, str]]:
    """deliveries.csv rows: every delivery, where it is kept and the night it arrived."""
    rows = []
    for w in written:
        d = w.delivery
        status = "corrupt" if d.corruption else ("ok" if d.final else "superseded")
        rows.append({
            "source": d.source, "extract_date": d.extract_date.isoformat(), "sequence": str(d.sequence),
            "arrives_on": (start + dt.timedelta(days=d.arrives)).isoformat(),
            "window_from": d.window[0].isoformat(), "window_to": d.window[1].isoformat(),
            "registry": "1" if d.registry else "0", "status": status,
            "location": w.folder.relative_to(out).as_posix(), "files": str(len(w.files)),
            "rows": str(sum(f.rows for f in w.files)),
        })
    return rows


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Pretty, key-sorted UTF-8 JSON."""
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def planted_by_person(rows: list[dict[str, str]], persons: list[Person]) -> dict[int, list[str]]:
    """Scenario names per person (for persons.csv)."""
    by_certno = {p.certno: p.pid for p in persons}
    out: dict[int, list[str]] = {}
    for row in rows:
        out.setdefault(by_certno[row["certno"]], []).append(row["scenario"])
    return out


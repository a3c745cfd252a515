"""`generate_city`: the whole generator, from the true population to the landing zone and truth."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lakehouse.synth.bank import Bank
from lakehouse.synth.civil_affairs import CivilAffairs
from lakehouse.synth.context import Context, Source
from lakehouse.synth.delivery import Ledger, assign_table
from lakehouse.synth.landing import Written, write_deliveries
from lakehouse.synth.lifecourse import build_city
from lakehouse.synth.medical import Medical
from lakehouse.synth.oracle import Evidence
from lakehouse.synth.pension import Pension
from lakehouse.synth.policy import Policy
from lakehouse.synth.public_security import PublicSecurity
from lakehouse.synth.quirks import QuirkLog, Speller
from lakehouse.synth.scenarios import Generators, Planter
from lakehouse.synth.schedule import Schedule, plan_schedule
from lakehouse.synth.settings import SOURCES, Settings, load_settings
from lakehouse.synth.tables import EventTable
from lakehouse.synth.timeline import Timeline
from lakehouse.synth.transit import Transit
from lakehouse.synth.truth import (
    CORRUPT_COLUMNS,
    DELIVERY_COLUMNS,
    INVALID_COLUMNS,
    PERSON_COLUMNS,
    QUIRK_COLUMNS,
    RISK_COLUMNS,
    corrupt_rows,
    delivery_rows,
    person_rows,
    planted_by_person,
    write_csv,
    write_json,
)

DEFAULT_START = dt.date(2026, 10, 1)


@dataclass(frozen=True)
class CityInfo:
    """What `generate_city` wrote.

    Attributes:
        out: the city folder; `landing` (the landing zone, state after the last night),
            `truth` (planted truth) and `superseded` (first deliveries replaced by a re-send)
            are inside it.
        seed, persons, days, start, corrupt: the arguments.
        extract_dates: per source, the extract dates it delivered (a missing night is absent).
        deliveries, files, bytes: totals of everything written under landing/ and superseded/.
        planted: per rule code, the planted hits; decoys: per rule code, the decoys.
        undetectable: plants whose evidence was not fully delivered by the last night.
        corrupt_deliveries: "source/date#sequence: REASON" of each corrupt delivery.
        skipped: special deliveries the city had too few nights for.
        unplanted_hits: with `verify=True`, strict rule hits no plant accounts for (empty).
    """

    out: Path
    landing: Path
    truth: Path
    seed: int
    persons: int
    days: int
    start: dt.date
    corrupt: bool
    extract_dates: dict[str, list[dt.date]]
    deliveries: int
    files: int
    bytes: int
    planted: dict[str, int] = field(default_factory=dict)
    decoys: dict[str, int] = field(default_factory=dict)
    undetectable: list[str] = field(default_factory=list)
    corrupt_deliveries: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unplanted_hits: list[str] = field(default_factory=list)


@dataclass
class _Run:
    """Everything one generation holds on to between its steps."""

    ctx: Context
    planter: Planter
    sources: dict[str, Source]
    tables: dict[str, list[EventTable]]
    schedule: Schedule
    ledger: Ledger


def _generate_records(ctx: Context, say: Callable[[str], None]) -> tuple[Planter, dict[str, Source],
                                                                        dict[str, list[EventTable]]]:
    """The true city's records, base behaviour first, planted records on top."""
    planter = Planter(ctx)
    planter.plan()
    say(f"planted {len(planter.plants)} cases and decoys")
    pension, medical = Pension(ctx), Medical(ctx)
    public_security, civil_affairs, transit = PublicSecurity(ctx), CivilAffairs(ctx), Transit(ctx)
    tables: dict[str, list[EventTable]] = {}
    for source in (pension, medical, public_security, civil_affairs, transit):
        tables[source.name] = source.events()
        say(f"{source.name:<16} {sum(len(t) for t in tables[source.name]):9d} event records")
    planter.inject(Generators(pension, medical, transit))
    bank = Bank(ctx, pension.tables["ic80_payment.csv"].frame())
    tables["bank"] = bank.events()
    say(f"{'bank':<16} {len(tables['bank'][0]):9d} event records")
    sources: dict[str, Source] = {"pension": pension, "medical": medical, "public_security": public_security,
                                  "civil_affairs": civil_affairs, "transit": transit, "bank": bank}
    return planter, sources, tables


def _log_delivery_quirks(log: QuirkLog, schedule: Schedule) -> None:
    for source, night in schedule.missing:
        log.add("source_missing_night", source, "", schedule.timeline.extract_date(night).isoformat())
    for d in schedule.deliveries:
        if d.sequence > 1:
            log.add("resend_sequence_2", d.source, "", d.extract_date.isoformat(),
                    note="corrupt first delivery" if not schedule.get(d.source, d.night, 1).valid  # type: ignore[union-attr]
                    else "first delivery missed records")


def _evidence(run: _Run) -> Evidence:
    flat = {t.key: t for ts in run.tables.values() for t in ts}
    cards = run.sources["transit"].cards  # type: ignore[attr-defined]
    return Evidence.build(run.ctx.city, run.ledger, run.ctx.policy, flat, cards)


def _unplanted_hits(evidence: Evidence, risks: list[dict[str, str]]) -> list[str]:
    """Strict rule hits of the whole city that no plant accounts for (should be none)."""
    planted = {(r["rule_code"], r["certno"]) for r in risks if r["is_decoy"] == "0"}
    persons = evidence.city.persons
    return [f"{code} {persons[pid].certno}" for code, pid in evidence.scan()
            if (code, persons[pid].certno) not in planted]


def _write_truth(run: _Run, out: Path, written: list[Written], info: dict,
                 evidence: Evidence) -> list[dict[str, str]]:
    ctx = run.ctx
    truth = out / "truth"
    shutil.rmtree(truth, ignore_errors=True)
    truth.mkdir(parents=True)
    flat = {t.key: t for ts in run.tables.values() for t in ts}
    risks = sorted(run.planter.resolve(evidence), key=lambda r: (r["rule_code"], r["is_decoy"], r["scenario"],
                                                                 r["certno"]))
    write_csv(truth / "planted_risks.csv", RISK_COLUMNS, risks)
    planted = planted_by_person(risks, ctx.city.persons)
    write_csv(truth / "persons.csv", PERSON_COLUMNS, person_rows(ctx.city, run.ledger, flat, planted))
    write_csv(truth / "corrupt_deliveries.csv", CORRUPT_COLUMNS, corrupt_rows(out, written, ctx.city.timeline.start))
    write_csv(truth / "deliveries.csv", DELIVERY_COLUMNS, delivery_rows(out, written, ctx.city.timeline.start))
    write_csv(truth / "invalid_ids.csv", INVALID_COLUMNS, [ctx.log.invalid[k] for k in sorted(ctx.log.invalid)])
    write_csv(truth / "quirks.csv", QUIRK_COLUMNS, [ctx.log.rows[k] for k in sorted(ctx.log.rows)])
    write_json(truth / "city.json", info | {"planted": dict(Counter(r["rule_code"] for r in risks
                                                                    if r["is_decoy"] == "0"))})
    return risks


def generate_city(persons: int, days: int, seed: int, out: Path, start: dt.date = DEFAULT_START,
                  corrupt: bool = False, *, settings: Settings | None = None,
                  progress: Callable[[str], None] | None = None, verify: bool = False) -> CityInfo:
    """Generate a synthetic city of `persons` people and `days` extract nights from `start`.

    Writes `<out>/landing/<source>/<YYYY-MM-DD>/` deliveries (night 0 the initial load, then
    nightly increments) and `<out>/truth/`; replaces those folders if they exist. The same
    arguments give byte-identical files. `corrupt=True` adds the corrupt deliveries of
    conf/synth.yaml. `progress` receives one line per step and delivery. `verify=True` also
    applies the strict rules to every person and reports hits no plant accounts for in
    `CityInfo.unplanted_hits` (slow for large cities; used by the tests).
    """
    if persons < 1:
        raise ValueError("a city needs at least one person")
    settings = settings or load_settings()
    say = progress or (lambda _msg: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    timeline = Timeline.build(start, days, settings)
    city = build_city(settings, timeline, persons, seed)
    say(f"population: {persons} persons, {len(city.employers)} employers, "
        f"{sum(p.death is not None for p in city.persons)} deaths since {timeline.obs_from}")
    log = QuirkLog()
    ctx = Context(city, settings, Policy(settings.policy), Speller(seed, settings.quirks, log), log, seed)
    planter, sources, tables = _generate_records(ctx, say)
    schedule = plan_schedule(timeline, settings, corrupt)
    _log_delivery_quirks(log, schedule)
    ledger = Ledger(schedule)
    for source in SOURCES:
        for table in tables[source]:
            assign_table(table, schedule, settings, seed, ledger, log)
    written = write_deliveries(out, schedule, sources, tables, ledger, say)
    run = _Run(ctx, planter, sources, tables, schedule, ledger)
    extract_dates = {s: schedule.extract_dates(s) for s in SOURCES}
    info = {
        "seed": seed, "persons": persons, "days": days, "start": start.isoformat(), "corrupt": corrupt,
        "sim_end": timeline.sim_end.isoformat(),
        "history_from": {s: d.isoformat() for s, d in timeline.history.items()},
        "extract_dates": {s: [d.isoformat() for d in ds] for s, ds in extract_dates.items()},
        "missing_nights": [{"source": s, "extract_date": timeline.extract_date(n).isoformat()}
                           for s, n in schedule.missing],
        "skipped": schedule.skipped,
        "layout": {"landing": "landing/<source>/<extract_date>/", "superseded": "superseded/seq-<n>/<source>/<extract_date>/"},
    }
    evidence = _evidence(run)
    risks = _write_truth(run, out, written, info, evidence)
    unplanted = _unplanted_hits(evidence, risks) if verify else []
    say(f"truth: {len(risks)} planted rows in {out / 'truth'}")
    files = [f for w in written for f in w.files]
    hits = [r for r in risks if r["is_decoy"] == "0"]
    return CityInfo(
        out=out, landing=out / "landing", truth=out / "truth", seed=seed, persons=persons, days=days, start=start,
        corrupt=corrupt, extract_dates=extract_dates, deliveries=len(written), files=len(files),
        bytes=sum((w.folder / f.name).stat().st_size for w in written for f in w.files),
        planted=dict(sorted(Counter(r["rule_code"] for r in hits).items())),
        decoys=dict(sorted(Counter(r["rule_code"] for r in risks if r["is_decoy"] == "1").items())),
        undetectable=[f"{r['rule_code']} {r['scenario']} {r['certno']}" for r in hits if not r["detectable_from"]],
        corrupt_deliveries=[f"{w.delivery.source}/{w.delivery.extract_date}#{w.delivery.sequence}: "
                            f"{w.corruption['reason']}" for w in written if w.corruption],
        skipped=list(schedule.skipped),
        unplanted_hits=unplanted,
    )

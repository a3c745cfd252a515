"""Incremental silver equals a rebuild from bronze (issue 10, point 4).

A small city (five nights) is delivered night by night as it arrived (`stage_landing`): a re-send of a
date silver had already applied, a corrupt delivery followed the next night by its re-send,
nights a source missed, a corrupt delivery never re-sent and a registry snapshot after the
initial load. Each night runs ingest and the incremental silver step; after the last night a
copy of the lake is rebuilt from bronze (`lakehouse nightly --only rebuild`) and every silver,
restricted, quarantine and de-duplication table must hold the same rows in both.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from lakehouse import applied, lake
from lakehouse.config import Env
from lakehouse.pipeline import run_step
from lakehouse.synth.replay import stage_landing
from tests.conftest import make_env

CITY = {"persons": 100, "days": 5, "seed": 5}
EVENT_TABLES = {"pension_payment", "contribution", "hukou_cancellation", "cremation", "border_crossing",
                "medical_settlement", "settlement_detail", "audit_case", "bank_txn", "transit_tap"}
REGISTRIES = {"pension_person_history", "hukou_person_history", "card_registry_history", "bank_account_history",
              "medical_insured_history", "dibao_history"}
# computed whole from other tables, rebuilt only when one of them changed
DERIVED = {"restricted.identity", "silver.death_event", "silver.emigration_event", "silver.person",
           "silver.employer", "silver.enrolment"}
# written by the run, not derived from the data: the run that wrote the row
RUN_STAMPS = {"run_date"}


@dataclass
class Nights:
    env: Env
    root: Path
    dates: list[dt.date]
    deliveries: list[dict[str, str]]
    modes: dict[dt.date, dict[str, str]]  # night → silver table → full / incremental / skip


@pytest.fixture(scope="module")
def nights(tmp_path_factory, spark) -> Nights:  # type: ignore[no-untyped-def]
    from lakehouse.synth import generate_city

    root = tmp_path_factory.mktemp("incremental")
    generate_city(out=root / "city", corrupt=True, **CITY)
    with (root / "city" / "truth" / "deliveries.csv").open(encoding="utf-8", newline="") as fh:
        deliveries = list(csv.DictReader(fh))
    dates = sorted({dt.date.fromisoformat(r["arrives_on"]) for r in deliveries})
    env = make_env(root, landing=root / "landing")
    modes = {}
    for night in dates:
        stage_landing(root / "city", night, env.paths.landing)
        for step in ("ingest", "silver"):
            run_step(step, night, env, f"incremental__{night}")
        modes[night] = _modes(env, f"incremental__{night}")
    return Nights(env, root, dates, deliveries, modes)


def test_the_nights_hold_what_the_issue_names(nights: Nights) -> None:
    """Preconditions on the generated city, so the equality below means something."""
    rows = nights.deliveries
    resent_after_applied = [r for r in rows if r["status"] == "superseded"
                            and any(o["source"] == r["source"] and o["extract_date"] == r["extract_date"]
                                    and o["arrives_on"] > r["arrives_on"] for o in rows)]
    corrupt_then_resent = [r for r in rows if r["status"] == "corrupt"
                           and any(o["source"] == r["source"] and o["extract_date"] == r["extract_date"]
                                   and o["status"] == "ok" and o["arrives_on"] > r["arrives_on"] for o in rows)]
    delivered = {(r["source"], r["extract_date"]) for r in rows}
    missed = [(s, d) for s in {r["source"] for r in rows} for d in map(str, nights.dates) if (s, d) not in delivered]
    later_snapshots = [r for r in rows if r["registry"] == "1" and r["status"] == "ok"
                       and r["extract_date"] > str(nights.dates[0])]
    assert resent_after_applied and corrupt_then_resent and missed and later_snapshots


def test_nights_after_the_first_apply_event_deliveries_incrementally(nights: Nights) -> None:
    first, *later = nights.dates
    assert set(nights.modes[first]) >= EVENT_TABLES
    assert {nights.modes[first][t] for t in EVENT_TABLES} == {"full"}
    incremental = {(night, t) for night in later for t in EVENT_TABLES if nights.modes[night][t] == "incremental"}
    # the high-volume tables go incremental on most nights; registries changing force some rebuilds
    for table in ("transit_tap", "bank_txn", "medical_settlement", "settlement_detail"):
        assert sum(1 for n, t in incremental if t == table) >= 2, (table, nights.modes)
    # registries are rebuilt on the nights a snapshot arrives, and left alone on the others
    assert {nights.modes[night]["medical_insured_history"] for night in later} == {"skip", "full"}
    # a table computed from others is rebuilt exactly on the nights one of its inputs changed
    for night in later:
        inputs = {nights.modes[night][t] for t in ("hukou_cancellation", "cremation")}
        assert nights.modes[night]["death_event"] == ("skip" if inputs == {"skip"} else "full"), (night, inputs)
    # the re-sent public-security delivery of an applied date rebuilds its tables that night
    resend_night = min(dt.date.fromisoformat(r["arrives_on"]) for r in nights.deliveries
                       if r["source"] == "public_security" and r["sequence"] == "2")
    assert nights.modes[resend_night]["hukou_cancellation"] == "full"


def test_rerunning_the_last_night_changes_no_silver_table(nights: Nights) -> None:
    env, last = nights.env, nights.dates[-1]
    recorded = sorted(nights.modes[last])
    layer = {t.partition(".")[2]: t.partition(".")[0] for t in DERIVED}
    watched = [f"{layer.get(t, 'silver')}.{t}" for t in recorded] + [applied.TABLE, "quarantine.records",
                                                                       "ops.deduplicated"]
    before = {t: _version(env, t) for t in watched}
    run_step("silver", last, env, "incremental__rerun")
    assert _modes(env, "incremental__rerun") == dict.fromkeys(recorded, "skip")
    assert {t: _version(env, t) for t in watched} == before, "a re-run writes no silver table, nor the record"


def test_incremental_silver_equals_a_rebuild_from_bronze(nights: Nights) -> None:
    env, last = nights.env, nights.dates[-1]
    copy_root = nights.root / "rebuilt"
    shutil.copytree(env.paths.lake, copy_root / "lake")
    rebuilt = make_env(copy_root, landing=env.paths.landing)
    run_step("rebuild", last, rebuilt, "incremental__rebuild")
    assert set(_modes(rebuilt, "incremental__rebuild").values()) == {"full"}

    compared = []
    for name in _tables(env):
        mine, oracle = _rows(env, name), _rows(rebuilt, name)
        assert mine == oracle, f"{name}: {_diff(mine, oracle)}"
        compared.append((name, len(mine)))
    names = {n for n, _ in compared}
    assert {f"silver.{t}" for t in EVENT_TABLES} | {"quarantine.records", "ops.deduplicated"} <= names
    assert all(n > 0 for name, n in compared if name in {"silver.transit_tap", "silver.bank_txn",
                                                           "quarantine.records", "ops.deduplicated"})
    assert len(compared) == len(_tables(rebuilt))


def _tables(env: Env) -> list[str]:
    names = [f"{layer}.{p.name}" for layer in ("silver", "restricted", "quarantine")
             for p in sorted((env.paths.lake / layer).iterdir()) if (p / "_delta_log").is_dir()]
    return [*names, "ops.deduplicated"]


def _rows(env: Env, name: str) -> list[tuple]:
    table = lake.read_arrow(env, name)
    columns = sorted(c for c in table.column_names if c not in RUN_STAMPS)
    return sorted(tuple(repr(row[c]) for c in columns) for row in table.select(columns).to_pylist())


def _diff(mine: list[tuple], oracle: list[tuple]) -> str:
    a, b = set(mine), set(oracle)
    return (f"{len(mine)} rows incremental, {len(oracle)} rebuilt; only incremental: {sorted(a - b)[:3]}; "
            f"only rebuilt: {sorted(b - a)[:3]}")


def _modes(env: Env, run_id: str) -> dict[str, str]:
    """How the run brought each event table up to date; a table it skipped keeps an older record."""
    modes = applied.run_modes(env, run_id)
    assert set(modes) == EVENT_TABLES | REGISTRIES | {t.partition(".")[2] for t in DERIVED}, sorted(modes)
    return modes


def _version(env: Env, name: str) -> int | None:
    return lake.version(env, name)

"""What a night does with each silver table (lakehouse/applied.py): skip, apply the new
deliveries, or rebuild; and the record that decides it survives a round trip through the lake."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

from lakehouse import applied, lake
from tests.conftest import make_env

N1 = ("bank", "2026-10-01", 1, "f1")
N2 = ("bank", "2026-10-02", 1, "f2")
N2_RESENT = ("bank", "2026-10-02", 2, "f2b")
N3 = ("bank", "2026-10-03", 1, "f3")


def built(*deliveries: applied.Delivery, logic: str = "L", lookups: str = "K") -> applied.Applied:
    return applied.Applied("bank_txn", logic, lookups, frozenset(deliveries))


def test_first_build_is_full() -> None:
    assert applied.plan(None, built(N1)) == ("full", frozenset({N1}))


def test_nothing_new_is_skipped() -> None:
    assert applied.plan(built(N1, N2), built(N1, N2)) == ("skip", frozenset())


def test_new_deliveries_alone_are_applied() -> None:
    assert applied.plan(built(N1), built(N1, N2, N3)) == ("incremental", frozenset({N2, N3}))


def test_each_other_change_rebuilds() -> None:
    cases = {
        "re-sent delivery": (built(N1, N2), built(N1, N2_RESENT, N3)),
        "re-run of an earlier date": (built(N1, N2, N3), built(N1, N2)),
        "new code or code lists": (built(N1), built(N1, N2, logic="L2")),
        "changed lookup (registry)": (built(N1), built(N1, N2, lookups="K2")),
    }
    for what, (previous, now) in cases.items():
        assert applied.plan(previous, now) == ("full", now.deliveries), what
    assert len(cases) == 4


def _deliveries(env, rows: list[dict]) -> None:  # type: ignore[no-untyped-def]
    table = pa.table({
        "source": [r["source"] for r in rows],
        "extract_date": pa.array([r["extract_date"] for r in rows], pa.date32()),
        "sequence": pa.array([r["sequence"] for r in rows], pa.int32()),
        "status": [r["status"] for r in rows],
        "fingerprint": [r.get("fingerprint", "") for r in rows],
        "files_json": [json.dumps([{"name": n} for n in r["files"]]) for r in rows],
    })
    lake.upsert_arrow(table, env, "ops.deliveries", ["source", "extract_date"])


def test_eligible_deliveries_list_the_file_are_loaded_and_not_after_the_run_date(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tmp_path)
    d = dt.date(2026, 10, 1)
    _deliveries(env, [
        {"source": "bank", "extract_date": d, "sequence": 1, "status": "LOADED", "fingerprint": "a",
         "files": ["acct.csv", "txn.csv"]},
        {"source": "bank", "extract_date": d + dt.timedelta(1), "sequence": 1, "status": "LOADED", "fingerprint": "b",
         "files": ["acct.csv"]},  # no transactions that night
        {"source": "bank", "extract_date": d + dt.timedelta(2), "sequence": 1, "status": "REJECTED", "fingerprint": "c",
         "files": ["txn.csv"]},
        {"source": "transit", "extract_date": d, "sequence": 1, "status": "LOADED", "fingerprint": "t",
         "files": ["txn.csv"]},  # another source
        {"source": "bank", "extract_date": d + dt.timedelta(3), "sequence": 2, "status": "LOADED", "fingerprint": "e",
         "files": ["txn.csv"]},
    ])
    log = applied.delivered(env)
    assert applied.eligible(log, "bank", "txn.csv", d + dt.timedelta(2)) == {("bank", "2026-10-01", 1, "a")}
    assert applied.eligible(log, "bank", "txn.csv", d + dt.timedelta(3)) == {
        ("bank", "2026-10-01", 1, "a"), ("bank", "2026-10-04", 2, "e")}


def test_the_record_round_trips_and_is_replaced_per_table(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = make_env(tmp_path)
    assert applied.load(env) == {}
    first = [built(N1), applied.Applied("transit_tap", "L", "K", frozenset())]
    applied.save(env, first, {"bank_txn": "full", "transit_tap": "full"}, dt.date(2026, 10, 1), "run1")
    applied.save(env, [built(N1, N2)], {"bank_txn": "incremental"}, dt.date(2026, 10, 2), "run2")
    assert applied.load(env) == {"bank_txn": built(N1, N2), "transit_tap": first[1]}
    assert applied.run_modes(env, "run2") == {"bank_txn": "incremental", "transit_tap": "skip"}

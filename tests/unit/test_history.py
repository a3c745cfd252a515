"""Registry history (lakehouse/history.py) on hand-written snapshots: SOURCES.md says registries
are full snapshots and a night without one keeps the last; silver keeps dated states."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from lakehouse import history

D1, D2, D3, D4 = dt.date(2026, 10, 4), dt.date(2026, 10, 11), dt.date(2026, 10, 18), dt.date(2026, 10, 25)
COLUMNS = "card_no string, status string, _source string, _extract_date date, _file string, _row long, _snapshot_date date"

# (card, status per snapshot D1, D2, D3; None = the key is absent from that snapshot)
SNAPSHOTS = {
    "UNCHANGED": ("A", "A", "A"),
    "LOST": ("A", "L", "L"),
    "GONE": ("A", "A", None),
    "BACK": ("A", None, "A"),
}


def snapshot_rows() -> list[tuple]:
    rows = []
    for i, day in enumerate((D1, D2, D3)):
        for n, (card, states) in enumerate(SNAPSHOTS.items()):
            if states[i] is not None:
                # delivered the night after the state date
                rows.append((card, states[i], "transit", day + dt.timedelta(days=1), "card_holder.csv", n + 1, day))
    return rows


@pytest.fixture(scope="module")
def built(spark):  # type: ignore[no-untyped-def]
    rows = spark.createDataFrame(snapshot_rows(), COLUMNS)
    hist, dedup = history.build_history(rows, ["card_no"], ["status"])
    return rows, hist, dedup


def states(hist) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    out: dict[str, list[tuple]] = {}
    for r in hist.orderBy("card_no", "valid_from").collect():
        out.setdefault(r.card_no, []).append((r.status, r.valid_from, r.valid_to))
    return out


def test_each_state_is_dated_by_the_first_snapshot_showing_it(built) -> None:  # type: ignore[no-untyped-def]
    _, hist, _ = built
    assert states(hist) == {
        "UNCHANGED": [("A", D1, None)],
        "LOST": [("A", D1, D2), ("L", D2, None)],  # the card reported lost is dated by the snapshot of D2
        "GONE": [("A", D1, D3)],  # absent from the D3 snapshot: closed on D3, not current
        "BACK": [("A", D1, D2), ("A", D3, None)],  # reappearing opens a new state
    }


def test_every_snapshot_row_is_a_history_row_or_a_documented_dedup(built) -> None:  # type: ignore[no-untyped-def]
    rows, hist, dedup = built
    assert hist.count() + dedup.count() == rows.count()
    assert {r.dedup_reason for r in dedup.collect()} == {"SNAPSHOT_UNCHANGED"}
    # the repeats: UNCHANGED on D2 and D3, LOST on D3, GONE on D2
    repeated = {(r._extract_date, r._row) for r in dedup.collect()}
    assert repeated == {(D2 + dt.timedelta(days=1), 1), (D3 + dt.timedelta(days=1), 1),
                        (D3 + dt.timedelta(days=1), 2), (D2 + dt.timedelta(days=1), 3)}
    # a history row keeps the lineage of the row that opened the state
    lost = hist.where("card_no = 'LOST' AND status = 'L'").first()
    assert (lost._extract_date, lost._file, lost._row) == (D2 + dt.timedelta(days=1), "card_holder.csv", 2)


def test_as_of_an_earlier_date_returns_the_earlier_state(built) -> None:  # type: ignore[no-untyped-def]
    _, hist, _ = built

    def on(day: dt.date) -> dict[str, str]:
        return {r.card_no: r.status for r in history.as_of(hist, day).collect()}

    assert on(D1 - dt.timedelta(days=1)) == {}
    assert on(D1) == on(D2 - dt.timedelta(days=1)) == {"UNCHANGED": "A", "LOST": "A", "GONE": "A", "BACK": "A"}
    assert on(D2) == {"UNCHANGED": "A", "LOST": "L", "GONE": "A"}
    assert on(D3) == on(D4) == {"UNCHANGED": "A", "LOST": "L", "BACK": "A"}
    assert {r.card_no for r in history.current(hist).collect()} == {"UNCHANGED", "LOST", "BACK"}
    assert {(r.card_no, r.status) for r in history.latest(hist, ["card_no"]).collect()} == {
        ("UNCHANGED", "A"), ("LOST", "L"), ("GONE", "A"), ("BACK", "A")}


def test_an_empty_snapshot_closes_every_key_and_nulls_compare_equal(spark) -> None:  # type: ignore[no-untyped-def]
    rows = spark.createDataFrame([
        ("K", None, "s", D1, "f", 1, D1), ("K", None, "s", D2, "f", 1, D2),
    ], COLUMNS)
    snapshots = spark.createDataFrame([(D1, D1), (D2, D2), (D3, D3)], "_snapshot_date date, _extract_date date")
    hist, dedup = history.build_history(rows, ["card_no"], ["status"], snapshots)
    assert [(r.valid_from, r.valid_to) for r in hist.collect()] == [(D1, D3)]
    assert [r.dedup_reason for r in dedup.collect()] == ["SNAPSHOT_UNCHANGED"]


def test_duplicate_keys_and_superseded_snapshots_are_documented(spark) -> None:  # type: ignore[no-untyped-def]
    late = D1 + dt.timedelta(days=1)
    rows = spark.createDataFrame([
        ("K", "A", "s", D1, "f", 1, D1), ("K", "L", "s", D1, "f", 2, D1),  # the same key twice in one file
        ("K", "C", "s", late, "f", 1, D1),  # … and a later extract describing the same date
    ], COLUMNS)
    hist, dedup = history.build_history(rows, ["card_no"], ["status"])
    assert [(r.status, r.valid_from, r.valid_to) for r in hist.collect()] == [("C", D1, None)]
    assert sorted(r.dedup_reason for r in dedup.collect()) == ["SNAPSHOT_SUPERSEDED", "SNAPSHOT_SUPERSEDED"]


def test_snapshots_are_dated_by_the_window_end_and_listed_from_the_manifest(spark) -> None:  # type: ignore[no-untyped-def]
    files = json.dumps([{"name": "card_holder.csv", "rows": 0, "sha256": "x"}])
    taps = json.dumps([{"name": "taps/part-00000.parquet", "rows": 3, "sha256": "y"}])
    deliveries = spark.createDataFrame([
        ("transit", D1, "LOADED", dt.date(2026, 10, 3), files),   # initial load: window ends the day before
        ("transit", D2, "LOADED", dt.date(2026, 10, 10), taps),   # events only: no new snapshot
        ("transit", D3, "REJECTED", dt.date(2026, 10, 17), files),
        ("transit", D4, "LOADED", None, files),                   # no window: the extract date
    ], history.DELIVERY_COLUMNS)
    listed = history.snapshot_dates(deliveries, "transit", "card_holder.csv", D4)
    assert sorted(r._snapshot_date for r in listed.collect()) == [dt.date(2026, 10, 3), D4]
    assert history.snapshot_dates(deliveries, "transit", "card_holder.csv", D3).count() == 1
    rows = spark.createDataFrame([("K", "A", "transit", D1, "f", 1, None)], COLUMNS).drop("_snapshot_date")
    assert history.tag_snapshots(rows, deliveries).first()._snapshot_date == dt.date(2026, 10, 3)

"""Every delivery is a folder per source and extract date whose manifest is right."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from lakehouse.synth import CityInfo
from lakehouse.synth.settings import SOURCES, load_settings
from tests.synth.conftest import day, deliveries, folder
from tests.synth.formats import count_rows


def test_landing_layout_is_one_folder_per_source_and_date(city: CityInfo) -> None:
    sources = sorted(p.name for p in city.landing.iterdir())
    assert sources == sorted(SOURCES)
    for source in SOURCES:
        dates = sorted(day(p.name) for p in (city.landing / source).iterdir())
        assert dates == city.extract_dates[source]
        assert dates[0] == city.start


def test_manifest_rows_and_sha256_match_every_valid_delivery(city: CityInfo) -> None:
    checked = 0
    for row in deliveries(city):
        if row["status"] == "corrupt":
            continue
        path = folder(city, row)
        manifest = json.loads((path / "_MANIFEST.json").read_text(encoding="utf-8"))
        assert manifest["source"] == row["source"] and manifest["extract_date"] == row["extract_date"]
        assert manifest["schema_version"] == 1 and manifest["sequence"] == int(row["sequence"])
        listed = {f["name"] for f in manifest["files"]}
        on_disk = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()} - {"_MANIFEST.json"}
        assert listed == on_disk, f"{path}: unlisted or missing files"
        for entry in manifest["files"]:
            data = (path / entry["name"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], f"{path}/{entry['name']}"
            assert count_rows(row["source"], path / entry["name"]) == entry["rows"], f"{path}/{entry['name']}"
            checked += 1
    assert checked > 200


def test_window_is_history_then_the_day_before(city: CityInfo) -> None:
    settings = load_settings()
    for row in deliveries(city):
        extract = day(row["extract_date"])
        if extract == city.start:
            assert day(row["window_from"]) == settings.history_from(row["source"], city.start)
        else:
            assert day(row["window_from"]) == extract - dt.timedelta(days=1)
        assert day(row["window_to"]) == extract - dt.timedelta(days=1)


def test_initial_load_is_big_and_registries_come_weekly(city: CityInfo) -> None:
    rows = deliveries(city)
    initial = {r["source"]: int(r["rows"]) for r in rows if day(r["extract_date"]) == city.start}
    nightly = [int(r["rows"]) for r in rows if r["source"] == "medical" and day(r["extract_date"]) > city.start]
    assert initial["medical"] > 20 * max(nightly)
    for source in SOURCES:
        registry_nights = [r for r in rows if r["source"] == source and r["registry"] == "1" and r["sequence"] == "1"]
        assert 2 <= len(registry_nights) < len(city.extract_dates[source]), source


def test_bank_has_one_txn_file_per_window_day(city: CityInfo) -> None:
    for row in deliveries(city, "ok"):
        if row["source"] != "bank":
            continue
        names = sorted(p.name for p in folder(city, row).glob("txn_*.txt"))
        first, last = day(row["window_from"]), day(row["window_to"])
        expected = [f"txn_{first + dt.timedelta(days=i):%Y%m%d}.txt" for i in range((last - first).days + 1)]
        assert names == expected


def test_taps_parts_are_listed_with_their_folder(city: CityInfo) -> None:
    manifest = json.loads((city.landing / "transit" / city.start.isoformat() / "_MANIFEST.json").read_text())
    parts = [f["name"] for f in manifest["files"] if f["name"].startswith("taps/")]
    assert parts and all(n.startswith("taps/part-") and n.endswith(".parquet") for n in parts)

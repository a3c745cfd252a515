"""Corrupt deliveries are broken in exactly the declared way, on increment nights only."""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from pathlib import Path

import pytest

from lakehouse.synth import CityInfo
from lakehouse.synth.replay import stage_landing
from tests.synth.conftest import day, deliveries, read_truth
from tests.synth.formats import count_rows


def _entry(city: CityInfo, row: dict[str, str]) -> tuple[dict, bytes]:
    path = city.out / row["location"]
    manifest = json.loads((path / "_MANIFEST.json").read_text(encoding="utf-8"))
    entry = next(f for f in manifest["files"] if f["name"] == row["file"])
    return entry, (path / row["file"]).read_bytes()


def test_four_kinds_on_non_initial_dates(city: CityInfo) -> None:
    rows = read_truth(city, "corrupt_deliveries.csv")
    assert sorted(r["reason"] for r in rows) == ["ROW_COUNT_MISMATCH", "SHA256_MISMATCH", "TRUNCATED_GZIP",
                                                  "WRONG_ENCODING"]
    assert all(day(r["extract_date"]) > city.start for r in rows)
    assert len({r["source"] for r in rows}) == 4


def test_each_corruption_is_detectable_and_the_only_fault(city: CityInfo) -> None:
    for row in read_truth(city, "corrupt_deliveries.csv"):
        entry, data = _entry(city, row)
        sha_ok = hashlib.sha256(data).hexdigest() == entry["sha256"]
        if row["reason"] == "SHA256_MISMATCH":
            assert not sha_ok
        else:
            assert sha_ok, row
        if row["reason"] == "ROW_COUNT_MISMATCH":
            assert count_rows(row["source"], city.out / row["location"] / row["file"]) != entry["rows"]
        if row["reason"] == "TRUNCATED_GZIP":
            with pytest.raises((EOFError, OSError, zlib.error)):
                gzip.decompress(data)
        if row["reason"] == "WRONG_ENCODING":
            text = data.decode("utf-8")  # the bytes are UTF-8 ...
            assert any(ord(c) > 0x4E00 for c in text)  # ... with Chinese that gives them away
            assert len(text.replace("\r\n", "\n").split("\n")[1:-1]) == entry["rows"]


def test_one_corrupt_delivery_is_resent_with_sequence_2(city: CityInfo) -> None:
    resent = [r for r in read_truth(city, "corrupt_deliveries.csv") if r["resent_sequence"]]
    assert len(resent) == 1
    row = resent[0]
    assert row["in_landing"] == "0" and row["location"].startswith("superseded/")
    landing = city.landing / row["source"] / row["extract_date"]
    manifest = json.loads((landing / "_MANIFEST.json").read_text(encoding="utf-8"))
    assert manifest["sequence"] == 2
    gzip.decompress((landing / row["file"]).read_bytes())  # the re-send is whole


def test_replay_shows_the_first_delivery_until_the_resend_arrives(city: CityInfo, tmp_path: Path) -> None:
    resent = [r for r in deliveries(city) if r["sequence"] == "2"]
    assert resent
    row = resent[0]
    before = stage_landing(city.out, day(row["extract_date"]), tmp_path / "before")
    after = stage_landing(city.out, day(row["arrives_on"]), tmp_path / "after")
    key = (row["source"], row["extract_date"])
    assert dict(((s, d), q) for s, d, q in before)[key] == 1
    assert dict(((s, d), q) for s, d, q in after)[key] == 2

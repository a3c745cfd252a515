"""A small generated city shared by the generator tests (built once per session)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from lakehouse.synth import CityInfo, generate_city

# 8 nights: room for every special delivery (missing night, re-send, the four corruptions).
CITY = {"persons": 500, "days": 8, "seed": 11}


@pytest.fixture(scope="session")
def city(tmp_path_factory: pytest.TempPathFactory) -> CityInfo:
    """500 persons, 8 nights, corrupt deliveries, every rule hit checked against the plants."""
    return generate_city(CITY["persons"], CITY["days"], CITY["seed"], tmp_path_factory.mktemp("synth-city"),
                         corrupt=True, verify=True)


def read_truth(city: CityInfo, name: str) -> list[dict[str, str]]:
    """Rows of a truth CSV."""
    with (city.truth / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def deliveries(city: CityInfo, status: str | None = None) -> list[dict[str, str]]:
    """truth/deliveries.csv rows (optionally of one status: ok, corrupt, superseded)."""
    return [r for r in read_truth(city, "deliveries.csv") if status is None or r["status"] == status]


def folder(city: CityInfo, row: dict[str, str]) -> Path:
    """Folder of a delivery row."""
    return city.out / row["location"]


def day(text: str) -> dt.date:
    """ISO date."""
    return dt.date.fromisoformat(text)

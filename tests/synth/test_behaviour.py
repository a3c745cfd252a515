"""Life signs follow the true life: they stop at death and abroad, except where planted."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow.parquet as pq

from lakehouse.identity import normalise_certno
from lakehouse.synth import CityInfo
from tests.synth.conftest import deliveries, folder, read_truth
from tests.synth.formats import csv_records, jsonl


def _planted(city: CityInfo) -> set[str]:
    return {r["certno"] for r in read_truth(city, "planted_risks.csv")}


def _deaths(city: CityInfo) -> dict[str, dt.date]:
    return {p["certno"]: dt.date.fromisoformat(p["death_date"]) for p in read_truth(city, "persons.csv")
            if p["death_date"]}


def test_no_settlement_starts_after_a_true_death_unless_planted(city: CityInfo) -> None:
    deaths, planted = _deaths(city), _planted(city)
    seen = 0
    for row in deliveries(city, "ok"):
        if row["source"] != "medical":
            continue
        for r in jsonl(folder(city, row) / "setl.jsonl.gz"):
            certno = normalise_certno(r["certno"]).certno
            if certno in deaths:
                seen += 1
                after = dt.date.fromisoformat(r["begndate"]) > deaths[certno]
                assert not after or certno in planted, r
    assert seen > 10


def test_no_tap_on_a_dead_persons_card_unless_planted(city: CityInfo) -> None:
    deaths, planted = _deaths(city), _planted(city)
    holders = {c["card_no"]: normalise_certno(c["holder_certno"]).certno
               for c in csv_records(city.landing / "transit" / city.start.isoformat() / "card_holder.csv", "utf-8")
               if c["holder_certno"]}
    taps = pd.concat([pq.read_table(p, columns=["card_no", "tap_time"]).to_pandas()
                      for r in deliveries(city, "ok") if r["source"] == "transit"
                      for p in folder(city, r).glob("taps/*.parquet")])
    taps["certno"] = taps["card_no"].map(holders)
    dead = taps[taps["certno"].isin(deaths)]
    assert len(dead) > 0  # taps of people who died later in the city exist ...
    late = dead[dead["tap_time"].dt.date > dead["certno"].map(deaths)]
    assert set(late["certno"]) <= planted  # ... but after their death only where planted


def test_pensions_stop_after_the_month_of_death_unless_planted(city: CityInfo) -> None:
    deaths, planted = _deaths(city), _planted(city)
    people = {r["AAC001"]: normalise_certno(r["AAC002"]).certno
              for r in csv_records(city.landing / "pension" / city.start.isoformat() / "ac01_person.csv", "gbk")}
    checked = 0
    for row in deliveries(city, "ok"):
        if row["source"] != "pension":
            continue
        for r in csv_records(folder(city, row) / "ic80_payment.csv", "gbk"):
            certno = people.get(r["AAC001"])
            if certno in deaths and r["AAE117"] == "1":
                checked += 1
                death = deaths[certno]
                month = int(r["AAE002"][:4]) * 12 + int(r["AAE002"][4:])
                assert month <= death.year * 12 + death.month or certno in planted, r
    assert checked > 10

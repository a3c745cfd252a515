"""The planted truth: outside the landing zone, complete, consistent with the landing files."""

from __future__ import annotations

import json
from collections import Counter

from lakehouse.identity import birth_date, normalise_certno, sex_code
from lakehouse.synth import CityInfo
from lakehouse.synth.truth import (
    CORRUPT_COLUMNS,
    DELIVERY_COLUMNS,
    INVALID_COLUMNS,
    PERSON_COLUMNS,
    QUIRK_COLUMNS,
    RISK_COLUMNS,
)
from tests.synth.conftest import CITY, day, read_truth

RULES = ["R01_PAID_AFTER_DEATH", "R02_DUPLICATE_PENSION", "R03_EARLY_RETIREMENT", "R04_CLAIM_AFTER_DEATH",
         "R05_CARD_AFTER_DEATH", "R06_TAP_WHILE_INPATIENT", "R07_LOW_CONTRIB_BASE", "R08_EMIGRATED_STILL_PAID"]


def test_truth_files_sit_outside_the_landing_zone(city: CityInfo) -> None:
    assert not city.truth.is_relative_to(city.landing)
    assert not list(city.landing.rglob("*truth*")) and not list(city.landing.rglob("persons.csv"))
    columns = {"persons.csv": PERSON_COLUMNS, "planted_risks.csv": RISK_COLUMNS, "quirks.csv": QUIRK_COLUMNS,
               "corrupt_deliveries.csv": CORRUPT_COLUMNS, "invalid_ids.csv": INVALID_COLUMNS,
               "deliveries.csv": DELIVERY_COLUMNS}
    for name, cols in columns.items():
        header = (city.truth / name).read_text(encoding="utf-8").splitlines()[0]
        assert header == ",".join(cols), name
    meta = json.loads((city.truth / "city.json").read_text(encoding="utf-8"))
    assert (meta["seed"], meta["persons"], meta["days"]) == (CITY["seed"], CITY["persons"], CITY["days"])
    assert meta["start"] == city.start.isoformat()
    assert set(meta["extract_dates"]) == set(city.extract_dates)


def test_every_rule_has_several_hits_and_decoys(city: CityInfo) -> None:
    rows = read_truth(city, "planted_risks.csv")
    hits = Counter(r["rule_code"] for r in rows if r["is_decoy"] == "0")
    decoys = Counter(r["rule_code"] for r in rows if r["is_decoy"] == "1")
    for rule in RULES:
        assert hits[rule] >= 3, rule
        assert decoys[rule] >= 1, rule
    assert hits["M01_SURVIVAL_SUSPECT"] >= 3 and hits["M02_MEDICAL_FRAUD"] >= 4


def test_hits_are_detectable_within_the_nights_with_amounts(city: CityInfo) -> None:
    rows = read_truth(city, "planted_risks.csv")
    nights = {d for ds in city.extract_dates.values() for d in ds}
    for r in rows:
        assert r["detectable_from"], r
        assert day(r["detectable_from"]) in nights
        amount = float(r["amount_at_risk"])
        if r["is_decoy"] == "1" or r["rule_code"] in ("R03_EARLY_RETIREMENT", "R05_CARD_AFTER_DEATH",
                                                     "R06_TAP_WHILE_INPATIENT", "R07_LOW_CONTRIB_BASE"):
            assert amount == 0.0, r
        elif r["rule_code"] in ("R01_PAID_AFTER_DEATH", "R02_DUPLICATE_PENSION", "R04_CLAIM_AFTER_DEATH",
                                "R08_EMIGRATED_STILL_PAID", "M02_MEDICAL_FRAUD"):
            assert amount > 0, r
    assert any(day(r["detectable_from"]) > city.start for r in rows if r["is_decoy"] == "0")


def test_no_rule_hit_that_was_not_planted(city: CityInfo) -> None:
    # the generator's oracle applied the strict rules to every person of the city
    assert city.unplanted_hits == []
    assert city.undetectable == []


def test_persons_are_consistent_with_their_id_numbers(city: CityInfo) -> None:
    persons = read_truth(city, "persons.csv")
    assert len(persons) == CITY["persons"]
    for p in persons:
        assert normalise_certno(p["certno"]).certno == p["certno"]
        assert birth_date(p["certno"]).isoformat() == p["birth_date"]
        assert sex_code(p["certno"]) == p["sex"]
        if p["death_date"]:
            assert p["death_registered_in"] in ("hkzx", "huohua", "hkzx+huohua", "none")
    dead = [p for p in persons if p["death_date"]]
    assert dead and any(p["death_registered_in"] == "none" for p in dead)
    assert any(p["birthplace"][:2] != "33" for p in persons)  # born in another province
    assert any(p["birthplace"] != p["region"] for p in persons)
    assert {p["pension_scheme"] for p in persons} >= {"110", "120", "170"}


def test_unregistered_deaths_of_pensioners_are_survival_suspects(city: CityInfo) -> None:
    persons = {p["certno"]: p for p in read_truth(city, "persons.csv")}
    suspects = {r["certno"] for r in read_truth(city, "planted_risks.csv")
                if r["rule_code"] == "M01_SURVIVAL_SUSPECT" and r["is_decoy"] == "0"}
    # (emigrants who die abroad are not registered either, but their pension stopped)
    unregistered = {c for c, p in persons.items() if p["death_registered_in"] == "none" and p["retired"] == "1"
                    and day(p["death_date"]) < city.start and not p["cancel_reason"]}
    assert suspects and suspects == unregistered


def test_invalid_ids_really_are_invalid(city: CityInfo) -> None:
    rows = read_truth(city, "invalid_ids.csv")
    reasons = Counter(r["reason"] for r in rows)
    assert reasons["CERTNO_BAD_CHECKSUM"] and reasons["CERTNO_BAD_BIRTHDATE"]
    for r in rows:
        result = normalise_certno(r["raw"])
        assert result.certno is None and result.reason == r["reason"]
        assert normalise_certno(r["true_certno"]).certno == r["true_certno"]

"""R04–R06 on a few hand-written silver rows: each rule's boundary as OUTPUTS.md states it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from jobs.rules import load_rules

D = dt.date
RUN = D(2026, 10, 1)
SETTLEMENT = ("person_ref string, med_type string, visit_start date, visit_end date, fund_pay decimal(18,2), "
              "refunded boolean")
TAP = "card_no string, person_ref string, tap_date date"
CARD = "card_no string, person_ref string, card_type string, issued_on date"
DEATH = "person_ref string, death_date date, sources array<string>"


def _hits(spark, code: str, **tables) -> dict:  # type: ignore[no-untyped-def]
    rule = next(r for r in load_rules() if r.code == code)
    inputs = {name: spark.createDataFrame(rows, schema) for name, (rows, schema) in tables.items()}
    return {h.person_ref: h for h in rule.hits(inputs, RUN).collect()}


@pytest.fixture()
def deaths() -> tuple:
    return ([("a", D(2026, 8, 1), ["hkzx"]), ("b", D(2026, 8, 1), ["huohua"]), ("c", D(2026, 8, 1), ["hkzx"])], DEATH)


def test_r04_counts_non_refunded_visits_starting_after_death(spark, deaths) -> None:  # type: ignore[no-untyped-def]
    settlements = [
        ("a", "PHARMACY", D(2026, 8, 5), D(2026, 8, 5), Decimal("40.10"), False),
        ("a", "PHARMACY", D(2026, 8, 9), D(2026, 8, 9), Decimal("9.90"), False),
        ("b", "OUTPATIENT", D(2026, 8, 1), D(2026, 8, 1), Decimal("80.00"), False),  # on the death day
        ("c", "PHARMACY", D(2026, 8, 7), D(2026, 8, 7), Decimal("55.00"), True),     # refunded
    ]
    got = _hits(spark, "R04_CLAIM_AFTER_DEATH", death_event=deaths, medical_settlement=(settlements, SETTLEMENT))
    assert set(got) == {"a"}
    assert got["a"].amount_at_risk == Decimal("50.00") and got["a"].evidence_date == D(2026, 8, 9)
    assert "户籍注销" in got["a"].evidence and "2026-08-01" in got["a"].evidence


def test_r05_needs_an_elderly_card_of_the_person_and_a_day_after_death(spark, deaths) -> None:  # type: ignore[no-untyped-def]
    cards = [("E1", "a", "ELDERLY", D(2015, 1, 1)), ("N1", "b", "NORMAL", D(2015, 1, 1)),
             ("E3", "c", "ELDERLY", D(2015, 1, 1))]
    taps = [("E1", "a", D(2026, 8, 3)), ("E1", "a", D(2026, 8, 3)), ("E1", "a", D(2026, 8, 20)),
            ("N1", "b", D(2026, 8, 3)),   # a 普通卡 after death
            ("E3", "c", D(2026, 8, 1))]   # on the death day
    got = _hits(spark, "R05_CARD_AFTER_DEATH", death_event=deaths, card_registry=(cards, CARD),
                transit_tap=(taps, TAP))
    assert set(got) == {"a"} and got["a"].evidence_date == D(2026, 8, 20)
    assert "2天" in got["a"].evidence


def test_r06_taps_strictly_inside_an_inpatient_stay(spark) -> None:  # type: ignore[no-untyped-def]
    stays = [("a", "INPATIENT", D(2026, 9, 1), D(2026, 9, 10), Decimal("900"), False),
             ("b", "INPATIENT", D(2026, 9, 1), D(2026, 9, 10), Decimal("900"), False),
             ("c", "INPATIENT", D(2026, 9, 1), D(2026, 9, 10), Decimal("900"), True),
             ("d", "OUTPATIENT", D(2026, 9, 1), D(2026, 9, 10), Decimal("90"), False)]
    taps = [("A", "a", D(2026, 9, 5)), ("B", "b", D(2026, 9, 1)), ("B", "b", D(2026, 9, 10)),
            ("C", "c", D(2026, 9, 5)), ("X", "d", D(2026, 9, 5))]
    got = _hits(spark, "R06_TAP_WHILE_INPATIENT", medical_settlement=(stays, SETTLEMENT), transit_tap=(taps, TAP))
    assert set(got) == {"a"} and got["a"].evidence_date == D(2026, 9, 5)
    assert "2026-09-01至2026-09-10" in got["a"].evidence

"""No re-identification from what an analyst can see (issue 12, point 4), through the real Trino.

The attack that worked before: an export row's `certno_masked` hides exactly the eight birth-date
digits and sits next to `person_ref`; an analyst's day-precision birth date for that `person_ref`
filled them in. Here the attacker holds every export file and an analyst's login, tries every
date the analyst can read about each exported person, and must never arrive at the real number.
A scan of everything an analyst can read then looks for raw ID numbers (by pattern and check
digit), full names and account/card numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from lakehouse import lake
from lakehouse.identity import check_char, normalise_certno

pytestmark = pytest.mark.services

ANALYST = "analyst"
ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
LONG_NUMBER = re.compile(r"[0-9]{6,}")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _export_rows(exports: Path) -> list[dict[str, str]]:
    """Every row of every risk list and certification CSV of the latest export."""
    latest = max(p for p in exports.iterdir() if p.is_dir() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.name))
    rows: list[dict[str, str]] = []
    for path in sorted(latest.glob("*/*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows += list(csv.DictReader(f))
    return rows


def _readable_columns(server: Any) -> dict[str, list[tuple[str, str]]]:
    """`schema.table` → [(column, type)] of every table and view the analyst can read."""
    out: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, data_type in server.query(
        "SELECT table_schema, table_name, column_name, data_type FROM lakehouse.information_schema.columns "
        "WHERE table_schema NOT IN ('information_schema') ORDER BY table_schema, table_name, ordinal_position",
        ANALYST,
    ):
        out.setdefault(f"{schema}.{table}", []).append((column, data_type))
    return out


def _candidates(masked: str, dates: set[dt.date]) -> set[str]:
    """Full numbers an attacker can make from `masked` (330102********123X) and candidate dates."""
    out = set()
    for d in dates:
        first17 = masked[:6] + d.strftime("%Y%m%d") + masked[14:17]
        if check_char(first17) == masked[17]:
            out.add(first17 + masked[17])
    return out


def _year_candidates(masked: str, year: int) -> int:
    """How many numbers fit `masked` when only the birth year is known (the check digit filters)."""
    day, n = dt.date(year, 1, 1), 0
    while day.year == year:
        n += len(_candidates(masked, {day}))
        day += dt.timedelta(days=1)
    return n


def test_an_export_and_an_analyst_login_cannot_rebuild_the_id_number(trino_server: Any, nightly_lake: Any) -> None:
    """No analyst-readable date carries the exported persons' birth day; the year leaves >= 10 numbers."""
    exported = [r for r in _export_rows(nightly_lake.env.paths.exports) if r.get("certno_masked")]
    assert len(exported) > 20, "the nightly export has too few rows to attack"
    truth = {
        r["person_ref"]: r["certno"]
        for r in lake.read(nightly_lake.spark, nightly_lake.env, "restricted.identity").select("person_ref", "certno").collect()
    }
    refs = sorted({r["person_ref"] for r in exported})
    birth = {ref: dt.date.fromisoformat(f"{truth[ref][6:10]}-{truth[ref][10:12]}-{truth[ref][12:14]}") for ref in refs}
    wanted = ", ".join(f"'{ref}'" for ref in refs)

    # every date (or timestamp's day) column the analyst can read next to these person_refs:
    # one that holds the birth day (or day and month, as birth date + legal age would) fills in
    # the 8 hidden digits for most rows; any other date hits the birth day by chance only
    columns_tried = 0
    leaks = []
    for table, columns in _readable_columns(trino_server).items():
        names = [c for c, _ in columns]
        dated = [c for c, t in columns if t == "date" or t.startswith("timestamp")]
        if "person_ref" not in names or not dated:
            continue
        select = ", ".join(f'CAST("{c}" AS date)' for c in dated)
        rows = trino_server.query(
            f"SELECT DISTINCT person_ref, {select} FROM lakehouse.{table} WHERE person_ref IN ({wanted})", ANALYST
        )
        for i, column in enumerate(dated, start=1):
            days: dict[str, set[tuple[int, int]]] = {}
            for r in rows:
                if r[i] is not None:
                    days.setdefault(r[0], set()).add((r[i].month, r[i].day))
            hits = sum((birth[ref].month, birth[ref].day) in seen for ref, seen in days.items())
            by_chance = sum(min(1.0, len(seen) / 365.25) for seen in days.values())
            columns_tried += bool(days)
            # a column carrying the birth day hits (nearly) everyone; transactions and signals
            # hit a person as often as their dates cover the calendar
            if days and hits > 0.2 * len(days) and hits > 3 * by_chance + 2:
                leaks.append(f"{table}.{column}: birth day of {hits} of {len(days)} exported persons "
                             f"({by_chance:.1f} by chance)")
    assert columns_tried >= 5
    assert leaks == [], "\n".join(leaks)

    # what the analyst does learn, the birth year, leaves many numbers per exported row
    years = dict(trino_server.query(
        f"SELECT person_ref, year(birth_date) FROM lakehouse.gold.person_profile WHERE person_ref IN ({wanted})",
        ANALYST,
    ))
    fits = {r["certno_masked"]: _year_candidates(r["certno_masked"], years[r["person_ref"]])
            for r in exported if years.get(r["person_ref"])}
    assert len(fits) > 20 and min(fits.values()) >= 10, min(fits.values())
    # and the real number is among them: the year is true, only the day is gone
    assert all(truth[r["person_ref"]] in _candidates(r["certno_masked"], {birth[r["person_ref"]]}) for r in exported)


def _identifiers(nightly_lake: Any) -> tuple[set[str], set[str], set[str]]:
    """(ID numbers, full names, account/card/source person numbers) as the lake holds them raw."""
    spark, env = nightly_lake.spark, nightly_lake.env
    identity = lake.read(spark, env, "restricted.identity").select("certno", "name").collect()
    certnos = {r["certno"] for r in identity if r["certno"]}
    names = {r["name"] for r in identity if r["name"]}
    numbers: set[str] = set()
    for table, column in (
        ("silver.bank_account_history", "acct_no"), ("silver.pension_payment", "bank_account"),
        ("silver.card_registry_history", "card_no"), ("silver.medical_insured_history", "psn_no"),
        ("silver.pension_person_history", "aac001"),
    ):
        numbers |= {r[0] for r in lake.read(spark, env, table).select(column).distinct().collect() if r[0]}
    return certnos, names, numbers


def test_nothing_an_analyst_can_read_holds_an_id_number_a_name_or_an_account_number(
    trino_server: Any, nightly_lake: Any
) -> None:
    certnos, names, numbers = _identifiers(nightly_lake)
    assert len(certnos) > 100 and len(names) > 100 and len(numbers) > 100
    long_names = re.compile("|".join(sorted((re.escape(n) for n in names if len(n) >= 3), key=len, reverse=True)))
    findings: list[str] = []
    cells = 0
    readable = _readable_columns(trino_server)
    assert {"gold.person_profile", "gold.risk_clue", "silver.bank_account", "silver.person"} <= set(readable)
    for table, columns in readable.items():
        texts = [c for c, t in columns if t.startswith(("varchar", "char", "array(varchar", "map(", "row("))]
        if not texts:
            continue
        select = ", ".join(
            f'"{c}"' if t.startswith(("varchar", "char")) else f'json_format(CAST("{c}" AS json))' for c, t in columns
            if c in texts
        )
        for row in trino_server.query(f"SELECT DISTINCT {select} FROM lakehouse.{table}", ANALYST):
            for column, value in zip(texts, row, strict=True):
                if value is None:
                    continue
                cells += 1
                text = str(value)
                where = f"{table}.{column}={text[:40]!r}"
                for match in ID_NUMBER.finditer(text):
                    # the 身份证号 pattern: 18 characters, a real birth date, a valid check digit
                    # (settlement ids are 18 digits too; their "birth dates" are not dates)
                    if normalise_certno(match.group()).certno or match.group().upper() in certnos:
                        findings.append(f"ID number in {where}")
                if any(token in numbers for token in LONG_NUMBER.findall(text)) or text in numbers:
                    findings.append(f"account/card/person number in {where}")
                if CJK.search(text) and (text in names or long_names.search(text)):
                    findings.append(f"full name in {where}")
    assert cells > 10_000, f"only {cells} text cells scanned"
    assert findings == [], "\n".join(findings[:20])

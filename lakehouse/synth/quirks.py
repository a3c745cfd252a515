"""Dirty spellings and data-quality quirks, each logged so tests and scoring can find it.

Decisions are hash draws on (seed, source, file, person/record), so a registry row is spelled
the same way in every snapshot and nothing depends on the order rows are generated in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from lakehouse.identity import check_char, normalise_certno
from lakehouse.synth.ids import legacy15
from lakehouse.synth.population import Person
from lakehouse.synth.rng import unit

_FULL_WIDTH = {ord(str(d)): chr(0xFF10 + d) for d in range(10)} | {ord("X"): "Ｘ"}


@dataclass(frozen=True)
class Profile:
    """Which ID quirks a source/file shows (hand-keyed files show the most)."""

    legacy15: bool = False
    lower_x: bool = False
    full_width: bool = False
    spaces: bool = False
    invalid: bool = False


PROFILES: dict[tuple[str, str], Profile] = {
    ("pension", "ac01_person.csv"): Profile(legacy15=True, spaces=True, invalid=True),
    ("medical", "psn_insu.jsonl.gz"): Profile(lower_x=True, spaces=True),
    ("medical", "setl.jsonl.gz"): Profile(lower_x=True, invalid=True),
    ("public_security", "czrk.csv"): Profile(),
    ("public_security", "hkzx.csv"): Profile(),
    ("public_security", "crj.csv"): Profile(spaces=True),
    ("civil_affairs", "huohua.xlsx"): Profile(lower_x=True, full_width=True, spaces=True, invalid=True),
    ("civil_affairs", "dibao.xlsx"): Profile(lower_x=True, full_width=True, spaces=True, invalid=True),
    ("transit", "card_holder.csv"): Profile(lower_x=True, spaces=True, invalid=True),
    ("bank", "acct.txt"): Profile(legacy15=True, lower_x=True, spaces=True),
}


@dataclass
class QuirkLog:
    """Every quirk planted, once per (quirk, source, file, key); invalid IDs separately."""

    rows: dict[tuple[str, str, str, str], dict[str, str]] = field(default_factory=dict)
    invalid: dict[tuple[str, str, str], dict[str, str]] = field(default_factory=dict)

    def add(self, quirk: str, source: str, file: str, key: str, raw: str = "", note: str = "") -> None:
        """Record one quirk instance (the first one of a key wins)."""
        self.rows.setdefault((quirk, source, file, key),
                             {"quirk": quirk, "source": source, "file": file, "key": key, "raw": raw, "note": note})

    def add_invalid(self, raw: str, source: str, file: str, key: str, certno: str) -> None:
        """Record an ID spelling that cannot be normalised, with the identity reason."""
        reason = normalise_certno(raw).reason or "VALID"
        self.invalid.setdefault((source, file, key), {
            "raw": raw, "source": source, "file": file, "key": key, "reason": reason, "true_certno": certno})


def invalid_spelling(certno: str, how: float) -> str:
    """A wrong number for `certno`: bad check character, impossible birth date or a lost digit."""
    if how < 0.45:
        wrong = "10X98765432"[("10X98765432".index(certno[17]) + 3) % 11]
        return certno[:17] + wrong
    if how < 0.85:
        impossible = "0431" if certno[10:12] == "02" else "0230"
        first17 = certno[:10] + impossible + certno[14:17]
        return first17 + check_char(first17)  # the checksum is right, the date is not
    return certno[:9] + certno[10:]


class Speller:
    """Writes a person's ID number the way a given source/file spells it."""

    def __init__(self, seed: int, rates: dict[str, Any], log: QuirkLog) -> None:
        self.seed, self.rates, self.log = seed, rates, log
        self._cache: dict[tuple[str, str, int], str] = {}
        self._shown: set[tuple[str, str, str]] = set()
        self._sex: dict[tuple[str, str, int], str] = {}
        self._shown_sex: set[str] = set()

    def certno(self, p: Person, source: str, file: str) -> str:
        """The person's number in `source`/`file` (stable across snapshots and rows)."""
        cache_key = (source, file, p.pid)
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        spelled = self._spell(p, source, file, PROFILES.get((source, file), Profile()))
        self._cache[cache_key] = spelled
        return spelled

    def _pick(self, p: Person, source: str, file: str, profile: Profile) -> str | None:
        """Which ID quirk (if any) this person shows in this file.

        A hash draw at the configured rates; and the first person eligible for a quirk the
        file has not shown yet gets it, so that even a small city shows every quirk.
        """
        r = self.rates
        eligible = {
            "certno_invalid": profile.invalid and not p.protected,
            "certno_15_digit": profile.legacy15 and p.certno[6:8] == "19",
            "certno_full_width": profile.full_width,
            "certno_spaces": profile.spaces,
            "certno_lowercase_x": profile.lower_x and p.certno.endswith("X"),
        }
        rates = {"certno_invalid": r["certno_invalid"], "certno_15_digit": r["certno_15"],
                 "certno_full_width": r["certno_full_width"], "certno_spaces": r["certno_spaces"],
                 "certno_lowercase_x": r["certno_lower_x"]}
        u = unit(self.seed, "certno", source, file, p.pid)
        for quirk, rate in rates.items():
            if quirk == "certno_lowercase_x":
                u = unit(self.seed, "x", source, file, p.pid)
            if eligible[quirk] and u < rate:
                return quirk
            u -= rate
        for quirk in rates:
            if eligible[quirk] and (source, file, quirk) not in self._shown:
                return quirk
        return None

    def _spell(self, p: Person, source: str, file: str, profile: Profile) -> str:
        certno = p.certno
        quirk = self._pick(p, source, file, profile)
        if quirk is None:
            return certno
        self._shown.add((source, file, quirk))
        if quirk == "certno_invalid":
            raw = invalid_spelling(certno, unit(self.seed, "invalid-how", source, file, p.pid))
            self.log.add_invalid(raw, source, file, certno, certno)
        elif quirk == "certno_15_digit":
            raw = legacy15(certno)
        elif quirk == "certno_full_width":
            raw = certno.translate(_FULL_WIDTH)
        elif quirk == "certno_spaces":
            raw = f" {certno}  " if unit(self.seed, "sp", p.pid) < 0.5 else f"{certno} "
        else:
            raw = certno[:17] + "x"
        self.log.add(quirk, source, file, certno, raw)
        return raw

    def record_typo(self, p: Person, source: str, file: str, key: str, rate: float) -> str | None:
        """An invalid number on a single record (a typo at the counter), or None."""
        if p.protected or unit(self.seed, "typo", source, file, key) >= rate:
            return None
        raw = invalid_spelling(p.certno, unit(self.seed, "typo-how", source, file, key))
        self.log.add_invalid(raw, source, file, key, p.certno)
        self.log.add("certno_invalid", source, file, key, raw)
        return raw

    def sex(self, p: Person, source: str, file: str, codes: tuple[str, str], unspecified: tuple[str, ...],
            *, allow_contradiction: bool = True) -> str:
        """A sex code in the source's vocabulary: sometimes unspecified (or blank), rarely
        contradicting the ID; stable per person and file; each kind shown at least once."""
        key = (source, file, p.pid)
        if key not in self._sex:
            self._sex[key] = self._sex_code(p, source, file, codes, unspecified, allow_contradiction)
        return self._sex[key]

    def _sex_code(self, p: Person, source: str, file: str, codes: tuple[str, str], unspecified: tuple[str, ...],
                  allow_contradiction: bool) -> str:
        u = unit(self.seed, "sex", source, file, p.pid)
        r = self.rates
        code = codes[p.sex - 1]
        blank_first = "" in unspecified and "sex_blank" not in self._shown_sex
        if unspecified and (u < r["sex_unspecified"] or blank_first or "sex_unspecified" not in self._shown_sex):
            pick = unspecified[int(unit(self.seed, "sexcode", source, file, p.pid) * len(unspecified))]
            code = "" if blank_first else pick
            quirk = "sex_unspecified" if code else "sex_blank"
        elif allow_contradiction and not p.protected and (
                u < r["sex_unspecified"] + r["sex_contradiction"] or "sex_contradicts_id" not in self._shown_sex):
            code, quirk = codes[2 - p.sex], "sex_contradicts_id"
        else:
            return code
        self._shown_sex.add(quirk)
        self.log.add(quirk, source, file, p.certno, code)
        return code


def slash_or_dash(seed: int, day: dt.date | None, *key: object) -> str:
    """public_security dates: `YYYY-MM-DD` or, for some records, `YYYY/MM/DD`."""
    if day is None:
        return ""
    return day.strftime("%Y/%m/%d") if unit(seed, "datestyle", *key) < 0.3 else day.isoformat()


def excel_date(seed: int, day: dt.date | None, *key: object) -> dt.date | str | None:
    """civil_affairs dates: a real Excel date, text `2026-03-05` or text `2026年3月5日`."""
    if day is None:
        return None
    u = unit(seed, "xlsxdate", *key)
    if u < 0.5:
        return day
    if u < 0.8:
        return day.isoformat()
    return f"{day.year}年{day.month}月{day.day}日"

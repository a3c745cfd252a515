"""Identifier factories: 公民身份号码, legacy 15-digit numbers, 统一社会信用代码 (GB 32100-2015)."""

from __future__ import annotations

import datetime as dt

from lakehouse.identity import check_char

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def make_certno(birthplace: str, birth: dt.date, sequence: int) -> str:
    """An 18-character number; `sequence` (0–999) carries the sex in its parity (odd = man)."""
    first17 = f"{birthplace}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)


def legacy15(certno: str) -> str:
    """The pre-1999 15-digit spelling of a number of someone born in the 1900s."""
    if certno[6:8] != "19":
        raise ValueError(f"no 15-digit spelling for a birth outside the 1900s: {certno[:6]}…")
    return certno[:6] + certno[8:17]


def _org_check(code8: str) -> str:
    """Check character of a GB 11714 organisation code."""
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(code8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return "X" if value == 10 else "0" if value == 11 else str(value)


def make_uscc(department: str, kind: str, region: str, serial: int) -> str:
    """统一社会信用代码: department (9 工商, 1 机构编制), kind, region, organisation serial."""
    code8 = f"{serial:08d}"
    body = f"{department}{kind}{region}{code8}{_org_check(code8)}"
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return body + _USCC_CHARS[(31 - total % 31) % 31]

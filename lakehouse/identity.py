"""公民身份号码 (GB 11643-1999) normalisation, pseudonymous keys and masking.

The single implementation used by the generator, the Spark jobs (through
`lakehouse.spark_identity`) and the tests. Rules: SOURCES.md "Identity",
OUTPUTS.md "Pseudonymous person key" and "Masking".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
# Full-width digits and letters (U+FF10..) and the ideographic space occur in hand-keyed data.
_FULL_WIDTH = str.maketrans(
    {**{chr(0xFF10 + i): str(i) for i in range(10)}, "Ｘ": "X", "ｘ": "X", "\u3000": " "}
)


class Reason:
    """Reason codes for an identity number that cannot be normalised."""

    EMPTY = "CERTNO_EMPTY"
    BAD_FORMAT = "CERTNO_BAD_FORMAT"
    BAD_CHECKSUM = "CERTNO_BAD_CHECKSUM"
    BAD_BIRTHDATE = "CERTNO_BAD_BIRTHDATE"


@dataclass(frozen=True)
class Normalised:
    """Outcome of normalising one raw identity number: exactly one field is set."""

    certno: str | None
    reason: str | None


def check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def _valid_birthdate(yyyymmdd: str) -> bool:
    try:
        dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return yyyymmdd[:4] >= "1880"


def normalise_certno(raw: str | None) -> Normalised:
    """Normalise a dirty identity number to 18 characters with an uppercase `X`.

    Accepts full-width digits, lowercase `x`, surrounding (and stray inner) spaces
    and legacy 15-digit numbers (upgraded by inserting `19` after the 6th digit).
    Never guesses: anything else yields a reason code instead of a number.
    """
    if raw is None:
        return Normalised(None, Reason.EMPTY)
    s = "".join(str(raw).translate(_FULL_WIDTH).split()).upper()
    if not s:
        return Normalised(None, Reason.EMPTY)
    if len(s) == 15 and s.isdigit():
        if not _valid_birthdate("19" + s[6:12]):
            return Normalised(None, Reason.BAD_BIRTHDATE)
        first17 = s[:6] + "19" + s[6:]
        return Normalised(first17 + check_char(first17), None)
    if len(s) != 18 or not s[:17].isdigit() or not (s[17].isdigit() or s[17] == "X"):
        return Normalised(None, Reason.BAD_FORMAT)
    if not _valid_birthdate(s[6:14]):
        return Normalised(None, Reason.BAD_BIRTHDATE)
    if check_char(s[:17]) != s[17]:
        return Normalised(None, Reason.BAD_CHECKSUM)
    return Normalised(s, None)


def birth_date(certno: str) -> dt.date:
    """Birth date encoded in a normalised 18-character number."""
    return dt.date(int(certno[6:10]), int(certno[10:12]), int(certno[12:14]))


def sex_code(certno: str) -> str:
    """GB/T 2261.1 sex code from the 17th digit: odd 1 (男), even 2 (女)."""
    return "1" if int(certno[16]) % 2 else "2"


def person_ref(certno: str, key: bytes) -> str:
    """First 16 hex characters of HMAC-SHA256(key, normalised number)."""
    return hmac.new(key, certno.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def mask_name(name: str | None) -> str:
    """Keep the first and last character with one `*` between (`张*三`, `张*`)."""
    name = "".join(ch for ch in (name or "") if ch.isprintable()).strip()
    if not name:
        return ""
    if len(name) == 1:
        return name + "*"
    return f"{name[0]}*{name[-1]}" if len(name) > 2 else f"{name[0]}*"


def mask_certno(certno: str | None) -> str:
    """Keep the first 6 and last 4 characters with 8 `*` between."""
    if not certno:
        return ""
    if len(certno) < 15:  # not an ID number: nothing of it is shown
        return "*" * len(certno)
    return f"{certno[:6]}********{certno[-4:]}"

"""公民身份号码 normalisation (SOURCES.md "Identity"), person_ref and masking (OUTPUTS.md)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from lakehouse.identity import (
    Reason,
    check_char,
    mask_certno,
    mask_name,
    normalise_certno,
    person_ref,
)

# Worked example from GB 11643-1999 Annex A.
STANDARD_EXAMPLE = "11010519491231002X"

dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(1999, 12, 31))
regions = st.sampled_from(["330102", "330105", "110105", "440301", "330110"])
sequences = st.integers(min_value=0, max_value=999)


@st.composite
def valid_certnos(draw: st.DrawFn) -> str:
    first17 = f"{draw(regions)}{draw(dates):%Y%m%d}{draw(sequences):03d}"
    return first17 + check_char(first17)


def full_width(s: str) -> str:
    return "".join(chr(ord(c) - 0x30 + 0xFF10) if c.isdigit() else c for c in s)


def test_check_character_of_the_standard_example() -> None:
    assert check_char(STANDARD_EXAMPLE[:17]) == "X"
    assert normalise_certno(STANDARD_EXAMPLE).certno == STANDARD_EXAMPLE


@given(valid_certnos(), st.sampled_from(["lower", "full_width", "spaces", "ideographic_space", "all"]))
def test_every_dirty_spelling_of_a_valid_number_survives(certno: str, spelling: str) -> None:
    dirty = {
        "lower": certno.lower(),
        "full_width": full_width(certno),
        "spaces": f"  {certno} ",
        "ideographic_space": f"\u3000{certno}",
        "all": f" {full_width(certno).lower()}\t",
    }[spelling]
    assert normalise_certno(dirty).certno == certno


@given(regions, dates.filter(lambda d: d.year >= 1900), sequences)
def test_fifteen_digit_upgrade_inserts_19_and_computes_the_check_character(
    region: str, birth: dt.date, seq: int
) -> None:
    legacy = f"{region}{birth:%y%m%d}{seq:03d}"
    upgraded = normalise_certno(legacy).certno
    assert upgraded is not None and len(upgraded) == 18
    assert upgraded[:6] == region and upgraded[6:14] == f"19{birth:%y%m%d}"
    # ISO 7064 MOD 11-2: sum of digit * (2^(17-i) mod 11) plus the check value ≡ 1 (mod 11)
    check_value = 10 if upgraded[17] == "X" else int(upgraded[17])
    weighted = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(upgraded[:17]))
    assert (weighted + check_value) % 11 == 1


@given(valid_certnos())
def test_a_wrong_check_character_is_rejected_never_repaired(certno: str) -> None:
    wrong = next(c for c in "0123456789X" if c != certno[17])
    assert normalise_certno(certno[:17] + wrong).reason == Reason.BAD_CHECKSUM


def test_invalid_numbers_get_reasons() -> None:
    assert normalise_certno(None).reason == Reason.EMPTY
    assert normalise_certno("   ").reason == Reason.EMPTY
    assert normalise_certno("33010219900101123").reason == Reason.BAD_FORMAT  # 17 chars
    assert normalise_certno("3301021990010112AB").reason == Reason.BAD_FORMAT
    first17 = "33010219900230123"  # 30 February
    assert normalise_certno(first17 + check_char(first17)).reason == Reason.BAD_BIRTHDATE
    assert normalise_certno("330102900230123").reason == Reason.BAD_BIRTHDATE


def test_person_ref_is_hmac_sha256_prefix() -> None:
    key = b"test-key-not-a-secret"
    expected = hmac.new(key, STANDARD_EXAMPLE.encode(), hashlib.sha256).hexdigest()[:16]
    assert person_ref(STANDARD_EXAMPLE, key) == expected
    assert len(expected) == 16 and expected == expected.lower()


def test_masking_per_outputs_contract() -> None:
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("欧阳锋") == "欧*锋"
    assert mask_name("欧阳娜娜") == "欧*娜"
    assert mask_name("张三") == "张*"
    assert mask_certno("33010219900101123X") == "330102********123X"

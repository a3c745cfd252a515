"""统一社会信用代码 (GB 32100-2015): 18 characters, the last a MOD 31 check character."""

from __future__ import annotations

# the 31 characters of the code (no I, O, S, V, Z), in value order
CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 3^(i-1) mod 31 for positions 1..17


def check_character(body: str) -> str:
    """The 18th character for the first 17."""
    total = sum(CHARS.index(c) * w for c, w in zip(body, WEIGHTS, strict=True))
    return CHARS[(31 - total % 31) % 31]


def is_valid(code: str | None) -> bool:
    """True for an 18-character code of the code alphabet with the correct check character."""
    if code is None or len(code) != 18 or any(c not in CHARS for c in code):
        return False
    return check_character(code[:17]) == code[17]

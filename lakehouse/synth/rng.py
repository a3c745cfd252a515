"""Deterministic randomness: one numpy stream per named component, and stable hash draws.

Streams are keyed by name so that adding draws to one component never shifts another;
hash draws (`unit`) give a per-record decision that does not depend on call order.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _key(*parts: object) -> int:
    digest = hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent generator for one component (`population`, `medical`, …)."""
    return np.random.default_rng([seed & 0xFFFFFFFF, _key(name) & 0xFFFFFFFF, _key(name) >> 32])


def unit(seed: int, *parts: object) -> float:
    """A uniform draw in [0, 1) fixed by the seed and the parts (e.g. source, file, person)."""
    return _key(seed, *parts) / 2**64

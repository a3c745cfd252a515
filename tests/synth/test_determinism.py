"""Same arguments, same bytes: no clock, fixed zip/gzip stamps, stable ordering."""

from __future__ import annotations

import hashlib
from pathlib import Path

from lakehouse.synth import generate_city


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        generate_city(200, 4, seed, tmp_path / name, corrupt=True)
    a, b, c = _digests(tmp_path / "a"), _digests(tmp_path / "b"), _digests(tmp_path / "c")
    assert any(name.endswith(".xlsx") for name in a) and any(name.endswith(".parquet") for name in a)
    assert a == b
    assert set(a) == set(c) and a != c

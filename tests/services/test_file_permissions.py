"""Files the nightly run leaves (lake incl. bronze and quarantine, exports, state, GX results)
are for the owner and its group only (umask 027, issue 12 point 5); the lake knows its key."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from lakehouse import keyguard

pytestmark = pytest.mark.services


@pytest.mark.parametrize("folder", ["lake", "exports", "state"])
def test_nothing_the_night_wrote_is_readable_by_other_users(nightly_lake: Any, folder: str) -> None:
    root: Path = getattr(nightly_lake.env.paths, folder)
    paths = [root, *root.rglob("*")]
    assert len(paths) > 5, f"{root} is nearly empty"
    open_to_all = [str(p) for p in paths if not p.is_symlink() and stat.S_IMODE(p.stat().st_mode) & 0o007]
    assert open_to_all == [], f"{len(open_to_all)} paths readable by others, e.g. {open_to_all[:5]}"


def test_the_lake_records_the_fingerprint_of_its_key(nightly_lake: Any, pseudonym_key: bytes) -> None:
    assert keyguard.recorded(nightly_lake.env) == keyguard.fingerprint(pseudonym_key)

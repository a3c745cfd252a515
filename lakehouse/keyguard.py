"""The lake remembers which pseudonymisation key built it, and refuses any other.

Every `person_ref` is HMAC(key, 身份证号): a changed or mistyped key would silently give every
person a new ref on the next night (all clues NEW again, closures and training labels orphaned).
On first use a fingerprint of the key is written to `<lake>/_pseudonym_key.json`; each step then
compares. The fingerprint is an HMAC of a fixed label under the key: it identifies the key
without revealing it, and cannot compute any person_ref. `lakehouse rekey` is the only way to
change the key of an existing lake.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import hmac
import json
import os
import socket
from pathlib import Path

from lakehouse.config import Env

FINGERPRINT_FILE = "_pseudonym_key.json"
_LABEL = b"lakehouse pseudonymisation key fingerprint v1"


class WrongKey(RuntimeError):
    """The key given is not the key this lake was built with."""


def fingerprint(key: bytes) -> str:
    """A stable, non-reversible identifier of `key` (32 hex characters)."""
    return hmac.new(key, _LABEL, hashlib.sha256).hexdigest()[:32]


def fingerprint_path(env: Env) -> Path:
    return env.paths.lake / FINGERPRINT_FILE


def recorded(env: Env) -> str | None:
    """The fingerprint stored in the lake, None before first use."""
    path = fingerprint_path(env)
    if not path.exists():
        return None
    return str(json.loads(path.read_text(encoding="utf-8"))["fingerprint"])


def record(env: Env, key: bytes, reason: str) -> None:
    """Store the fingerprint of `key` in the lake (first use, or after `lakehouse rekey`)."""
    path = fingerprint_path(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"fingerprint": fingerprint(key), "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
           "by": f"{getpass.getuser()}@{socket.gethostname()}", "reason": reason}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def check(env: Env, key: bytes) -> None:
    """Refuse a key other than the lake's; record it when the lake has none yet."""
    on_file = recorded(env)
    if on_file is None:
        record(env, key, "first use")
        return
    given = fingerprint(key)
    if not hmac.compare_digest(on_file, given):
        raise WrongKey(
            f"LAKEHOUSE_PSEUDONYM_KEY is not the key the lake {env.paths.lake} was built with "
            f"(fingerprint {given[:12]}…, the lake's is {on_file[:12]}…): every person_ref would "
            f"change. Set the lake's key (secrets file or environment); to change the key on purpose "
            f"use `lakehouse rekey`."
        )

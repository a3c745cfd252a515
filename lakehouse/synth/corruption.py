"""Corrupt deliveries (`corrupt=True`): a delivery is written correctly, then broken in one way.

Each break leaves exactly one reason for the pipeline to reject the delivery: the file no
longer matches its sha256; the manifest's row count is wrong (hash still right); the gzip
is cut short (hash of the cut file); a GBK file holds UTF-8 bytes (hash of those bytes).
"""

from __future__ import annotations

import fnmatch
import hashlib
from pathlib import Path

from lakehouse.synth.manifest import write_manifest
from lakehouse.synth.schedule import Delivery


def _target(body: dict, pattern: str) -> dict:
    """The manifest entry a corruption applies to: the last file matching a pattern,
    preferring one with records (an empty file has nothing to edit)."""
    matches = [f for f in body["files"] if fnmatch.fnmatch(f["name"], pattern)]
    if not matches:
        raise ValueError(f"no file {pattern!r} in the delivery to corrupt")
    return ([f for f in matches if f["rows"]] or matches)[-1]


def _change_a_digit(data: bytes) -> bytes:
    """Edit one digit, preferably in the second half (an amount fixed by hand after export);
    a file without digits gets a stray line end instead."""
    for i in [*range(len(data) // 2, len(data)), *range(len(data) // 2)]:
        if 0x30 <= data[i] <= 0x39:
            return data[:i] + bytes([0x30 + (data[i] - 0x30 + 1) % 10]) + data[i + 1:]
    return data + b"\n"


def corrupt(folder: Path, delivery: Delivery, body: dict) -> dict[str, str]:
    """Break the sealed delivery in `folder`; returns the truth row describing how."""
    spec = delivery.corruption
    assert spec is not None
    entry = _target(body, spec.file)
    if spec.kind == "wrong_encoding" and (folder / entry["name"]).read_bytes().isascii():
        # nothing Chinese in it (a tiny city): any file of the delivery that has some
        entry = next((f for f in body["files"] if not (folder / f["name"]).read_bytes().isascii()), entry)
    path = folder / entry["name"]
    data = path.read_bytes()
    if spec.kind == "sha256_mismatch":
        path.write_bytes(_change_a_digit(data))
        detail = "one digit changed after the manifest was written"
    elif spec.kind == "row_count_mismatch":
        entry["rows"] += 3
        detail = f"manifest says {entry['rows']} rows, the file has {entry['rows'] - 3}"
    elif spec.kind == "truncated_gzip":
        path.write_bytes(data[: max(10, len(data) * 3 // 5)])
        entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        detail = "gzip stream cut at 60 %; the manifest hashes the cut file"
    elif spec.kind == "wrong_encoding":
        text = data.decode("gbk")
        if all(ord(c) < 128 for c in text):
            raise ValueError(f"{entry['name']} has no Chinese text to give away a wrong encoding")
        path.write_bytes(text.encode("utf-8"))
        entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        detail = "UTF-8 bytes in a file declared GBK; sha256 and rows match the bytes"
    else:
        raise ValueError(f"unknown corruption {spec.kind!r}")
    write_manifest(folder, body)
    return {
        "source": delivery.source,
        "extract_date": delivery.extract_date.isoformat(),
        "sequence": str(delivery.sequence),
        "file": entry["name"],
        "reason": spec.kind.upper(),
        "detail": detail,
    }


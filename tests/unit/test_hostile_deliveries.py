"""Hostile and broken deliveries (issue 11): each is rejected with a reason naming the file, line or
field (or, for one bad record, quarantined per record), every other delivery of the night loads,
and a rejected re-send never hides the good sequence before it.

Ingest is file I/O with Arrow and delta-rs, so these run the real `jobs.bronze_ingest.run` on a
crafted landing without a Spark session.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs import bronze_ingest
from lakehouse import lake
from lakehouse.landing.readers import Limits, Unreadable, gunzip, read_file
from lakehouse.sources import load_sources
from tests.conftest import make_env

DAY = dt.date(2026, 11, 21)
GOOD_ID = "11010519491231002X"
CRJ = f"GMSFHM,CRJBS,CRJRQ,KADM\n{GOOD_ID},1,2026-11-20,K1\n".encode()


def deliver(landing: Path, source: str, day: dt.date, files: dict[str, bytes], sequence: int = 1,
            manifest: dict | None = None, rows: dict[str, int] | None = None) -> Path:
    """A delivery folder with a manifest that matches its files (unless told otherwise)."""
    folder = landing / source / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    listed = []
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        n = (rows or {}).get(name, max(data.count(b"\n") - 1, 0))
        listed.append({"name": name, "rows": n, "sha256": hashlib.sha256(data).hexdigest()})
    body = {"source": source, "extract_date": day.isoformat(), "schema_version": 1, "sequence": sequence,
            "window": {"from": (day - dt.timedelta(days=1)).isoformat(), "to": (day - dt.timedelta(days=1)).isoformat()},
            "files": listed, **(manifest or {})}
    (folder / "_MANIFEST.json").write_text(json.dumps(body) if not isinstance(body, str) else body)
    return folder


def ingest(tmp_path: Path, landing: Path, day: dt.date = DAY) -> dict[tuple[str, dt.date], dict]:
    env = make_env(tmp_path, landing=landing)
    bronze_ingest.run(day, env, f"test__{day}")
    return {(r["source"], r["extract_date"]): r for r in lake.read_arrow(env, "ops.deliveries").to_pylist()}


def assert_rejected_beside_a_good_one(tmp_path: Path, landing: Path, source: str, *reason_parts: str) -> dict:
    deliver(landing, "public_security", DAY, {"crj.csv": CRJ})  # the good delivery of the same night
    log = ingest(tmp_path, landing)
    assert log[("public_security", DAY)]["status"] == "LOADED"
    row = log[(source, DAY)]
    assert row["status"] == "REJECTED", row
    for part in reason_parts:
        assert part in row["reason"], row["reason"]
    return row


def test_a_field_longer_than_the_limit_rejects_its_delivery_naming_the_line(tmp_path: Path) -> None:
    data = ("AAB001,AAB004,AAB019,AAB301,AAB998\nE1," + "x" * 140_000 + ",10,330102,\n").encode("gbk")
    deliver(tmp_path / "landing", "pension", DAY, {"ab01_employer.csv": data})
    assert_rejected_beside_a_good_one(tmp_path, tmp_path / "landing", "pension", "ab01_employer.csv", "line 2")


def test_a_json_record_nested_thousands_deep_is_one_malformed_record(tmp_path: Path) -> None:
    deep = "[" * 5000 + "]" * 5000
    lines = [json.dumps({"case_id": "C1", "setl_id": None, "psn_no": "P1", "case_type": "DAOSHUA",
                         "confirmed_date": "2026-11-01", "amount": 10}), '{"case_id": ' + deep + "}"]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    deliver(tmp_path / "landing", "medical", DAY, {"audit_cases.jsonl.gz": data}, rows={"audit_cases.jsonl.gz": 2})
    deliver(tmp_path / "landing", "public_security", DAY, {"crj.csv": CRJ})
    log = ingest(tmp_path, tmp_path / "landing")
    assert log[("medical", DAY)]["status"] == "LOADED" and log[("public_security", DAY)]["status"] == "LOADED"
    env = make_env(tmp_path, landing=tmp_path / "landing")
    rows = sorted(lake.read_arrow(env, "bronze.medical__audit_cases").to_pylist(), key=lambda r: r["_row"])
    assert [r["_row"] for r in rows] == [1, 2]
    assert rows[0]["_malformed"] is None and rows[0]["case_id"] == "C1"
    assert rows[1]["_malformed"].startswith("BAD_JSON") and rows[1]["_raw"].startswith('{"case_id": [[[')


def test_parquet_with_nanosecond_timestamps_is_rejected_naming_the_file(tmp_path: Path) -> None:
    table = pa.table({"card_no": ["000000000001"], "line_id": ["L1"], "stop_id": ["S1"], "device_id": ["D1"],
                      "fare_cents": pa.array([200], pa.int32()),
                      "tap_time": pa.array([1_790_000_000_123_456_789], pa.timestamp("ns"))})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    deliver(tmp_path / "landing", "transit", DAY, {"taps/part-0.parquet": buf.getvalue()},
            rows={"taps/part-0.parquet": 1})
    assert_rejected_beside_a_good_one(tmp_path, tmp_path / "landing", "transit", "taps/part-0.parquet")


@pytest.mark.parametrize(("override", "field"), [
    ({"files": [{"name": "crj.csv", "rows": 1e999, "sha256": hashlib.sha256(CRJ).hexdigest()}]}, "rows"),
    ({"window": ["2026-11-20"]}, "window"),
    ({"sequence": "two"}, "sequence"),
    ({"files": [{"name": "../crj.csv", "rows": 1, "sha256": hashlib.sha256(CRJ).hexdigest()}]}, "leaves"),
    ({"files": [{"name": "/etc/hostname", "rows": 1, "sha256": hashlib.sha256(CRJ).hexdigest()}]}, "leaves"),
])
def test_a_bad_manifest_field_rejects_the_delivery_naming_the_field(tmp_path: Path, override: dict, field: str) -> None:
    landing = tmp_path / "landing"
    deliver(landing, "public_security", DAY, {"crj.csv": CRJ}, manifest=override)
    deliver(landing, "bank", DAY, {"acct.txt": f"6222|{GOOD_ID}|张三|20200101|N\n".encode("gb18030")},
            rows={"acct.txt": 1})
    log = ingest(tmp_path, landing)
    assert log[("bank", DAY)]["status"] == "LOADED"
    row = log[("public_security", DAY)]
    assert row["status"] == "REJECTED" and field in row["reason"], row["reason"]


def test_a_symlink_out_of_the_delivery_folder_is_never_followed(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    secret = tmp_path / "elsewhere.csv"
    secret.write_bytes(CRJ)
    folder = deliver(landing, "public_security", DAY, {"crj.csv": CRJ})
    (folder / "crj.csv").unlink()
    os.symlink(secret, folder / "crj.csv")
    deliver(landing, "bank", DAY, {"acct.txt": f"6222|{GOOD_ID}|张三|20200101|N\n".encode("gb18030")},
            rows={"acct.txt": 1})
    log = ingest(tmp_path, landing)
    assert log[("bank", DAY)]["status"] == "LOADED"
    assert log[("public_security", DAY)]["status"] == "REJECTED"
    assert "outside the delivery folder" in log[("public_security", DAY)]["reason"]


def test_an_xlsx_with_a_cell_far_out_is_rejected_without_walking_it(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证号", "性别", "死亡日期", "火化日期", "殡仪馆"])
    ws["XFD2000"] = "x"
    buf = io.BytesIO()
    wb.save(buf)
    deliver(tmp_path / "landing", "civil_affairs", DAY, {"huohua.xlsx": buf.getvalue()}, rows={"huohua.xlsx": 1})
    assert_rejected_beside_a_good_one(tmp_path, tmp_path / "landing", "civil_affairs", "huohua.xlsx", "columns")


def test_a_gzip_bomb_stops_at_the_decompression_limit() -> None:
    bomb = gzip.compress(b"0" * (8 * 2**20))
    assert len(bomb) < 50_000
    limits = Limits(file_bytes=2**30, decompressed_bytes=2**20, rows=10**6, line_chars=2**16,
                    xlsx_rows=1000, xlsx_columns=64)
    spec = next(f for f in load_sources()["medical"].files if f.table == "audit_cases")
    with pytest.raises(Unreadable, match="more than 1048576 bytes"):
        read_file(bomb, spec, limits)
    assert gunzip(gzip.compress(b"ab") + gzip.compress(b"cd"), 10) == b"abcd"  # every member, within the limit


def test_a_folder_not_named_yyyy_mm_dd_is_never_read(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    deliver(landing, "public_security", DAY, {"crj.csv": CRJ})
    odd = landing / "public_security" / "20261121"
    (landing / "public_security" / DAY.isoformat()).rename(odd)
    deliver(landing, "public_security", DAY - dt.timedelta(days=1), {"crj.csv": CRJ})
    log = ingest(tmp_path, landing)
    assert log[("public_security", DAY - dt.timedelta(days=1))]["status"] == "LOADED"
    assert log[("public_security", DAY)]["status"] == "MISSING"  # the odd folder did not count as DAY


def test_a_corrupt_resend_never_hides_the_good_sequence_and_a_fixed_one_is_looked_at_again(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    env = make_env(tmp_path, landing=landing)
    deliver(landing, "public_security", DAY, {"crj.csv": CRJ})
    log = ingest(tmp_path, landing)
    assert log[("public_security", DAY)]["status"] == "LOADED" and log[("public_security", DAY)]["sequence"] == 1
    # re-send with a file that does not match its manifest
    two = CRJ + f"{GOOD_ID},2,2026-11-21,K1\n".encode()
    folder = deliver(landing, "public_security", DAY, {"crj.csv": two}, sequence=2)
    (folder / "crj.csv").write_bytes(two + b"garbage\n")
    log = ingest(tmp_path, landing)
    assert (log[("public_security", DAY)]["status"], log[("public_security", DAY)]["sequence"]) == ("LOADED", 1)
    assert len(lake.read_arrow(env, "bronze.public_security__crj").to_pylist()) == 1
    attempts = [(r["sequence"], r["status"]) for r in sorted(
        lake.read_arrow(env, "ops.delivery_attempts").to_pylist(), key=lambda r: r["attempted_at"])
                if r["source"] == "public_security"]
    assert attempts == [(1, "LOADED"), (2, "REJECTED")]
    # the agency replaces the broken file under the same manifest: looked at again, now it loads
    (folder / "crj.csv").write_bytes(two)
    log = ingest(tmp_path, landing)
    assert (log[("public_security", DAY)]["status"], log[("public_security", DAY)]["sequence"]) == ("LOADED", 2)
    assert len(lake.read_arrow(env, "bronze.public_security__crj").to_pylist()) == 2


def test_a_registry_snapshot_that_lost_most_of_its_keys_is_held_back(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    env = make_env(tmp_path, landing=landing)
    header = "GMSFHM,XM,XBDM,CSRQ,HJDZ_XZQHDM,HKZT\n"
    full = header + "".join(f"{GOOD_ID},张三{i},1,1949-12-31,330102,0\n" for i in range(10))
    deliver(landing, "public_security", DAY - dt.timedelta(days=1), {"czrk.csv": full.encode()})
    deliver(landing, "public_security", DAY, {"czrk.csv": (header + full.splitlines(True)[1]).encode()})
    deliver(landing, "bank", DAY, {"acct.txt": f"6222|{GOOD_ID}|张三|20200101|N\n".encode("gb18030")},
            rows={"acct.txt": 1})
    log = ingest(tmp_path, landing)
    assert log[("public_security", DAY - dt.timedelta(days=1))]["status"] == "LOADED"
    assert log[("bank", DAY)]["status"] == "LOADED"
    held = log[("public_security", DAY)]
    assert held["status"] == "REJECTED" and "czrk: 1 records against 10" in held["reason"], held["reason"]
    assert len(lake.read_arrow(env, "bronze.public_security__czrk").to_pylist()) == 10


def test_a_small_registry_losing_one_real_key_is_not_held_back_but_an_empty_one_is(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    env = make_env(tmp_path, landing=landing)
    header = "GMSFHM,XM,XBDM,CSRQ,HJDZ_XZQHDM,HKZT\n"
    three = [f"{GOOD_ID},张三{i},1,1949-12-31,330102,0\n" for i in range(3)]
    deliver(landing, "public_security", DAY - dt.timedelta(days=2), {"czrk.csv": (header + "".join(three)).encode()})
    deliver(landing, "public_security", DAY - dt.timedelta(days=1),
            {"czrk.csv": (header + "".join(three[:2])).encode()})  # a third of the keys, but only one record
    deliver(landing, "public_security", DAY, {"czrk.csv": header.encode()})
    log = ingest(tmp_path, landing)
    assert log[("public_security", DAY - dt.timedelta(days=1))]["status"] == "LOADED"
    empty = log[("public_security", DAY)]
    assert empty["status"] == "REJECTED" and "czrk: 0 records against 2" in empty["reason"], empty["reason"]
    dates = sorted({r["_extract_date"] for r in lake.read_arrow(env, "bronze.public_security__czrk").to_pylist()})
    assert dates == [DAY - dt.timedelta(days=2), DAY - dt.timedelta(days=1)]

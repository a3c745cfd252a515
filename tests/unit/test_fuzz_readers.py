"""Fuzzing every reader and the manifest parser (issue 11): truncated, bit-flipped, re-encoded and
oversized files either reject their delivery with a reason (CorruptDelivery naming the file) or
load with every record accounted for (one table row per counted record, each with its row number)
— never another exception, never a silent loss."""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse.errors import CorruptDelivery
from lakehouse.landing.delivery import load_delivery, read_manifest
from lakehouse.sources import load_sources

SOURCES = load_sources()
ID = "11010519491231002X"


def _xlsx() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证号", "性别", "死亡日期", "火化日期", "殡仪馆"])
    ws.append(["张三", ID, "男", dt.date(2026, 3, 5), "2026-03-07", "西湖殡仪馆"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _parquet() -> bytes:
    table = pa.table({"card_no": ["000000000001", "000000000002"], "line_id": ["L1", "L2"], "stop_id": ["S", "T"],
                      "device_id": ["D1", "D2"], "fare_cents": pa.array([200, 100], pa.int32()),
                      "tap_time": pa.array([dt.datetime(2026, 10, 1, 8), dt.datetime(2026, 10, 1, 9)],
                                           pa.timestamp("ms"))})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


SAMPLES = {
    ("pension", "ic80_payment.csv"): "AAC001,AAE140,AAE002,AAE019,AAE010,AAE008,AAE036,AAE117\n"
                                     "P1,110,202610,3000.00,62,01,20261015,1\nP2,11,202610,1.00,6,01,20261015,1\n"
                                     .encode("gbk"),
    ("bank", "txn_20261020.txt"): "6222|20261020093000|D|ATM  |10000|500000|B01\n6223|20261020|C|AUTO|1|2|B\n"
                                  .encode("gb18030"),
    ("medical", "audit_cases.jsonl.gz"): gzip.compress(
        b'{"case_id":"C1","setl_id":null,"psn_no":"P1","case_type":"DAOSHUA","confirmed_date":"2026-11-01","amount":1}\n'
        b'{"case_id":"C2","setl_id":"S","psn_no":"P2","case_type":"XUGOU","confirmed_date":"2026-11-02","amount":2.5}\n'),
    ("civil_affairs", "huohua.xlsx"): _xlsx(),
    ("transit", "taps/part-0.parquet"): _parquet(),
}


def _mutate(data: bytes, cut: float, flips: list[tuple[float, int]], encoding: str | None) -> bytes:
    if encoding:
        with contextlib.suppress(UnicodeDecodeError):
            data = data.decode("gb18030").encode(encoding, errors="replace")
    out = bytearray(data[: max(1, int(len(data) * cut))])
    for where, bit in flips:
        i = int(where * (len(out) - 1))
        out[i] ^= 1 << bit
    return bytes(out)


def _deliver(folder: Path, source: str, name: str, data: bytes, rows: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    body = {"source": source, "extract_date": folder.name, "sequence": 1, "window": {},
            "files": [{"name": name, "rows": rows, "sha256": hashlib.sha256(data).hexdigest()}]}
    (folder / "_MANIFEST.json").write_text(json.dumps(body))
    return folder


@pytest.mark.parametrize(("source", "name"), sorted(SAMPLES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0.0, 1.0), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 7)), max_size=4),
       encoding=st.sampled_from([None, None, "utf-8", "utf-16", "latin-1"]), rows=st.integers(0, 4))
def test_any_mangled_file_is_rejected_with_a_reason_or_fully_accounted_for(
        tmp_path_factory: pytest.TempPathFactory, source: str, name: str, cut: float,
        flips: list[tuple[float, int]], encoding: str | None, rows: int) -> None:
    data = _mutate(SAMPLES[(source, name)], cut, flips, encoding)
    folder = _deliver(tmp_path_factory.mktemp("fuzz") / source / "2026-11-21", source, name, data, rows)
    try:
        loaded = load_delivery(read_manifest(source, folder), SOURCES[source])
    except CorruptDelivery as exc:
        assert exc.file in (name, "_MANIFEST.json") and exc.reason
        return
    (lf,) = loaded.files
    assert lf.parsed.row_count == rows  # the manifest's count was met
    table = lf.parsed.table
    # every counted record is a row; xlsx counts only non-empty rows, which are exactly its records
    assert table.num_rows == rows
    assert table.column("_row").null_count == 0
    assert len(set(table.column("_row").to_pylist())) == rows


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                   max_size=4), max_leaves=12),
       top=st.dictionaries(st.sampled_from(["files", "window", "sequence", "source", "extract_date", "rows"]),
                           st.none() | st.integers() | st.text(max_size=5) | st.lists(st.integers(), max_size=2),
                           max_size=4))
def test_any_manifest_parses_or_rejects_naming_the_manifest(tmp_path_factory: pytest.TempPathFactory,
                                                            body: object, top: dict) -> None:
    folder = tmp_path_factory.mktemp("manifest") / "pension" / "2026-11-21"
    folder.mkdir(parents=True)
    for doc in (body, {**top, "files": top.get("files", body)}):
        (folder / "_MANIFEST.json").write_text(json.dumps(doc, allow_nan=True))
        try:
            read_manifest("pension", folder)
        except CorruptDelivery as exc:
            assert exc.file == "_MANIFEST.json" and exc.reason

"""Landing readers and manifest checks on small hand-made files (SOURCES.md format rules)."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.errors import CorruptDelivery
from lakehouse.landing.delivery import load_delivery, read_manifest
from lakehouse.landing.readers import Unreadable, read_file
from lakehouse.sources import load_sources

SOURCES = load_sources()


def spec(source: str, table: str):  # type: ignore[no-untyped-def]
    return next(f for f in SOURCES[source].files if f.table == table)


def test_gbk_csv_columns_matched_by_name_in_any_order_and_drift_kept() -> None:
    text = "AAE140,AAC001,AAE002,AAE019,AAE010,AAE008,AAE036,AAE117,NEWCOL\r\n110,P1,202610,3000.00,62,01,20261015,1,新\r\n"
    parsed = read_file(text.encode("gbk"), spec("pension", "ic80_payment"))
    assert parsed.row_count == 1 and parsed.extra_columns == ["NEWCOL"]
    rec = parsed.records[0]
    assert rec.values["AAC001"] == "P1" and rec.values["AAE140"] == "110" and rec.extra == {"NEWCOL": "新"}


def test_utf8_bytes_declared_gbk_are_rejected() -> None:
    text = "AAC001,AAE140,AAE002,AAE019,AAE010,AAE008,AAE036,AAE117\n张三,110,202610,1,2,3,4,1\n"
    with pytest.raises(Unreadable, match="UTF-8"):
        read_file(text.encode("utf-8"), spec("pension", "ic80_payment"))


def test_missing_required_column_is_unreadable() -> None:
    with pytest.raises(Unreadable, match="AAE117"):
        read_file(b"AAC001,AAE140,AAE002,AAE019,AAE010,AAE008,AAE036\n", spec("pension", "ic80_payment"))


def test_bank_line_with_wrong_field_count_is_malformed_not_dropped() -> None:
    data = "6222|20261020093000|D|ATM  |10000|500000|B01\n6222|bad line\n".encode("gb18030")
    parsed = read_file(data, spec("bank", "txn"))
    assert parsed.row_count == 2
    assert parsed.records[0].values["channel"] == "ATM  "  # raw, trailing spaces kept in bronze
    assert parsed.records[1].malformed and parsed.records[1].raw == "6222|bad line" and parsed.records[1].row == 2


def test_truncated_gzip_is_unreadable() -> None:
    data = gzip.compress(b'{"setl_id": "S1"}\n' * 50)[:-12]
    with pytest.raises(Unreadable, match="gzip"):
        read_file(data, spec("medical", "audit_cases"))


def test_xlsx_title_and_empty_rows_above_header_and_three_date_styles() -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["2026年火化名单"])
    ws.append([])
    ws.append(["姓名", "身份证号", "性别", "死亡日期", "火化日期", "殡仪馆"])
    ws.append(["张三", "11010519491231002X", "男", dt.datetime(2026, 3, 5), "2026-03-07", "西湖殡仪馆"])
    ws.append([])
    ws.append(["李四", "11010519491231002X", "女", "2026年3月5日", dt.date(2026, 3, 6), "西湖殡仪馆"])
    buf = io.BytesIO()
    wb.save(buf)
    parsed = read_file(buf.getvalue(), spec("civil_affairs", "huohua"))
    assert parsed.row_count == 2
    assert [r.values["死亡日期"] for r in parsed.records] == ["2026-03-05", "2026年3月5日"]
    assert [r.row for r in parsed.records] == [4, 6]


@pytest.mark.parametrize("unit", ["ms", "us"])
def test_parquet_tap_time_of_either_unit_becomes_microsecond_text(unit: str) -> None:
    table = pa.table({
        "card_no": ["000000000001"], "tap_time": pa.array([dt.datetime(2026, 10, 1, 8, 30, 1, 123000)], pa.timestamp(unit)),
        "line_id": ["L1"], "stop_id": ["S1"], "device_id": ["D1"], "fare_cents": pa.array([200], pa.int32()),
    })
    buf = io.BytesIO()
    pq.write_table(table, buf)
    parsed = read_file(buf.getvalue(), spec("transit", "taps"))
    assert parsed.records[0].values["tap_time"] == "2026-10-01 08:30:01.123000"


def _delivery(tmp_path: Path, rows: int, tamper: bool = False) -> Path:
    folder = tmp_path / "public_security" / "2026-10-02"
    folder.mkdir(parents=True)
    data = b"GMSFHM,CRJBS,CRJRQ,KADM\n11010519491231002X,1,2026-10-01,K1\n"
    (folder / "crj.csv").write_bytes(data + (b"x" if tamper else b""))
    manifest = {"source": "public_security", "extract_date": "2026-10-02", "schema_version": 1, "sequence": 1,
                "window": {"from": "2026-10-01", "to": "2026-10-01"},
                "files": [{"name": "crj.csv", "rows": rows, "sha256": hashlib.sha256(data).hexdigest()}]}
    (folder / "_MANIFEST.json").write_text(json.dumps(manifest))
    return folder


def test_manifest_row_count_mismatch_rejects_the_delivery(tmp_path: Path) -> None:
    folder = _delivery(tmp_path, rows=2)
    with pytest.raises(CorruptDelivery) as err:
        load_delivery(read_manifest("public_security", folder), SOURCES["public_security"])
    assert err.value.file == "crj.csv" and "1 rows, manifest says 2" in err.value.reason
    assert "public_security/2026-10-02/crj.csv" in str(err.value)


def test_manifest_checksum_mismatch_rejects_the_delivery(tmp_path: Path) -> None:
    folder = _delivery(tmp_path, rows=1, tamper=True)
    with pytest.raises(CorruptDelivery, match="sha256"):
        load_delivery(read_manifest("public_security", folder), SOURCES["public_security"])


def test_a_good_delivery_loads(tmp_path: Path) -> None:
    folder = _delivery(tmp_path, rows=1)
    loaded = load_delivery(read_manifest("public_security", folder), SOURCES["public_security"])
    assert loaded.files[0].parsed.records[0].values["CRJBS"] == "1" and loaded.drift == []

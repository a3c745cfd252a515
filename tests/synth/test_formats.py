"""Formats exactly as SOURCES.md declares them, re-read independently and strictly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.synth import CityInfo
from tests.synth.conftest import deliveries, folder
from tests.synth.formats import csv_records, jsonl, text_lines, xlsx_rows

PENSION_HEADERS = {
    "ab01_employer.csv": {"AAB001", "AAB004", "AAB019", "AAB301", "AAB998"},
    "ac01_person.csv": {"AAC001", "AAC002", "AAC003", "AAC004", "AAC006", "AAB301", "AAC084", "AIC162", "AAC058"},
    "ac20_enrollment.csv": {"AAC001", "AAB001", "AAE140", "AAC031", "AAE030", "AAE031"},
    "ac43_contribution.csv": {"AAC001", "AAB001", "AAE140", "AAE002", "AAE180", "AAE020", "AAE022", "AAE036"},
    "ic80_payment.csv": {"AAC001", "AAE140", "AAE002", "AAE019", "AAE010", "AAE008", "AAE036", "AAE117"},
}


def _initial(city: CityInfo, source: str) -> Path:
    return city.landing / source / city.start.isoformat()


def test_pension_is_gbk_with_dictionary_headers(city: CityInfo) -> None:
    base = _initial(city, "pension")
    for name, required in PENSION_HEADERS.items():
        data = (base / name).read_bytes()
        lines = text_lines(data, "gbk")
        assert required <= set(lines[0].split(","))
        assert b"\r\n" in data
        if name in ("ab01_employer.csv", "ac01_person.csv"):
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")  # real GBK Chinese, not UTF-8 in disguise
    people = csv_records(base / "ac01_person.csv", "gbk")
    assert all(r["AAC006"].isdigit() and len(r["AAC006"]) == 8 for r in people)
    payments = csv_records(base / "ic80_payment.csv", "gbk")
    assert all(len(r["AAE019"].split(".")[1]) == 2 for r in payments)  # yuan with 2 decimals
    assert {r["AAE117"] for r in payments} >= {"1", "3"}


def test_medical_is_gzip_jsonl_with_platform_fields(city: CityInfo) -> None:
    base = _initial(city, "medical")
    setl = jsonl(base / "setl.jsonl.gz")
    assert {"setl_id", "psn_no", "certno", "med_type", "begndate", "enddate", "hifp_pay", "refd_setl_flag"} <= set(setl[0])
    assert {r["med_type"] for r in setl} == {"11", "14", "21", "41"}
    for r in setl:
        if r["med_type"] in ("11", "41"):
            assert r["begndate"] == r["enddate"]
    inpatient = [r for r in setl if r["med_type"] == "21"]
    assert any(dt.date.fromisoformat(r["enddate"]) > dt.date.fromisoformat(r["begndate"]) for r in inpatient)
    assert {"case_type", "confirmed_date"} <= set(jsonl(base / "audit_cases.jsonl.gz")[0])
    insured = jsonl(base / "psn_insu.jsonl.gz")
    assert {r["insutype"] for r in insured} == {"310", "390"}


def test_public_security_dates_in_both_styles(city: CityInfo) -> None:
    base = _initial(city, "public_security")
    czrk = csv_records(base / "czrk.csv", "utf-8")
    hkzx = csv_records(base / "hkzx.csv", "utf-8")
    dates = [r["CSRQ"] for r in czrk] + [r["ZXRQ"] for r in hkzx]
    assert any("/" in d for d in dates) and any("-" in d for d in dates)
    assert {r["ZXYYDM"] for r in hkzx} >= {"01", "02"}
    assert all(r["SWRQ"] for r in hkzx if r["ZXYYDM"] == "01")
    assert {r["CRJBS"] for r in csv_records(base / "crj.csv", "utf-8")} == {"1", "2"}


def test_civil_affairs_are_real_workbooks_with_three_date_styles(city: CityInfo) -> None:
    styles: set[str] = set()
    header_rows: set[int] = set()
    for row in deliveries(city, "ok"):
        if row["source"] != "civil_affairs":
            continue
        for path in folder(city, row).glob("*.xlsx"):
            header, body, header_at = xlsx_rows(path)
            header_rows.add(header_at)
            assert "身份证号" in header and "姓名" in header
            for r in body:
                for value in r:
                    if isinstance(value, dt.datetime):
                        styles.add("excel")
                    elif isinstance(value, str) and "年" in value and "日" in value:
                        styles.add("chinese")
                    elif isinstance(value, str) and len(value) == 10 and value[4] == "-":
                        styles.add("iso")
    assert styles == {"excel", "chinese", "iso"}
    assert 1 in header_rows and len(header_rows) > 1  # some with a title and/or empty row above


def test_taps_parquet_schema_and_units(city: CityInfo) -> None:
    units = set()
    for row in deliveries(city, "ok"):
        if row["source"] != "transit":
            continue
        for part in folder(city, row).glob("taps/part-*.parquet"):
            schema = pq.read_schema(part)
            assert pa.types.is_timestamp(schema.field("tap_time").type)
            assert schema.field("tap_time").type.tz is None
            assert schema.field("fare_cents").type == pa.int32()
            assert schema.field("card_no").type == pa.string()
            units.add(schema.field("tap_time").type.unit)
    assert units == {"ms", "us"}


def test_card_holders_utf8_and_bank_gb18030_headerless(city: CityInfo) -> None:
    cards = csv_records(_initial(city, "transit") / "card_holder.csv", "utf-8")
    assert all(len(r["card_no"]) == 12 and r["card_no"].isdigit() for r in cards)
    assert {r["card_type"] for r in cards} >= {"01", "05"}
    acct = text_lines((_initial(city, "bank") / "acct.txt").read_bytes(), "gb18030")
    assert all(len(line.split("|")) == 5 for line in acct)
    txn_lines = [ln for p in _initial(city, "bank").glob("txn_*.txt")
                 for ln in text_lines(p.read_bytes(), "gb18030")]
    well_formed = [ln.split("|") for ln in txn_lines if len(ln.split("|")) == 7]
    assert {f[3].strip() for f in well_formed} == {"CTR", "ATM", "POS", "MOB", "AUTO"}
    assert all(f[4].strip().isdigit() for f in well_formed)  # amounts in fen

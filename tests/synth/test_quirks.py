"""Every quirk of SOURCES.md is present in a small city, logged in truth/quirks.csv, and
really in the delivered files where it is logged."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pandas as pd
import pyarrow.parquet as pq

from lakehouse.identity import normalise_certno
from lakehouse.synth import CityInfo
from tests.synth.conftest import deliveries, folder, read_truth
from tests.synth.formats import csv_records, jsonl, text_lines, xlsx_rows

EXPECTED = {
    "certno_15_digit", "certno_lowercase_x", "certno_full_width", "certno_spaces", "certno_invalid",
    "sex_unspecified", "sex_blank", "sex_contradicts_id", "old_scheme_code", "old_new_double_record", "refund",
    "setl_certno_invalid_psn_no_resolves", "duplicate_tap", "anonymous_card", "lost_card", "bank_malformed_line",
    "bank_trailing_spaces", "schema_drift_column", "shuffled_columns", "source_missing_night", "resend_sequence_2",
    "late_record", "exact_resend", "date_style_slash", "xlsx_title_row", "xlsx_blank_row", "xlsx_date_excel",
    "xlsx_date_text_iso", "xlsx_date_text_chinese", "parquet_ms_unit", "parquet_us_unit",
}


def _ok(city: CityInfo, source: str) -> list:
    return [folder(city, r) for r in deliveries(city, "ok") if r["source"] == source]


def test_every_quirk_is_planted(city: CityInfo) -> None:
    present = {r["quirk"] for r in read_truth(city, "quirks.csv")}
    assert present >= EXPECTED, EXPECTED - present


def test_dirty_id_spellings_are_in_the_files(city: CityInfo) -> None:
    ac01 = csv_records(city.landing / "pension" / city.start.isoformat() / "ac01_person.csv", "gbk")
    spellings = [r["AAC002"] for r in ac01]
    assert any(len(s) == 15 and s.isdigit() for s in spellings)
    assert any(s != s.strip() for s in spellings)
    hand = [str(v) for f in _ok(city, "civil_affairs") for x in f.glob("*.xlsx") for row in xlsx_rows(x)[1]
            for v in row if v is not None]
    assert any(any("\uff10" <= ch <= "\uff19" for ch in v) for v in hand)  # full-width digits
    lower = [r["certno"] for f in _ok(city, "medical") if (f / "psn_insu.jsonl.gz").exists()
             for r in jsonl(f / "psn_insu.jsonl.gz")]
    assert any(s and s.endswith("x") for s in lower)
    # each normalises to a valid number unless logged invalid
    invalid = {r["raw"] for r in read_truth(city, "invalid_ids.csv")}
    for s in spellings:
        assert normalise_certno(s).certno is not None or s in invalid


def test_old_and_new_scheme_codes_for_one_person_and_month(city: CityInfo) -> None:
    payments = pd.DataFrame(csv_records(city.landing / "pension" / city.start.isoformat() / "ic80_payment.csv", "gbk"))
    assert set(payments["AAE140"]) >= {"110", "11", "120", "170"}
    codes = payments.groupby(["AAC001", "AAE002"])["AAE140"].agg(lambda s: ",".join(sorted(s)))
    assert (codes == "11,110").any() and (codes == "120,JG").any()


def test_refunds_repeat_the_setl_id_negated_without_details(city: CityInfo) -> None:
    setl = [r for f in _ok(city, "medical") for r in jsonl(f / "setl.jsonl.gz")]
    details = {r["setl_id"] for f in _ok(city, "medical") for r in jsonl(f / "setl_detail.jsonl.gz")}
    refunds = [r for r in setl if r["refd_setl_flag"] == "1"]
    assert refunds
    originals = {r["setl_id"]: r for r in setl if r["refd_setl_flag"] == "0"}
    for r in refunds:
        o = originals.get(r["setl_id"])
        if o is not None:
            assert r["medfee_sumamt"] == -o["medfee_sumamt"] and r["hifp_pay"] == -o["hifp_pay"]
            assert o["setl_id"] in details
    assert sum(1 for r in refunds if r["setl_id"] in originals) > 0


def test_settlement_certno_invalid_but_psn_no_known(city: CityInfo) -> None:
    logged = [r for r in read_truth(city, "invalid_ids.csv") if r["file"] == "setl.jsonl.gz"]
    setl = {r["setl_id"]: r for f in _ok(city, "medical") for r in jsonl(f / "setl.jsonl.gz")}
    insured = {r["psn_no"]: r for f in _ok(city, "medical") if (f / "psn_insu.jsonl.gz").exists()
               for r in jsonl(f / "psn_insu.jsonl.gz")}
    checked = 0
    for row in logged:
        record = setl.get(row["key"])
        if record is None:
            continue
        assert record["certno"] == row["raw"] and normalise_certno(record["certno"]).certno is None
        holder = insured[record["psn_no"]]
        assert normalise_certno(holder["certno"]).certno == row["true_certno"]
        checked += 1
    assert checked


def test_duplicate_taps_anonymous_and_lost_cards(city: CityInfo) -> None:
    taps = pd.concat([pq.read_table(p).to_pandas() for f in _ok(city, "transit") for p in f.glob("taps/*.parquet")])
    dupes = taps.duplicated(["card_no", "tap_time", "device_id"])
    assert dupes.any()
    cards = csv_records(city.landing / "transit" / city.start.isoformat() / "card_holder.csv", "utf-8")
    anonymous = {c["card_no"] for c in cards if not c["holder_certno"]}
    assert anonymous and taps["card_no"].isin(anonymous).any()
    lost = [c for c in cards if c["status"] == "L"]
    assert lost
    holders = Counter(c["holder_certno"] for c in cards)
    assert all(holders[c["holder_certno"]] >= 2 for c in lost if c["holder_certno"])  # a replacement card


def test_bank_lines_malformed_and_padded(city: CityInfo) -> None:
    lines = [ln for f in _ok(city, "bank") for p in f.glob("txn_*.txt") for ln in text_lines(p.read_bytes(), "gb18030")]
    counts = Counter(len(ln.split("|")) for ln in lines)
    assert counts[7] > 100 and set(counts) - {7}
    assert any(field != field.rstrip() for ln in lines for field in ln.split("|"))


def test_schema_drift_and_shuffled_headers(city: CityInfo) -> None:
    night1 = (city.start + dt.timedelta(days=1)).isoformat()
    header = text_lines((city.landing / "pension" / night1 / "ic80_payment.csv").read_bytes(), "gbk")[0].split(",")
    assert "AAE013" in header
    setl = jsonl(city.landing / "medical" / night1 / "setl.jsonl.gz")
    assert all("mdtrt_cert_type" in r for r in setl)
    ac43 = text_lines((city.landing / "pension" / city.start.isoformat() / "ac43_contribution.csv").read_bytes(),
                      "gbk")[0].split(",")
    assert ac43 != ["AAC001", "AAB001", "AAE140", "AAE002", "AAE180", "AAE020", "AAE022", "AAE036"]
    assert sorted(ac43) == sorted(["AAC001", "AAB001", "AAE140", "AAE002", "AAE180", "AAE020", "AAE022", "AAE036"])


def test_a_source_misses_a_night_and_a_date_is_resent(city: CityInfo) -> None:
    all_nights = {city.start + dt.timedelta(days=i) for i in range(city.days)}
    missing = [s for s, dates in city.extract_dates.items() if set(dates) != all_nights]
    assert missing
    resent = [r for r in deliveries(city) if r["sequence"] == "2" and r["status"] == "ok"]
    superseded = [r for r in deliveries(city) if r["location"].startswith("superseded/")]
    assert resent and len(superseded) == len(resent)

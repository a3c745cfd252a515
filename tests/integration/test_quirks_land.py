"""Every quirk of SOURCES.md, by name, on the generated city: the generator logs where it planted
each one (truth/quirks.csv); each test proves those records land correctly in silver or sit in
quarantine with the right reason. Expected values come from the generator's truth, not the pipeline."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import defaultdict

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse import lake
from lakehouse.identity import normalise_certno, person_ref

# the home table where a file's person-bearing records land (registries: their history)
HOME = {
    ("pension", "ac01_person.csv"): "silver.pension_person_history",
    ("medical", "psn_insu.jsonl.gz"): "silver.medical_insured_history",
    ("medical", "setl.jsonl.gz"): "silver.medical_settlement",
    ("public_security", "czrk.csv"): "silver.hukou_person_history",
    ("public_security", "hkzx.csv"): "silver.hukou_cancellation",
    ("public_security", "crj.csv"): "silver.border_crossing",
    ("civil_affairs", "huohua.xlsx"): "silver.cremation",
    ("civil_affairs", "dibao.xlsx"): "silver.dibao_history",
    ("transit", "card_holder.csv"): "silver.card_registry_history",
    ("bank", "acct.txt"): "silver.bank_account_history",
}


# registry files → (bronze table, column of the raw number)
REGISTRY_FILES = {
    ("pension", "ac01_person.csv"): ("pension__ac01_person", "AAC002"),
    ("medical", "psn_insu.jsonl.gz"): ("medical__psn_insu", "certno"),
    ("public_security", "czrk.csv"): ("public_security__czrk", "GMSFHM"),
    ("civil_affairs", "dibao.xlsx"): ("civil_affairs__dibao", "身份证号"),
    ("transit", "card_holder.csv"): ("transit__card_holder", "holder_certno"),
    ("bank", "acct.txt"): ("bank__acct", "certno"),
}


def _invalid_keys(quirks, file: str) -> set[str]:  # type: ignore[no-untyped-def]
    """True numbers whose record in `file` carries an invalid spelling (quarantined by contract)."""
    return {q["key"] for q in quirks["certno_invalid"] if q["file"] == file}


@pytest.fixture(scope="module")
def quirks(nightly_lake) -> dict[str, list[dict[str, str]]]:  # type: ignore[no-untyped-def]
    out: dict[str, list[dict[str, str]]] = defaultdict(list)
    with open(nightly_lake.city.truth / "quirks.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            out[row["quirk"]].append(row)
    return out


def _table(nightly_lake, name: str) -> DataFrame:  # type: ignore[no-untyped-def]
    return lake.read(nightly_lake.spark, nightly_lake.env, name)


def _quarantine(nightly_lake) -> list:  # type: ignore[no-untyped-def]
    return _table(nightly_lake, "quarantine.records").collect()


def _ref(certno: str, key: bytes) -> str:
    return person_ref(normalise_certno(certno).certno, key)


def _refs_in(nightly_lake, table: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {r.person_ref for r in _table(nightly_lake, table).select("person_ref").distinct().collect()}


def _loaded_dates(nightly_lake, source: str) -> set[str]:  # type: ignore[no-untyped-def]
    log = _table(nightly_lake, "ops.deliveries").where((F.col("source") == source) & (F.col("status") == "LOADED"))
    return {r.extract_date.isoformat() for r in log.collect()}


@pytest.mark.parametrize("quirk", ["certno_15_digit", "certno_lowercase_x", "certno_full_width", "certno_spaces"])
def test_dirty_spelling_of_a_valid_number_links_the_record_to_its_person(nightly_lake, quirks, pseudonym_key,
                                                                          quirk: str) -> None:  # type: ignore[no-untyped-def]
    checked = 0
    by_table: dict[str, set[str]] = {}
    for q in quirks[quirk]:
        table = HOME.get((q["source"], q["file"]))
        # registries only: every snapshot repeats them, while an event of a rejected night may not be re-sent yet
        if table is None or (q["source"], q["file"]) not in REGISTRY_FILES:
            continue
        bronze_table, column = REGISTRY_FILES[(q["source"], q["file"])]
        # a spelling logged in a delivery that was rejected (and not yet re-sent) never reached bronze
        if _table(nightly_lake, f"bronze.{bronze_table}").where(F.col(column) == q["raw"]).limit(1).count() == 0:
            continue
        refs = by_table.setdefault(table, _refs_in(nightly_lake, table))
        assert _ref(q["key"], pseudonym_key) in refs, f"{quirk} {q['source']}/{q['file']} {q['raw']!r}"
        checked += 1
    assert checked, f"the city plants {quirk} in a person-bearing file"


def test_certno_invalid_is_quarantined_with_its_reason_never_guessed(nightly_lake, quirks, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    quarantined = defaultdict(list)
    for r in _quarantine(nightly_lake):
        quarantined[r._source].append((r.raw_record, list(r.reasons)))
    checked = 0
    for q in quirks["certno_invalid"]:
        # a settlement with an invalid certno belongs to its psn_no's person (SOURCES.md), not to quarantine
        if (q["source"], q["file"]) not in HOME or q["file"] == "setl.jsonl.gz":
            continue
        hits = [reasons for raw, reasons in quarantined[q["source"]] if q["raw"] in raw]
        assert hits, f"invalid {q['raw']!r} of {q['source']}/{q['file']} not in quarantine"
        assert all(any(x.startswith("CERTNO_") for x in reasons) for reasons in hits), hits
        # the person is never reached by guessing the number
        assert normalise_certno(q["raw"]).certno is None
        checked += 1
    assert checked


def test_sex_unspecified_or_blank_is_decided_by_the_id_number(nightly_lake, quirks, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    person = {r.person_ref: r.sex for r in _table(nightly_lake, "silver.person").select("person_ref", "sex").collect()}
    rows = quirks["sex_unspecified"] + quirks["sex_blank"]
    checked = 0
    for q in rows:
        ref = _ref(q["key"], pseudonym_key)
        if ref in person:
            expected = "1" if int(q["key"][16]) % 2 == 1 else "2"
            assert person[ref] == expected, q
            checked += 1
    assert checked


def test_sex_contradicting_the_id_is_a_finding_and_the_id_decides(nightly_lake, quirks, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    person = {r.person_ref: r for r in _table(nightly_lake, "silver.person").collect()}
    checked = 0
    for q in quirks["sex_contradicts_id"]:
        ref = _ref(q["key"], pseudonym_key)
        expected = "1" if int(q["key"][16]) % 2 == 1 else "2"
        assert person[ref].sex == expected
        if q["source"] in ("pension", "public_security"):
            assert person[ref].sex_conflict, q
        checked += 1
    assert checked


def test_old_scheme_code_is_one_enrolment_of_the_standard_scheme(nightly_lake, quirks, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    enrol = _table(nightly_lake, "silver.enrolment")
    assert set(r.scheme for r in enrol.select("scheme").distinct().collect()) <= {"110", "120", "170", "310", "390"}
    old_to_new = {"11": "110", "12": "120", "17": "170", "JG": "120"}
    rows = {(r.person_ref, r.scheme): r.n for r in enrol.groupBy("person_ref", "scheme", "start_date")
            .agg(F.count(F.lit(1)).alias("n")).collect()}
    checked = 0
    invalid = _invalid_keys(quirks, "ac01_person.csv")
    for q in quirks["old_scheme_code"]:
        if q["key"] in invalid:  # the person's ac01 record is quarantined, so is the enrolment
            continue
        ref = _ref(q["key"], pseudonym_key)
        key = (ref, old_to_new[q["raw"]])
        assert key in rows, q
        assert rows[key] == 1, f"one scheme, one enrolment per start date: {q}"
        checked += 1
    assert checked


def test_old_and_new_double_record_of_a_month_is_one_payment(nightly_lake, quirks, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    pay = _table(nightly_lake, "silver.pension_payment")
    counts = {(r.person_ref, r.m): r.n for r in pay.groupBy("person_ref", F.date_format("pay_month", "yyyyMM").alias("m"))
              .agg(F.count(F.lit(1)).alias("n")).collect()}
    for q in quirks["old_new_double_record"]:
        certno, month = q["key"].split()
        assert counts.get((_ref(certno, pseudonym_key), month)) == 1, q
    reasons = {r.dedup_reason for r in _table(nightly_lake, "ops.deduplicated")
               .where(F.col("silver_table") == "pension_payment").select("dedup_reason").distinct().collect()}
    assert "SAME_SCHEME_MONTH" in reasons


def test_refund_voids_its_settlement(nightly_lake, quirks) -> None:  # type: ignore[no-untyped-def]
    setl = {r.setl_id: r.refunded for r in _table(nightly_lake, "silver.medical_settlement")
            .select("setl_id", "refunded").collect()}
    refunded = [q["key"] for q in quirks["refund"] if q["key"] in setl]
    assert refunded and all(setl[s] for s in refunded)


def test_settlement_with_invalid_certno_reaches_its_person_through_psn_no(nightly_lake, quirks) -> None:  # type: ignore[no-untyped-def]
    setl = {r.setl_id: r.person_ref for r in _table(nightly_lake, "silver.medical_settlement")
            .select("setl_id", "person_ref").collect()}
    keys = [q["key"] for q in quirks["setl_certno_invalid_psn_no_resolves"]]
    present = [k for k in keys if k in setl]
    assert present and all(setl[k] is not None for k in present)


def test_duplicate_device_taps_are_one_tap(nightly_lake, quirks) -> None:  # type: ignore[no-untyped-def]
    taps = _table(nightly_lake, "silver.transit_tap")
    checked = 0
    for q in quirks["duplicate_tap"]:
        card, day, clock, device = q["key"].split()
        # compared as local wall-clock text: no time zone enters either side
        n = taps.where((F.col("card_no") == card) & (F.col("device_id") == device)
                       & (F.date_format("tap_at", "yyyy-MM-dd HH:mm:ss.SSSSSS") == f"{day} {clock}")).count()
        assert n == 1, q
        checked += 1
    assert checked


def test_anonymous_cards_stay_unlinked(nightly_lake, quirks) -> None:  # type: ignore[no-untyped-def]
    cards = {r.card_no: r.person_ref for r in _table(nightly_lake, "silver.card_registry").collect()}
    anonymous = [q["key"] for q in quirks["anonymous_card"] if q["key"] in cards]
    assert anonymous and all(cards[c] is None for c in anonymous)
    tapped = _table(nightly_lake, "silver.transit_tap").where(F.col("card_no").isin(anonymous))
    assert tapped.where(F.col("person_ref").isNotNull()).count() == 0


def test_lost_card_is_dated_in_the_registry_history(nightly_lake, quirks) -> None:  # type: ignore[no-untyped-def]
    history = _table(nightly_lake, "silver.card_registry_history")
    lost = [q["key"] for q in quirks["lost_card"]]
    # a lost card may since have been cancelled (replaced): either way its state change is dated
    rows = history.where(F.col("card_no").isin(lost) & F.col("card_status").isin("LOST", "CANCELLED")).collect()
    assert {r.card_no for r in rows} == set(lost)
    assert all(r.valid_from is not None for r in rows)


def test_malformed_bank_line_is_quarantined_whole_with_its_raw_text(nightly_lake, quirks) -> None:  # type: ignore[no-untyped-def]
    malformed = [r for r in _quarantine(nightly_lake) if r._source == "bank" and any(
        x.startswith("MALFORMED") for x in r.reasons)]
    lines = [json.loads(r.raw_record)["line"] for r in malformed]
    for q in quirks["bank_malformed_line"]:
        acct, when = q["key"].split()
        assert any(acct in line and when in line for line in lines), q
    assert len(malformed) >= len(quirks["bank_malformed_line"])


def test_trailing_spaces_in_bank_fields_are_trimmed(nightly_lake, quirks) -> None:  # type: ignore[no-untyped-def]
    accounts = {r.acct_no for r in _table(nightly_lake, "silver.bank_account").select("acct_no").collect()}
    padded = [q["key"] for q in quirks["bank_trailing_spaces"] if q["file"] == "acct.txt"]
    assert padded and set(padded) <= accounts
    assert all(a == a.strip() for a in accounts)


def test_unknown_extra_column_is_kept_in_bronze_and_reported_as_drift(nightly_lake, quirks) -> None:  # type: ignore[no-untyped-def]
    log = {(r.source, r.extract_date.isoformat()): r for r in _table(nightly_lake, "ops.deliveries").collect()}
    checked = 0
    for q in quirks["schema_drift_column"]:
        entry = log[(q["source"], q["key"])]
        if entry.status != "LOADED":
            continue
        assert any(q["raw"] in d for d in entry.schema_drift), entry
        checked += 1
    assert checked


def test_shuffled_columns_are_matched_by_name(nightly_lake, quirks) -> None:  # type: ignore[no-untyped-def]
    contrib = _table(nightly_lake, "silver.contribution")
    for q in quirks["shuffled_columns"]:
        if q["file"] != "ac43_contribution.csv" or q["key"] not in _loaded_dates(nightly_lake, q["source"]):
            continue
        day = dt.date.fromisoformat(q["key"])
        rows = contrib.where(F.col("_extract_date") == F.lit(day))
        assert rows.count() > 0
        # read by position, the scheme would land in the person key and the month in the base
        bad = rows.where(~F.col("scheme").isin("110", "120", "170") | (F.year("contribution_month") < 1990)
                         | (F.col("base") > 100000) | (F.col("employer_amount") > F.col("base")))
        assert bad.count() == 0


def test_source_missing_a_night_is_recorded_as_missing(nightly_lake, quirks) -> None:  # type: ignore[no-untyped-def]
    """Per the generator's delivery truth: a source/date it never delivered is MISSING in the log,
    one it delivered is not (a short city may have no missing night; the mini landing always has one)."""
    log = {(r.source, r.extract_date.isoformat()): r.status for r in _table(nightly_lake, "ops.deliveries").collect()}
    with open(nightly_lake.city.truth / "deliveries.csv", encoding="utf-8", newline="") as f:
        delivered = {(r["source"], r["extract_date"]) for r in csv.DictReader(f)}
    days = [d.isoformat() for d in nightly_lake.dates]
    sources = {s for s, _ in delivered}
    for source in sources:
        for day in days:
            assert (log.get((source, day)) == "MISSING") == ((source, day) not in delivered), (source, day)
    assert all(log.get((q["source"], q["key"])) == "MISSING" for q in quirks["source_missing_night"])


def test_resend_replaces_the_earlier_delivery_of_that_date(nightly_lake, quirks) -> None:  # type: ignore[no-untyped-def]
    log = {(r.source, r.extract_date.isoformat()): r for r in _table(nightly_lake, "ops.deliveries").collect()}
    for q in quirks["resend_sequence_2"]:
        entry = log[(q["source"], q["key"])]
        assert entry.status == "LOADED" and entry.sequence >= 2, entry


def test_late_records_from_before_the_window_are_kept(nightly_lake, quirks) -> None:  # type: ignore[no-untyped-def]
    windows = {(r.source, r.extract_date): r.window_from for r in _table(nightly_lake, "ops.deliveries").collect()}
    txns = _table(nightly_lake, "silver.bank_txn").select("txn_date", "_source", "_extract_date").collect()
    late = [t for t in txns if windows.get((t._source, t._extract_date)) and t.txn_date < windows[(t._source, t._extract_date)]]
    assert quirks["late_record"] and late


def test_exact_resends_are_documented_deduplications(nightly_lake, quirks) -> None:  # type: ignore[no-untyped-def]
    # a re-sent tap is a device duplicate, a re-sent contribution one record of its scheme and month
    dedup = _table(nightly_lake, "ops.deduplicated").where(
        F.col("dedup_reason").isin("EXACT_RESEND", "DUPLICATE_TAP", "SAME_SCHEME_MONTH"))
    per_source = {r._source: r.n for r in dedup.groupBy("_source").agg(F.count(F.lit(1)).alias("n")).collect()}
    for source in {q["source"] for q in quirks["exact_resend"]}:
        assert per_source.get(source, 0) > 0, source


def test_slash_dates_of_public_security_parse(nightly_lake, quirks, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    crossings = {(r.person_ref, r.crossed_on.isoformat()) for r in _table(nightly_lake, "silver.border_crossing").collect()}
    checked = 0
    for q in quirks["date_style_slash"]:
        if q["file"] != "crj.csv":
            continue
        assert (_ref(q["key"], pseudonym_key), q["raw"].replace("/", "-")) in crossings, q
        checked += 1
    assert checked


@pytest.mark.parametrize("quirk", ["xlsx_title_row", "xlsx_blank_row"])
def test_xlsx_title_and_blank_rows_are_not_records(nightly_lake, quirks, quirk: str) -> None:  # type: ignore[no-untyped-def]
    """Bronze holds exactly the manifest's records of that workbook (title and blank rows are not
    records, SOURCES.md), and neither row reaches quarantine as a malformed record."""
    checked = 0
    for q in quirks[quirk]:
        if q["key"] not in _loaded_dates(nightly_lake, q["source"]):
            continue
        day = dt.date.fromisoformat(q["key"])
        folder = nightly_lake.env.paths.landing / q["source"] / q["key"]
        manifest = json.loads((folder / "_MANIFEST.json").read_text(encoding="utf-8"))
        declared = next(f["rows"] for f in manifest["files"] if f["name"] == q["file"])
        table = f"bronze.{q['source']}__{q['file'].split('.')[0]}"
        in_bronze = _table(nightly_lake, table).where(
            (F.col("_extract_date") == F.lit(day)) & (F.col("_file") == q["file"])).count()
        assert in_bronze == declared, (q, in_bronze, declared)
        quarantined = [r for r in _quarantine(nightly_lake) if r._source == q["source"] and r._extract_date == day
                       and r._file == q["file"]]
        assert not [r for r in quarantined if "MALFORMED" in " ".join(r.reasons)]
        assert not [r for r in quarantined if q["raw"] and q["raw"] in r.raw_record], "the title row is not a record"
        checked += 1
    assert checked or all(q["key"] not in _loaded_dates(nightly_lake, q["source"]) for q in quirks[quirk])


@pytest.mark.parametrize("quirk", ["xlsx_date_excel", "xlsx_date_text_iso", "xlsx_date_text_chinese"])
def test_all_three_excel_date_styles_parse(nightly_lake, quirks, pseudonym_key, quirk: str) -> None:  # type: ignore[no-untyped-def]
    dibao = _table(nightly_lake, "silver.dibao").select("person_ref", "start_date", "end_date").collect()
    dates = defaultdict(set)
    for r in dibao:
        dates[r.person_ref] |= {d.isoformat() for d in (r.start_date, r.end_date) if d}
    checked = 0
    invalid = _invalid_keys(quirks, "dibao.xlsx")
    for q in quirks[quirk]:
        if q["file"] != "dibao.xlsx" or q["key"] in invalid:
            continue
        raw = q["raw"]
        if "年" in raw:
            y, rest = raw.split("年")
            m, d = rest.rstrip("日").split("月")
            raw = f"{int(y):04d}-{int(m):02d}-{int(d):02d}"
        assert raw[:10] in dates[_ref(q["key"], pseudonym_key)], q
        checked += 1
    assert checked


@pytest.mark.parametrize("quirk", ["parquet_ms_unit", "parquet_us_unit"])
def test_parquet_tap_times_in_either_unit_are_the_same_clock(nightly_lake, quirks, quirk: str) -> None:  # type: ignore[no-untyped-def]
    taps = _table(nightly_lake, "silver.transit_tap")
    checked = 0
    for q in quirks[quirk]:
        day, part = q["key"].split()
        if day not in _loaded_dates(nightly_lake, q["source"]):
            continue
        rows = taps.where((F.col("_extract_date") == F.lit(dt.date.fromisoformat(day))) & (F.col("_file") == part))
        years = {r.y for r in rows.select(F.year("tap_at").alias("y")).distinct().collect()}
        assert years and years <= {2024, 2025, 2026}, (q, years)
        checked += 1
    assert checked

"""Silver registries: person-level registries kept as dated history (lakehouse/history.py).

Each registry's bronze table is home to `silver.<name>_history` (one row per business key
and state, valid_from/valid_to); `silver.<name>` is its state as of the run date.

- `pension_person` — 养老 ac01, key AAC001 (standardised in silver_identity).
- `hukou_person` — 户籍 czrk, key person_ref; a 户口状态 (HKZT) change is dated.
- `card_registry` — transit card_holder, key card_no; a card reported lost (L) or cancelled (C) is dated.
- `bank_account` — bank acct.txt, key acct_no; status N/F/C.
- `medical_insured` — medical psn_insu, key (psn_no, scheme, begin_date).
- `dibao` — civil-affairs 低保 roll, key (person_ref, start_date).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.silver_identity import AC01_RAW, CZRK_RAW
from lakehouse.identity import Reason
from lakehouse.standardise import (
    bad_date,
    bad_region,
    clean,
    malformed_reason,
    map_code,
    parse_date,
    parse_decimal,
    reason_when,
    unmapped,
    with_person,
    with_reasons,
)


@dataclass(frozen=True)
class Registry:
    """How one registry becomes history: its bronze home, business key, state and columns."""

    name: str  # current-state table silver.<name>; history in silver.<name>_history
    bronze_table: str  # <source>__<table>
    pattern: str  # the registry file's name in the manifest
    raw: tuple[str, ...]  # delivered columns, for the quarantine record
    key: tuple[str, ...]
    state: tuple[str, ...]  # a change in any of these opens a new history row
    # standardised columns that take a delivered column's name once quarantine has the raw record
    renamed: tuple[tuple[str, str], ...] = ()

    @property
    def home(self) -> str:
        """The history table, home of the bronze table."""
        return f"{self.name}_history"

    @property
    def source(self) -> str:
        return self.bronze_table.split("__")[0]

    def final(self, standardised: DataFrame) -> DataFrame:
        """Rows past quarantine with the standardised columns under their silver names."""
        for std, name in self.renamed:
            standardised = standardised.drop(name).withColumnRenamed(std, name)
        return standardised

    @property
    def columns(self) -> list[str]:
        """Columns of the current-state table, key first."""
        return [*self.key, *[c for c in self.state if c not in self.key]]


PENSION_PERSON = Registry(
    "pension_person", "pension__ac01_person", "ac01_person.csv", tuple(AC01_RAW), ("aac001",),
    ("person_ref", "region", "retired", "retirement_date", "special_job", "source_sex", "source_birth_date"),
)
HUKOU_PERSON = Registry(
    "hukou_person", "public_security__czrk", "czrk.csv", tuple(CZRK_RAW), ("person_ref",), ("hukou_region", "hukou_status", "source_sex", "source_birth_date"),
)
CARD_REGISTRY = Registry(
    "card_registry", "transit__card_holder", "card_holder.csv",
    ("card_no", "holder_certno", "holder_name", "card_type", "issue_date", "status"),
    ("card_no",), ("person_ref", "card_type", "card_status", "issued_on"),
    (("card_no_c", "card_no"), ("card_type_c", "card_type")),
)
BANK_ACCOUNT = Registry(
    "bank_account", "bank__acct", "acct.txt", ("acct_no", "certno", "name", "open_date", "status"),
    ("acct_no",), ("person_ref", "opened_on", "account_status"), (("acct_no_c", "acct_no"),),
)
MEDICAL_INSURED = Registry(
    "medical_insured", "medical__psn_insu", "psn_insu.jsonl.gz",
    ("psn_no", "certno", "psn_cert_type", "psn_name", "gend", "brdy", "insutype", "psn_insu_stas", "insu_admdvs",
     "begndate", "enddate"),
    ("psn_no", "scheme", "begin_date"), ("person_ref", "insured_status", "region", "end_date"),
    (("psn_no_c", "psn_no"),),
)
DIBAO = Registry(
    "dibao", "civil_affairs__dibao", "dibao.xlsx", ("身份证号", "姓名", "保障类型", "开始日期", "结束日期", "月保障金额"),
    ("person_ref", "start_date"), ("dibao_type", "end_date", "monthly_amount"),
)
REGISTRIES = (PENSION_PERSON, HUKOU_PERSON, CARD_REGISTRY, BANK_ACCOUNT, MEDICAL_INSURED, DIBAO)
# silver.card_registry keeps the columns taps and gold read (pension/hukou: silver_identity)
CARD_REGISTRY_COLUMNS = ["card_no", "person_ref", "card_type", "card_status", "issued_on"]


def standardise_cards(card_holder: DataFrame, key: bytes) -> DataFrame:
    """Card holder rows typed; an empty holder number is an anonymous card, an invalid one is quarantined."""
    df = with_person(card_holder, "holder_certno", key)
    issued = parse_date(F.col("issue_date"))
    df = (
        df.withColumn("card_no_c", clean(F.col("card_no")))
        .withColumn("card_type_c", map_code(F.col("card_type"), "card_type", "transit"))
        .withColumn("card_status", map_code(F.col("status"), "card_status", "transit"))
        .withColumn("issued_on", issued)
    )
    return with_reasons(
        df,
        malformed_reason(),
        reason_when(F.col("card_no_c").isNull(), "MISSING:card_no"),
        F.when(F.col("certno_reason") != Reason.EMPTY, F.col("certno_reason")),
        unmapped(F.col("card_type"), F.col("card_type_c"), "card_type"),
        unmapped(F.col("status"), F.col("card_status"), "card_status"),
        bad_date(F.col("issue_date"), issued, "issue_date"),
    )


def standardise_accounts(acct: DataFrame, key: bytes) -> DataFrame:
    """acct.txt typed: owner person_ref, open date, account status (N/F/C → NORMAL/FROZEN/CLOSED)."""
    df = with_person(acct, "certno", key)
    opened = parse_date(F.col("open_date"), ("yyyyMMdd",))
    df = (
        df.withColumn("acct_no_c", clean(F.col("acct_no")))
        .withColumn("opened_on", opened)
        .withColumn("account_status", map_code(F.col("status"), "account_status", "bank"))
    )
    return with_reasons(
        df,
        malformed_reason(),
        reason_when(F.col("acct_no_c").isNull(), "MISSING:acct_no"),
        F.col("certno_reason"),
        bad_date(F.col("open_date"), opened, "open_date"),
        unmapped(F.col("status"), F.col("account_status"), "account_status"),
        reason_when(clean(F.col("status")).isNull(), "MISSING:status"),
    )


def standardise_insured(psn_insu: DataFrame, key: bytes) -> DataFrame:
    """psn_insu typed: insutype → standard scheme, 参保状态 → enrolment status, begin/end dates."""
    df = with_person(psn_insu, "certno", key)
    begin, end = parse_date(F.col("begndate")), parse_date(F.col("enddate"))
    df = (
        df.withColumn("psn_no_c", clean(F.col("psn_no")))
        .withColumn("scheme", map_code(F.col("insutype"), "scheme", "medical"))
        .withColumn("insured_status", map_code(F.col("psn_insu_stas"), "enrolment_status", "medical"))
        .withColumn("region", clean(F.col("insu_admdvs")))
        .withColumn("begin_date", begin)
        .withColumn("end_date", end)
    )
    return with_reasons(
        df,
        malformed_reason(),
        reason_when(F.col("psn_no_c").isNull(), "MISSING:psn_no"),
        F.col("certno_reason"),
        unmapped(F.col("insutype"), F.col("scheme"), "scheme"),
        reason_when(clean(F.col("insutype")).isNull(), "MISSING:insutype"),
        unmapped(F.col("psn_insu_stas"), F.col("insured_status"), "enrolment_status"),
        bad_region(F.col("insu_admdvs"), "insu_admdvs"),
        bad_date(F.col("begndate"), begin, "begndate", required=True),
        bad_date(F.col("enddate"), end, "enddate"),
        reason_when(end < begin, "END_BEFORE_BEGIN"),
    )


def excel_date(raw: Column) -> Column:
    """A civil-affairs date: text `2026-03-05`, text `2026年3月5日`, or a real Excel date.

    The reader turns a date-formatted cell into ISO text; a bare serial number (a date
    cell that lost its format) counts days from 1899-12-30.
    """
    serial = clean(raw)
    as_serial = F.when(serial.rlike(r"^[1-9][0-9]{4}(\.0+)?$"),
                       F.date_add(F.lit("1899-12-30").cast("date"), serial.try_cast("double").cast("int")))
    return F.coalesce(parse_date(raw), as_serial)


def standardise_dibao(dibao: DataFrame, key: bytes) -> DataFrame:
    """低保 roll typed: 保障类型 → dibao_type code, start/end dates, monthly amount in yuan."""
    df = with_person(dibao, "身份证号", key)
    start, end = excel_date(F.col("开始日期")), excel_date(F.col("结束日期"))
    df = (
        df.withColumn("dibao_type", map_code(F.col("保障类型"), "dibao_type", "civil_affairs"))
        .withColumn("start_date", start)
        .withColumn("end_date", end)
        .withColumn("monthly_amount", parse_decimal(F.col("月保障金额")))
    )
    return with_reasons(
        df,
        malformed_reason(),
        F.col("certno_reason"),
        unmapped(F.col("保障类型"), F.col("dibao_type"), "dibao_type"),
        reason_when(clean(F.col("保障类型")).isNull(), "MISSING:保障类型"),
        bad_date(F.col("开始日期"), start, "开始日期", required=True),
        bad_date(F.col("结束日期"), end, "结束日期"),
        reason_when(end < start, "END_BEFORE_START"),
        reason_when(clean(F.col("月保障金额")).isNotNull() & F.col("monthly_amount").isNull(), "BAD_AMOUNT:月保障金额"),
        reason_when(F.col("monthly_amount") < 0, "NEGATIVE_AMOUNT"),
    )

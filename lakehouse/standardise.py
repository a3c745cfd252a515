"""Column-level standardisation shared by the silver jobs: identities, codes, dates, money.

Everything here is a pure Column/DataFrame function; the silver jobs compose them.
A problem is never nulled silently: functions that can fail return a reason column
which `split_quarantine` turns into a quarantine row.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakehouse.config import load_conf
from lakehouse.identity import normalise_certno, person_ref

DATE_FORMATS = ("yyyy-MM-dd", "yyyy/MM/dd", "yyyyMMdd", "yyyy年M月d日", "yyyy-M-d", "yyyy/M/d")
REASONS = "_reasons"


@F.pandas_udf(T.StructType([T.StructField("certno", T.StringType()), T.StructField("reason", T.StringType())]))
def _normalise_udf(raw: pd.Series) -> pd.DataFrame:
    out = [normalise_certno(v) if isinstance(v, str) else normalise_certno(None) for v in raw]
    return pd.DataFrame({"certno": [o.certno for o in out], "reason": [o.reason for o in out]})


def certno(raw: Column) -> Column:
    """struct(certno, reason): the normalised 18-character number or why it is invalid."""
    return _normalise_udf(raw)


def person_ref_col(normalised: Column, key: bytes) -> Column:
    """person_ref (OUTPUTS.md) of a normalised number column; null stays null."""

    @F.pandas_udf(T.StringType())
    def _ref(values: pd.Series) -> pd.Series:
        return pd.Series([person_ref(v, key) if isinstance(v, str) else None for v in values])

    return _ref(normalised)


def clean(raw: Column) -> Column:
    """Trim (incl. full-width spaces) and turn empty strings into null."""
    trimmed = F.regexp_replace(raw, r"^[\s\u3000]+|[\s\u3000]+$", "")
    return F.when(trimmed == "", None).otherwise(trimmed)


def parse_date(raw: Column, formats: Iterable[str] = DATE_FORMATS) -> Column:
    """First format that parses (null when none does; pair with `bad_date` for a reason)."""
    value = clean(raw)
    # Excel text dates sometimes keep a time part: keep the date
    value = F.regexp_replace(value, r"[ T]00:00(:00)?(\.0+)?$", "")
    return F.coalesce(*[F.try_to_date(value, fmt) for fmt in formats])


def parse_month(raw: Column) -> Column:
    """`YYYYMM` → first day of that month."""
    return F.try_to_date(F.concat(clean(raw), F.lit("01")), "yyyyMMdd")


def parse_decimal(raw: Column, scale: int = 2) -> Column:
    """Money text → DECIMAL(18, scale); null when not a number."""
    return clean(raw).try_cast(T.DecimalType(18, scale))


@cache
def code_map(list_name: str, source: str) -> dict[str, str]:
    """Source code → standard code for one code list of conf/codes.yaml."""
    codes = load_conf("codes.yaml")[list_name]
    return {str(k): str(v) for k, v in codes["map"][source].items()}


@cache
def code_labels(list_name: str) -> dict[str, str]:
    """Standard code → Chinese label."""
    return {str(k): str(v) for k, v in load_conf("codes.yaml")[list_name]["labels"].items()}


def map_code(raw: Column, list_name: str, source: str) -> Column:
    """Standard code for a source code (null for null input or for an unmapped code)."""
    mapping = code_map(list_name, source)
    literal = F.create_map(*[F.lit(x) for kv in sorted(mapping.items()) for x in kv])
    return F.try_element_at(literal, clean(raw))


def label_of(code: Column, list_name: str) -> Column:
    """Chinese label of a standard code."""
    labels = code_labels(list_name)
    return F.try_element_at(F.create_map(*[F.lit(x) for kv in sorted(labels.items()) for x in kv]), code)


def reason_when(condition: Column, reason: str) -> Column:
    """A reason string where `condition` holds, else null (for `with_reasons`)."""
    return F.when(condition, F.lit(reason))


def with_reasons(df: DataFrame, *reasons: Column) -> DataFrame:
    """Add the `_reasons` array (nulls dropped) from reason columns."""
    return df.withColumn(REASONS, F.array_compact(F.array(*reasons)) if reasons else F.array().cast("array<string>"))


def unmapped(raw: Column, mapped: Column, list_name: str) -> Column:
    """Reason UNMAPPED_CODE:<list>=<value> when a present code has no mapping."""
    return F.when(clean(raw).isNotNull() & mapped.isNull(),
                  F.concat(F.lit(f"UNMAPPED_CODE:{list_name}="), clean(raw)))


def bad_region(raw: Column, field: str) -> Column:
    """Reason BAD_CODE:<field> for a present region that is not a 6-digit GB/T 2260 code (regions
    name export files and sheets: nothing else may pass)."""
    value = clean(raw)
    return F.when(value.isNotNull() & ~value.rlike(r"^[0-9]{6}$"), F.lit(f"BAD_CODE:{field}"))


def bad_date(raw: Column, parsed: Column, field: str, required: bool = False) -> Column:
    """Reason BAD_DATE:<field> for a present but unparseable (or required and absent) date."""
    present = clean(raw).isNotNull()
    cond = (present & parsed.isNull()) | (F.lit(required) & ~present)
    return F.when(cond, F.lit(f"BAD_DATE:{field}"))


def split_quarantine(df: DataFrame, table: str, raw_columns: list[str]) -> tuple[DataFrame, DataFrame]:
    """(rows without reasons, quarantine rows with reasons and the raw record as JSON)."""
    good = df.where(F.size(REASONS) == 0).drop(REASONS)
    malformed = F.filter(REASONS, lambda r: r.startswith("MALFORMED"))
    # a malformed line has no fields to judge: its one reason is that it is malformed
    reasons = F.when(F.size(malformed) > 0, malformed).otherwise(F.col(REASONS))
    raw = F.when(F.col("_raw").isNotNull(), F.to_json(F.struct(F.col("_raw").alias("line")))).otherwise(
        F.to_json(F.struct(*[F.col(c) for c in raw_columns])))
    bad = df.where(F.size(REASONS) > 0).select(
        F.lit(table).alias("silver_table"),
        "_source", "_extract_date", "_file", "_row",
        reasons.alias("reasons"),
        raw.alias("raw_record"),
    )
    return good, bad


def malformed_reason() -> Column:
    """Reason MALFORMED:<why> for a record the reader could not split into fields."""
    return F.when(F.col("_malformed").isNotNull(), F.concat(F.lit("MALFORMED:"), F.col("_malformed")))


def with_person(df: DataFrame, raw_certno: str, key: bytes, prefix: str = "") -> DataFrame:
    """Add `<prefix>certno`, `<prefix>person_ref` and `<prefix>certno_reason` from a raw number column."""
    parsed = df.withColumn("_id", certno(F.col(raw_certno)))
    return (
        parsed.withColumn(f"{prefix}certno", F.col("_id.certno"))
        .withColumn(f"{prefix}certno_reason", F.col("_id.reason"))
        .withColumn(f"{prefix}person_ref", person_ref_col(F.col("_id.certno"), key))
        .drop("_id")
    )


def id_birth_date(normalised: Column) -> Column:
    """Birth date encoded in a normalised number."""
    return F.to_date(F.substring(normalised, 7, 8), "yyyyMMdd")


def id_sex(normalised: Column) -> Column:
    """GB/T 2261.1 sex from the 17th digit (odd 1 男, even 2 女)."""
    return F.when(F.substring(normalised, 17, 1).cast("int") % 2 == 1, "1").otherwise("2")

"""Silver border crossings from 公安 出入境 (crj).

`silver.border_crossing` — one row per person_ref × direction × crossing date (home of crj).
Whether a person is abroad on a date is read from it in gold (`jobs/gold_build.with_abroad`).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.silver_death import LINEAGE, collapse_resends
from lakehouse.standardise import (
    bad_date,
    clean,
    malformed_reason,
    map_code,
    parse_date,
    reason_when,
    unmapped,
    with_person,
    with_reasons,
)

CRJ_RAW = ["GMSFHM", "CRJBS", "CRJRQ", "KADM"]
BORDER_CROSSING_COLUMNS = ["person_ref", "direction", "crossed_on", "port_code", *LINEAGE]


def standardise_crj(crj: DataFrame, key: bytes) -> DataFrame:
    """Border crossings typed: direction per conf/codes.yaml border_direction; a date is required."""
    df = with_person(crj, "GMSFHM", key)
    crossed = parse_date(F.col("CRJRQ"))
    df = (
        df.withColumn("direction", map_code(F.col("CRJBS"), "border_direction", "public_security"))
        .withColumn("crossed_on", crossed)
        .withColumn("port_code", clean(F.col("KADM")))
    )
    return with_reasons(
        df,
        malformed_reason(),
        F.col("certno_reason"),
        unmapped(F.col("CRJBS"), F.col("direction"), "border_direction"),
        reason_when(clean(F.col("CRJBS")).isNull(), "MISSING:CRJBS"),
        bad_date(F.col("CRJRQ"), crossed, "CRJRQ", required=True),
        reason_when(crossed > F.col("_extract_date"), "DATE_IN_FUTURE:CRJRQ"),
    )


def border_crossings(records: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(one row per person × direction × day, de-duplicated rows): a re-sent crossing is one crossing."""
    kept, dedup = collapse_resends(records, CRJ_RAW, ["person_ref", "direction", "crossed_on"], "SAME_CROSSING")
    return kept.select(*BORDER_CROSSING_COLUMNS), dedup

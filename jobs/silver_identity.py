"""Silver identity: who the persons are, their pseudonymous key and conformed attributes.

Outputs
- `restricted.identity` — one row per person_ref: raw normalised 身份证号 and name (PII).
- `silver.person` — one row per person_ref: sex, birth date, region, 户籍 status; no PII.
- `silver.pension_person` — one row per pension 个人编号 (AAC001) of the latest ac01 snapshot
  (as of the run date, from `silver.pension_person_history`, see silver_registry).
- `silver.hukou_person` — one row per person_ref of the latest 户籍 (czrk) snapshot
  (as of the run date, from `silver.hukou_person_history`).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from lakehouse import bronze
from lakehouse.config import Env, load_conf
from lakehouse.standardise import (
    bad_date,
    bad_region,
    clean,
    id_birth_date,
    id_sex,
    malformed_reason,
    map_code,
    parse_date,
    reason_when,
    unmapped,
    with_person,
    with_reasons,
)


def identity_candidates(frames: dict[str, DataFrame], key: bytes) -> DataFrame:
    """Every valid (person, name, sex, birth) observation from the identity sources of conf/identity.yaml."""
    conf = load_conf("identity.yaml")
    name_rank = {s: i for i, s in enumerate(conf["priority"]["name"])}
    parts = []
    for src in conf["sources"]:
        df = frames[src["table"]].where(F.col("_malformed").isNull())
        source = src["table"].split("__")[0]
        df = with_person(df, src["certno"], key).where(F.col("certno").isNotNull())
        parts.append(
            df.select(
                "person_ref", "certno",
                clean(F.col(src["name"])).alias("name"),
                F.lit(source).alias("source"),
                F.lit(name_rank.get(source, 99)).alias("name_rank"),
                (map_code(F.col(src["sex"]), "sex", source) if src.get("sex") else F.lit(None).cast("string"))
                .alias("source_sex"),
                "_extract_date",
            )
        )
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out


def build_identity(candidates: DataFrame) -> DataFrame:
    """restricted.identity: name by source priority (latest delivery within a source), all sources listed."""
    w = Window.partitionBy("person_ref").orderBy(
        F.col("name").isNull(), "name_rank", F.col("_extract_date").desc(), "name"
    )
    best = candidates.withColumn("_n", F.row_number().over(w)).where("_n = 1")
    sources = candidates.groupBy("person_ref").agg(F.array_sort(F.collect_set("source")).alias("sources"))
    return best.join(sources, "person_ref").select(
        "person_ref", "certno", "name", F.col("source").alias("name_source"), "sources"
    )


def pension_person(ac01: DataFrame, key: bytes) -> DataFrame:
    """Every ac01 snapshot standardised; `_reasons` marks rows for quarantine."""
    df = with_person(ac01, "AAC002", key)
    retire = parse_date(F.col("AIC162"), ("yyyyMMdd",))
    birth = parse_date(F.col("AAC006"), ("yyyyMMdd",))
    df = (
        df.withColumn("aac001", clean(F.col("AAC001")))
        .withColumn("region", clean(F.col("AAB301")))
        .withColumn("retired", map_code(F.col("AAC084"), "retired_flag", "pension"))
        .withColumn("special_job", map_code(F.col("AAC058"), "special_job", "pension"))
        .withColumn("source_sex", map_code(F.col("AAC004"), "sex", "pension"))
        .withColumn("retirement_date", retire)
        .withColumn("source_birth_date", birth)
    )
    return with_reasons(
        df,
        malformed_reason(),
        F.col("certno_reason"),
        reason_when(F.col("aac001").isNull(), "MISSING:AAC001"),
        bad_region(F.col("AAB301"), "AAB301"),
        unmapped(F.col("AAC084"), F.col("retired"), "retired_flag"),
        unmapped(F.col("AAC058"), F.col("special_job"), "special_job"),
        unmapped(F.col("AAC004"), F.col("source_sex"), "sex"),
        bad_date(F.col("AIC162"), retire, "AIC162"),
        reason_when((F.col("retired") == "1") & retire.isNull(), "MISSING:AIC162"),
    )


AC01_RAW = ["AAC001", "AAC002", "AAC003", "AAC004", "AAC006", "AAB301", "AAC084", "AIC162", "AAC058"]
PENSION_PERSON_COLUMNS = [
    "aac001", "person_ref", "region", "retired", "retirement_date", "special_job", "source_sex",
    "source_birth_date", "_extract_date",
]


def hukou_person(czrk: DataFrame, key: bytes) -> DataFrame:
    """Every 户籍 snapshot standardised."""
    df = with_person(czrk, "GMSFHM", key)
    birth = parse_date(F.col("CSRQ"))
    df = (
        df.withColumn("hukou_region", clean(F.col("HJDZ_XZQHDM")))
        .withColumn("hukou_status", map_code(F.col("HKZT"), "hukou_status", "public_security"))
        .withColumn("source_sex", map_code(F.col("XBDM"), "sex", "public_security"))
        .withColumn("source_birth_date", birth)
    )
    return with_reasons(
        df,
        malformed_reason(),
        F.col("certno_reason"),
        bad_region(F.col("HJDZ_XZQHDM"), "HJDZ_XZQHDM"),
        unmapped(F.col("HKZT"), F.col("hukou_status"), "hukou_status"),
        unmapped(F.col("XBDM"), F.col("source_sex"), "sex"),
        bad_date(F.col("CSRQ"), birth, "CSRQ"),
    )


CZRK_RAW = ["GMSFHM", "XM", "XBDM", "CSRQ", "HJDZ_XZQHDM", "HKZT"]
HUKOU_PERSON_COLUMNS = ["person_ref", "hukou_region", "hukou_status", "source_sex", "source_birth_date", "_extract_date"]


UNKNOWN_REGION = "000000"


def conformed_person(identity: DataFrame, pension: DataFrame, hukou: DataFrame, medical: DataFrame) -> DataFrame:
    """silver.person: sex and birth from the ID number, region per SOURCES.md, 户籍 status.

    Region: the pension registry's, else the 户籍's, else the medical registry's insu_admdvs
    (`medical`: silver.medical_insured as of the run date), else `000000` (未知).

    Where a source's sex code contradicts the ID number, `sex_conflict` records it (a
    data-quality finding); the ID number decides.
    """
    p = (
        pension.groupBy("person_ref")
        .agg(F.max("region").alias("pension_region"), F.max("retired").alias("retired"),
             F.min("retirement_date").alias("retirement_date"), F.max("special_job").alias("special_job"),
             F.collect_set("source_sex").alias("pension_sex"))
    )
    h = hukou.dropDuplicates(["person_ref"]).select("person_ref", "hukou_region", "hukou_status",
                                                    F.col("source_sex").alias("hukou_sex"))
    # a person insured twice (two schemes) takes the region of the latest-starting record
    m = medical.where(F.col("person_ref").isNotNull() & F.col("region").isNotNull()).groupBy("person_ref").agg(
        F.max_by("region", F.struct("begin_date", "region")).alias("medical_region"))
    df = (identity.select("person_ref", "certno", "sources").join(p, "person_ref", "left")
          .join(h, "person_ref", "left").join(m, "person_ref", "left"))
    sex = id_sex(F.col("certno"))
    declared = F.array_union(F.coalesce(F.col("pension_sex"), F.array()),
                             F.array_compact(F.array(F.col("hukou_sex"))))
    return df.select(
        "person_ref",
        sex.alias("sex"),
        id_birth_date(F.col("certno")).alias("birth_date"),
        F.coalesce("pension_region", "hukou_region", "medical_region", F.lit(UNKNOWN_REGION)).alias("region"),
        "hukou_region",
        "hukou_status",
        F.coalesce(F.col("retired") == "1", F.lit(False)).alias("is_pensioner"),
        "retirement_date",
        F.coalesce(F.col("special_job") == "1", F.lit(False)).alias("special_job"),
        F.exists(declared, lambda s: s.isin("1", "2") & (s != sex)).alias("sex_conflict"),
        "sources",
    )


def source_tables() -> tuple[str, ...]:
    """The bronze tables persons are known from (conf/identity.yaml)."""
    return tuple(s["table"] for s in load_conf("identity.yaml")["sources"])


def build(spark: SparkSession, env: Env, run_date: dt.date, key: bytes) -> dict[str, DataFrame]:
    """All identity tables as DataFrames (with `_reasons` where quarantine applies)."""
    frames = {t: bronze.loaded(spark, env, t, run_date) for t in source_tables()}
    candidates = identity_candidates(frames, key).cache()
    identity = build_identity(candidates).cache()
    pension = pension_person(frames["pension__ac01_person"], key)
    hukou = hukou_person(frames["public_security__czrk"], key)
    return {"identity": identity, "pension_person": pension, "hukou_person": hukou}

"""Gold fund and service marts (专题集市) for analysts, built from silver after the gold step.

- `gold.coverage` — one row per 户籍 region × age band: 户籍 population (normal status, no death
  record), how many of them are insured (pension or medical), 参保覆盖率.
- `gold.age_structure` — one row per region × age band: contributors (在职缴费), pensioners
  (离退休) and the dependency ratio 在职/退休.
- `gold.disease_monthly` — one row per visit month × ICD-10 chapter: cases, cost, fund share;
  refunded settlements excluded.
- `gold.drug_ranking` — one row per month × list type × item: cost and volume with their rank
  within the month and list type; details of refunded settlements excluded.

Age bands (conf/age_bands.yaml) and ICD-10 chapters (conf/icd10_chapters.yaml) are data.
Everything is recomputed from silver as of the run date (idempotent). No PII: counts only.
"""

from __future__ import annotations

import datetime as dt
import logging

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from lakehouse import lake
from lakehouse.config import Env, load_conf
from lakehouse.spark import get_spark
from lakehouse.standardise import label_of

log = logging.getLogger(__name__)

MARTS = ("coverage", "age_structure", "disease_monthly", "drug_ranking")
# status values a registry (silver.enrolment, silver.medical_insured) may use for "insured now"
ACTIVE = ("ACTIVE",)


def age_on(birth: Column, run_date: dt.date) -> Column:
    """Completed years of age on the run date (the birthday itself counts)."""
    before_birthday = F.lit(run_date.strftime("%m%d")) < F.date_format(birth, "MMdd")
    return (F.lit(run_date.year) - F.year(birth) - F.when(before_birthday, 1).otherwise(0)).cast("int")


def age_band(age: Column) -> tuple[Column, Column]:
    """(band code, Chinese label) of an age by conf/age_bands.yaml; null for a null or negative age."""
    code, label = F.lit(None).cast("string"), F.lit(None).cast("string")
    for band in reversed(load_conf("age_bands.yaml")["bands"]):
        cond = age >= band["from"]
        if band.get("to") is not None:
            cond = cond & (age < band["to"])
        code = F.when(cond, F.lit(band["code"])).otherwise(code)
        label = F.when(cond, F.lit(band["label"])).otherwise(label)
    return code, label


def icd10_chapter(dise_codg: Column) -> tuple[Column, Column, Column]:
    """(chapter, chapter number, Chinese name) of an ICD-10 code by conf/icd10_chapters.yaml."""
    conf = load_conf("icd10_chapters.yaml")
    head = F.upper(F.substring(F.trim(dise_codg), 1, 3))
    valid = head.rlike("^[A-Z][0-9]{2}$")
    chapter = F.lit(conf["unknown"]["chapter"])
    number = F.lit(99)
    name = F.lit(conf["unknown"]["name"])
    for i, c in reversed(list(enumerate(conf["chapters"], start=1))):
        cond = valid & (head >= F.lit(c["from"])) & (head <= F.lit(c["to"]))
        chapter = F.when(cond, F.lit(c["chapter"])).otherwise(chapter)
        number = F.when(cond, F.lit(i)).otherwise(number)
        name = F.when(cond, F.lit(c["name"])).otherwise(name)
    return chapter, number, name


def _alive(persons: DataFrame, deaths: DataFrame, run_date: dt.date) -> DataFrame:
    """Persons without a death record dated on or before the run date."""
    dead = deaths.where(F.col("death_date") <= F.lit(run_date)).select("person_ref")
    return persons.join(dead, "person_ref", "left_anti")


def active_persons(registry: DataFrame, run_date: dt.date) -> DataFrame:
    """person_ref of a registry's rows that are in force on the run date.

    Works on silver.enrolment (status, start_date, end_date) and silver.medical_insured
    (insured_status, begin_date, end_date): a status column must be ACTIVE when present; a
    start date on or before the run date, an end date open or after it.
    """
    cols = set(registry.columns)
    df = registry.where(F.col("person_ref").isNotNull())
    for c in ("status", "enrolment_status", "insured_status"):
        if c in cols:
            df = df.where(F.col(c).isin(*ACTIVE))
            break
    for c in ("end_date", "enddate", "ended_on"):
        if c in cols:
            df = df.where(F.col(c).isNull() | (F.col(c) > F.lit(run_date)))
            break
    for c in ("start_date", "begin_date", "begndate", "started_on"):
        if c in cols:
            df = df.where(F.col(c).isNull() | (F.col(c) <= F.lit(run_date)))
            break
    return df.select("person_ref").distinct()


def insured_persons(pension_person: DataFrame, settlements: DataFrame, run_date: dt.date,
                    enrolment: DataFrame | None = None, medical_insured: DataFrame | None = None) -> DataFrame:
    """person_ref, pension_insured, medical_insured: who is insured on the run date.

    Pension: an active enrolment in silver.enrolment, or a pensioner (离退休) of the pension
    registry; without silver.enrolment, anyone in the pension registry. Medical: an active
    silver.medical_insured record; without it, a non-refunded settlement in the 365 days to
    the run date (a settlement needs an insured person).
    """
    pensioners = pension_person.where(F.col("retired") == "1").select("person_ref")
    if enrolment is not None:
        pension = active_persons(enrolment, run_date).unionByName(pensioners)
    else:
        pension = pension_person.select("person_ref")
    if medical_insured is not None:
        medical = active_persons(medical_insured, run_date)
    else:
        medical = settlements.where(
            ~F.col("refunded") & (F.col("visit_start") > F.date_sub(F.lit(run_date), 365))
            & (F.col("visit_start") <= F.lit(run_date))).select("person_ref")
    p = pension.where(F.col("person_ref").isNotNull()).distinct().withColumn("pension_insured", F.lit(True))
    m = medical.where(F.col("person_ref").isNotNull()).distinct().withColumn("medical_insured", F.lit(True))
    return p.join(m, "person_ref", "full").select(
        "person_ref", F.coalesce("pension_insured", F.lit(False)).alias("pension_insured"),
        F.coalesce("medical_insured", F.lit(False)).alias("medical_insured"))


def coverage_persons(hukou: DataFrame, person: DataFrame, deaths: DataFrame, insured: DataFrame,
                     run_date: dt.date) -> DataFrame:
    """One row per 户籍 person in the denominator: region, age band and insured flags."""
    base = hukou.where(F.col("hukou_status") == "NORMAL").select("person_ref", "hukou_region").distinct()
    base = _alive(base, deaths, run_date).join(person.select("person_ref", "birth_date"), "person_ref", "left")
    code, label = age_band(age_on(F.col("birth_date"), run_date))
    return (
        base.join(insured, "person_ref", "left")
        .select("person_ref", F.col("hukou_region").alias("region"), code.alias("age_band"),
                label.alias("age_band_name"),
                F.coalesce("pension_insured", F.lit(False)).alias("pension_insured"),
                F.coalesce("medical_insured", F.lit(False)).alias("medical_insured"))
        .withColumn("insured", F.col("pension_insured") | F.col("medical_insured"))
    )


def coverage(persons: DataFrame, run_date: dt.date) -> DataFrame:
    """gold.coverage from `coverage_persons`."""
    n = F.count(F.lit(1))
    return (
        persons.groupBy("region", "age_band", "age_band_name")
        .agg(n.alias("hukou_population"),
             F.count_if("insured").alias("insured"),
             F.count_if("pension_insured").alias("pension_insured"),
             F.count_if("medical_insured").alias("medical_insured"))
        .withColumn("coverage_rate", F.round(F.col("insured") / F.col("hukou_population"), 4))
        .withColumn("as_of", F.lit(run_date))
        .select("as_of", "region", "age_band", "age_band_name", "hukou_population", "insured",
                "pension_insured", "medical_insured", "coverage_rate")
    )


def age_structure(person: DataFrame, pension_person: DataFrame, contributions: DataFrame | None,
                  deaths: DataFrame, run_date: dt.date) -> DataFrame:
    """Contributors and pensioners per region × age band, with the dependency ratio 在职/退休.

    Pensioners: flagged 离退休 in the pension registry. Contributors: registered 在职 and, when
    contributions are known, with a contribution for one of the 12 months before the run date.
    The dead (a death record by the run date) are neither.
    """
    registry = pension_person.select("person_ref", "retired").where(F.col("person_ref").isNotNull())
    retired = registry.groupBy("person_ref").agg(F.max("retired").alias("retired"))
    working = retired.where(F.col("retired") == "0").select("person_ref")
    if contributions is not None:
        since = F.add_months(F.trunc(F.lit(run_date), "month"), -12)
        paying = contributions.where((F.col("contribution_month") >= since)
                                     & (F.col("contribution_month") <= F.lit(run_date))).select("person_ref").distinct()
        working = working.join(paying, "person_ref", "left_semi")
    roles = (working.withColumn("role", F.lit("contributor"))
             .unionByName(retired.where(F.col("retired") == "1").select("person_ref").withColumn("role", F.lit("pensioner"))))
    roles = _alive(roles, deaths, run_date).join(person.select("person_ref", "birth_date", "region"), "person_ref")
    code, label = age_band(age_on(F.col("birth_date"), run_date))
    return (
        roles.withColumn("region", F.coalesce("region", F.lit("000000")))
        .groupBy("region", code.alias("age_band"), label.alias("age_band_name"))
        .agg(F.count_if(F.col("role") == "contributor").alias("contributors"),
             F.count_if(F.col("role") == "pensioner").alias("pensioners"))
        .withColumn("dependency_ratio",
                    F.when(F.col("pensioners") > 0, F.round(F.col("contributors") / F.col("pensioners"), 3)))
        .withColumn("as_of", F.lit(run_date))
        .select("as_of", "region", "age_band", "age_band_name", "contributors", "pensioners", "dependency_ratio")
    )


def disease_monthly(settlements: DataFrame) -> DataFrame:
    """Cases, cost and fund share per visit month × ICD-10 chapter (refunded settlements excluded)."""
    chapter, number, name = icd10_chapter(F.col("dise_codg"))
    return (
        settlements.where(~F.col("refunded")).select(F.trunc("visit_start", "month").alias("month"), chapter.alias("chapter"),
                 number.alias("chapter_no"), name.alias("chapter_name"), "person_ref", "total", "fund_pay")
        .groupBy("month", "chapter", "chapter_no", "chapter_name")
        .agg(F.count(F.lit(1)).alias("cases"), F.countDistinct("person_ref").alias("patients"),
             F.sum("total").cast("decimal(18,2)").alias("total_cost_yuan"),
             F.sum("fund_pay").cast("decimal(18,2)").alias("fund_pay_yuan"))
        .withColumn("fund_share", F.when(F.col("total_cost_yuan") != 0,
                                         F.round(F.col("fund_pay_yuan") / F.col("total_cost_yuan"), 4)))
        .withColumn("month_label", F.date_format("month", "yyyy-MM"))
        .select("month", "month_label", "chapter", "chapter_no", "chapter_name", "cases", "patients",
                "total_cost_yuan", "fund_pay_yuan", "fund_share")
    )


def drug_ranking(details: DataFrame, settlements: DataFrame) -> DataFrame:
    """Cost and volume per month × list type × item, ranked within month and list type.

    The month is the fee's own month (an inpatient stay can span months), else its visit month.
    """
    visit = settlements.select("setl_id", "visit_start")
    d = (details.where(~F.col("void")).join(visit, "setl_id", "left")
         .withColumn("month", F.trunc(F.coalesce(F.to_date("fee_ocur_time"), F.col("visit_start")), "month")))
    agg = d.groupBy("month", "list_type", "med_list_codg").agg(
        F.min("med_list_name").alias("med_list_name"),
        F.sum("amount").cast("decimal(18,2)").alias("cost_yuan"),
        F.sum("cnt").cast("decimal(18,3)").alias("volume"),
        F.count(F.lit(1)).alias("items"),
        F.countDistinct("setl_id").alias("settlements"),
    )
    part = Window.partitionBy("month", "list_type")
    return (
        agg.withColumn("cost_rank", F.rank().over(part.orderBy(F.desc("cost_yuan"), "med_list_codg")))
        .withColumn("volume_rank", F.rank().over(part.orderBy(F.desc("volume"), "med_list_codg")))
        .withColumn("list_type_name", label_of(F.col("list_type"), "list_type"))
        .withColumn("month_label", F.date_format("month", "yyyy-MM"))
        .select("month", "month_label", "list_type", "list_type_name", "med_list_codg", "med_list_name",
                "cost_yuan", "volume", "items", "settlements", "cost_rank", "volume_rank")
    )


def _optional(spark: SparkSession, env: Env, name: str) -> DataFrame | None:
    return lake.read(spark, env, name) if lake.exists(env, name) else None


def run(run_date: dt.date, env: Env, run_id: str) -> dict[str, int]:
    """Build the four marts for `run_date` from silver."""
    spark = get_spark(env, "gold_marts")
    s = {n: lake.read(spark, env, f"silver.{n}") for n in (
        "person", "pension_person", "hukou_person", "death_event", "medical_settlement", "settlement_detail")}
    insured = insured_persons(s["pension_person"], s["medical_settlement"], run_date,
                              _optional(spark, env, "silver.enrolment"), _optional(spark, env, "silver.medical_insured"))
    persons = coverage_persons(s["hukou_person"], s["person"], s["death_event"], insured, run_date)
    lake.overwrite(coverage(persons, run_date), env, "gold.coverage")
    lake.overwrite(age_structure(s["person"], s["pension_person"], _optional(spark, env, "silver.contribution"),
                                 s["death_event"], run_date), env, "gold.age_structure")
    lake.overwrite(disease_monthly(s["medical_settlement"]), env, "gold.disease_monthly")
    lake.overwrite(drug_ranking(s["settlement_detail"], s["medical_settlement"]), env, "gold.drug_ranking")
    counts = {n: lake.last_commit_rows(env, f"gold.{n}") for n in MARTS}
    log.info("gold marts %s: %s", run_date, counts)
    return counts

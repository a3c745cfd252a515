"""Silver: rebuild the conformed tables from bronze as known on the run date.

Silver is recomputed from every LOADED delivery with extract_date <= run date, so
re-running a date (or backfilling it) gives the same tables. Each table is written in
one Delta transaction; rows with reasons go to `quarantine.<table>` with the raw record.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import (
    silver_activity,
    silver_audit,
    silver_border,
    silver_death,
    silver_identity,
    silver_pension,
    silver_pension_registry,
)
from jobs import silver_medical_detail as md
from jobs import silver_registry as reg
from jobs.reconcile import run as reconcile_silver
from lakehouse import bronze, history, lake
from lakehouse.config import Env
from lakehouse.secrets import pseudonym_key
from lakehouse.spark import get_spark
from lakehouse.standardise import split_quarantine

log = logging.getLogger(__name__)


class SilverWriter:
    """Writes silver tables and their quarantine/dedup rows, counting as it goes."""

    def __init__(self, spark: SparkSession, env: Env, run_date: dt.date) -> None:
        self.spark, self.env, self.run_date = spark, env, run_date
        self.quarantine: list[DataFrame] = []
        self.deduplicated: list[DataFrame] = []
        self.counts: dict[str, int] = {}
        self._persisted: list[DataFrame] = []

    def table(self, name: str, df: DataFrame, layer: str = "silver") -> None:
        lake.overwrite(df, self.env, f"{layer}.{name}")
        self.counts[f"{layer}.{name}"] = lake.last_commit_rows(self.env, f"{layer}.{name}")

    def split(self, name: str, df: DataFrame, raw_columns: list[str]) -> DataFrame:
        # both halves (and the quarantine union at the end) read the same standardised rows
        df = df.persist()
        self._persisted.append(df)
        good, bad = split_quarantine(df, name, raw_columns)
        self.quarantine.append(bad)
        return good

    def dedup(self, name: str, df: DataFrame) -> None:
        self.deduplicated.append(df.withColumn("silver_table", F.lit(name)))

    def events(self, name: str, standardised: DataFrame, raw_columns: list[str],
               collapse: Callable[[DataFrame], tuple[DataFrame, DataFrame]]) -> None:
        """Quarantine, de-duplicate (`collapse` → kept rows, de-duplicated rows) and write one table."""
        kept, dedup = collapse(self.split(name, standardised, raw_columns))
        self.dedup(name, dedup)
        self.table(name, kept)

    def registry(self, spec: reg.Registry, standardised: DataFrame) -> DataFrame:
        """Quarantine, date every snapshot into `silver.<name>_history` and return it as written."""
        deliveries = (lake.read(self.spark, self.env, bronze.DELIVERIES) if lake.exists(self.env, bronze.DELIVERIES)
                      else self.spark.createDataFrame([], history.DELIVERY_COLUMNS))
        good = self.split(spec.home, history.tag_snapshots(standardised, deliveries), list(spec.raw))
        snapshots = history.snapshot_dates(deliveries, spec.source, spec.pattern, self.run_date)
        hist, dedup = history.build_history(spec.final(good), spec.key, spec.state, snapshots)
        self.dedup(spec.home, dedup)
        lineage = history.LINEAGE
        self.table(spec.home, hist.select(*spec.columns, history.VALID_FROM, history.VALID_TO, *lineage))
        return lake.read(self.spark, self.env, f"silver.{spec.home}")

    def finish(self) -> None:
        q = self.quarantine[0]
        for other in self.quarantine[1:]:
            q = q.unionByName(other)
        self.table("records", q.withColumn("run_date", F.lit(self.run_date)), layer="quarantine")
        d = self.deduplicated[0]
        for other in self.deduplicated[1:]:
            d = d.unionByName(other)
        self.table("deduplicated", d.withColumn("run_date", F.lit(self.run_date)), layer="ops")
        for df in self._persisted:
            df.unpersist()


def run(run_date: dt.date, env: Env, run_id: str) -> dict[str, int]:
    """Build every silver table for `run_date`; returns row counts per table."""
    spark = get_spark(env, "silver_build")
    key = pseudonym_key(env)
    w = SilverWriter(spark, env, run_date)

    ident = silver_identity.build(spark, env, run_date, key)
    w.table("identity", ident["identity"], layer="restricted")
    pension_person = history.as_of(w.registry(reg.PENSION_PERSON, ident["pension_person"]), run_date)
    w.table("pension_person", pension_person.select(*silver_identity.PENSION_PERSON_COLUMNS))
    hukou = history.as_of(w.registry(reg.HUKOU_PERSON, ident["hukou_person"]), run_date)
    w.table("hukou_person", hukou.select(*silver_identity.HUKOU_PERSON_COLUMNS))
    pension_person = lake.read(spark, env, "silver.pension_person")

    ic80 = bronze.loaded(spark, env, "pension__ic80_payment", run_date)
    w.events("pension_payment", silver_pension.standardise_payments(ic80, pension_person),
             silver_pension.PAYMENT_RAW, silver_pension.one_payment_per_scheme_month)

    ac43 = bronze.loaded(spark, env, "pension__ac43_contribution", run_date)
    w.events("contribution", silver_pension.standardise_contributions(ac43, pension_person),
             silver_pension.CONTRIBUTION_RAW, silver_pension.contributions)
    _pension_registries(spark, env, run_date, w, pension_person)

    w.events("hukou_cancellation", silver_death.standardise_hkzx(
        bronze.loaded(spark, env, "public_security__hkzx", run_date), key), silver_death.HKZX_RAW,
        silver_death.hukou_cancellations)
    w.events("cremation", silver_death.standardise_huohua(
        bronze.loaded(spark, env, "civil_affairs__huohua", run_date), key), silver_death.HUOHUA_RAW,
        silver_death.cremations)
    hkzx, huohua = lake.read(spark, env, "silver.hukou_cancellation"), lake.read(spark, env, "silver.cremation")
    w.table("death_event", silver_death.death_events(hkzx, huohua))
    w.table("emigration_event", silver_death.emigration_events(hkzx))
    w.events("border_crossing", silver_border.standardise_crj(
        bronze.loaded(spark, env, "public_security__crj", run_date), key), silver_border.CRJ_RAW,
        silver_border.border_crossings)
    _activity(spark, env, run_date, key, w)
    _registries(spark, env, run_date, key, w)
    # last: the region falls back to the medical registry (SOURCES.md)
    w.table("person", silver_identity.conformed_person(
        lake.read(spark, env, "restricted.identity"), pension_person, lake.read(spark, env, "silver.hukou_person"),
        lake.read(spark, env, "silver.medical_insured")))
    w.finish()
    reconcile_silver(spark, env, run_date)  # every bronze record accounted for, else the silver step fails
    for name, n in sorted(w.counts.items()):
        log.info("%-28s %9d rows", name, n)
    return w.counts


def _activity(spark: SparkSession, env: Env, run_date: dt.date, key: bytes, w: SilverWriter) -> None:
    """Medical settlements, bank transactions and transit taps."""
    a = silver_activity
    keys = a.medical_keys(bronze.loaded(spark, env, "medical__psn_insu", run_date), key)
    w.events("medical_settlement", a.standardise_settlements(
        bronze.loaded(spark, env, "medical__setl", run_date), keys, key), a.SETL_RAW, a.settlements)
    # details read the settlements just written: their void flag, and orphans go to quarantine
    w.events("settlement_detail", md.standardise_details(bronze.loaded(spark, env, "medical__setl_detail", run_date),
             lake.read(spark, env, "silver.medical_settlement")), md.DETAIL_RAW, md.details)
    w.events("audit_case", silver_audit.standardise_audit_cases(
        bronze.loaded(spark, env, "medical__audit_cases", run_date), keys), silver_audit.AUDIT_RAW,
        silver_audit.audit_cases)

    owners = a.account_owners(bronze.loaded(spark, env, "bank__acct", run_date), key)
    w.events("bank_txn", a.standardise_txns(bronze.loaded(spark, env, "bank__txn", run_date), owners),
             a.TXN_RAW, a.bank_txns)

    cards = w.registry(reg.CARD_REGISTRY, reg.standardise_cards(
        bronze.loaded(spark, env, "transit__card_holder", run_date), key))
    w.table("card_registry", history.as_of(cards, run_date).select(*reg.CARD_REGISTRY_COLUMNS))
    # taps link through the holder registered on the tap date (the card's version history)
    w.events("transit_tap", a.standardise_taps(bronze.loaded(spark, env, "transit__taps", run_date), cards),
             a.TAP_RAW, a.transit_taps)


def _registries(spark: SparkSession, env: Env, run_date: dt.date, key: bytes, w: SilverWriter) -> None:
    """Bank accounts, medical insured persons and the 低保 roll: history and state as of the run date."""
    for spec, standardise in ((reg.BANK_ACCOUNT, reg.standardise_accounts),
                              (reg.MEDICAL_INSURED, reg.standardise_insured), (reg.DIBAO, reg.standardise_dibao)):
        hist = w.registry(spec, standardise(bronze.loaded(spark, env, spec.bronze_table, run_date), key))
        w.table(spec.name, history.as_of(hist, run_date).select(*spec.columns, history.VALID_FROM))


def _pension_registries(spark: SparkSession, env: Env, run_date: dt.date, w: SilverWriter,
                        pension_person: DataFrame) -> None:
    """Employers (versioned over the ab01 snapshots) and enrolments (latest ac20 snapshot)."""
    r = silver_pension_registry
    ab01 = bronze.loaded(spark, env, "pension__ab01_employer", run_date)
    employers = w.split("employer", r.standardise_employers(ab01), r.AB01_RAW)
    kept, dedup = r.employer_versions(employers, ab01)
    w.dedup("employer", dedup)
    w.table("employer", kept)
    latest, superseded = r.latest_and_superseded(bronze.loaded(spark, env, "pension__ac20_enrollment", run_date))
    w.dedup("enrolment", superseded)
    w.events("enrolment", r.standardise_enrolments(latest, pension_person), r.AC20_RAW, r.one_enrolment_per_scheme)

"""Silver: the conformed tables as known on the run date, applying only what is new.

Event tables (`EventTable`) are incremental: `lakehouse.applied` tells which deliveries each
one has applied; a night standardises only the records of new deliveries plus the older
records of the same collapse groups (same business key), re-collapses those groups and MERGEs
the result by lineage. A table whose lookups (registries) changed, whose code changed, or
whose deliveries were replaced by a re-send is rebuilt from bronze instead, as is every table
with `lakehouse rebuild`. Registries are rebuilt on the nights their snapshots arrive; tables
computed whole from others (`SilverWriter.changed`) when one of their inputs changed.
Rows with reasons go to `quarantine.records` with the raw record, collapsed duplicates to
`ops.deduplicated`; both keep the rows of the groups not recomputed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession
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
from lakehouse import applied, bronze, history, keyguard, lake
from lakehouse.config import Env
from lakehouse.secrets import pseudonym_key
from lakehouse.spark import get_spark
from lakehouse.standardise import clean, parse_month, split_quarantine

log = logging.getLogger(__name__)
LINEAGE = history.LINEAGE
GROUP = "_group"
FULL = "full"


@dataclass(frozen=True)
class EventTable:
    """An event table: each bronze record is standardised on its own (with `lookups`), then the
    records of one collapse group (business key) reduce to silver rows and de-duplications."""

    name: str
    bronze_table: str
    raw_columns: list[str]
    standardise: Callable[[DataFrame], DataFrame]
    collapse: Callable[[DataFrame], tuple[DataFrame, DataFrame]]
    # adds `_group` to bronze rows: a hash of what `collapse` groups by (or coarser); None: rebuild when anything changes
    group: Callable[[DataFrame], DataFrame] | None = None
    lookups: tuple[DataFrame, ...] = ()
    follows: str | None = None  # an event table this one joins: its recomputed groups are this table's too


def grouped_by(*columns: Column) -> Callable[[DataFrame], DataFrame]:
    """A `group` function hashing expressions of bronze columns."""
    return lambda df: df.withColumn(GROUP, F.xxhash64(*columns))


class SilverWriter:
    """Writes silver tables and their quarantine/dedup rows, counting as it goes."""

    def __init__(self, spark: SparkSession, env: Env, run_date: dt.date, key: bytes, full: bool = False) -> None:
        self.spark, self.env, self.run_date = spark, env, run_date
        self.logic = applied.logic_version(keyguard.fingerprint(key))
        self.previous: dict[str, applied.Applied] = {} if full else applied.load(env)
        self.log = applied.delivered(env)
        self.records: list[applied.Applied] = []
        self.modes: dict[str, str] = {}
        self.quarantine: list[DataFrame] = []
        self.deduplicated: list[DataFrame] = []
        self.rebuilt: set[str] = set()  # silver_table names whose quarantine/dedup rows are all replaced
        self.scopes: list[DataFrame] = []  # (silver_table, lineage) of the records recomputed incrementally
        self.touched: dict[str, DataFrame | str | None] = {}  # per event table: FULL, recomputed groups, or None
        self.counts: dict[str, int] = {}
        self._persisted: list[DataFrame] = []
        self._signatures: dict[int, str] = {}

    def _persist(self, df: DataFrame) -> DataFrame:
        df = df.persist()
        self._persisted.append(df)
        return df

    def table(self, name: str, df: DataFrame, layer: str = "silver") -> None:
        lake.overwrite(df, self.env, f"{layer}.{name}")
        self.counts[f"{layer}.{name}"] = lake.last_commit_rows(self.env, f"{layer}.{name}")

    def split(self, name: str, df: DataFrame, raw_columns: list[str], scope: DataFrame | None = None) -> DataFrame:
        """Rows without reasons; the others go to quarantine. `scope` (lineage): the records whose
        quarantine rows these replace, when not all of the table's."""
        # both halves (and the quarantine union at the end) read the same standardised rows
        good, bad = split_quarantine(self._persist(df), name, raw_columns)
        self.quarantine.append(bad)
        self._replaces(name, scope)
        return good

    def dedup(self, name: str, df: DataFrame, scope: DataFrame | None = None) -> None:
        self.deduplicated.append(df.withColumn("silver_table", F.lit(name)))
        self._replaces(name, scope)

    def _replaces(self, name: str, scope: DataFrame | None) -> None:
        if scope is None:
            self.rebuilt.add(name)
        else:
            self.scopes.append(scope.select(F.lit(name).alias("silver_table"), *LINEAGE))

    def signature(self, lookups: tuple[DataFrame, ...]) -> str:
        """A digest of the lookups' content: a changed registry re-standardises the table's records."""
        parts = []
        for df in lookups:
            if id(df) not in self._signatures:
                row = df.select(F.count(F.lit(1)).alias("n"),
                                F.sum(F.xxhash64(*df.columns).cast("decimal(38,0)")).alias("h")).first()
                self._signatures[id(df)] = f"{row['n']}:{row['h']}"
            parts.append(self._signatures[id(df)])
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def events(self, spec: EventTable) -> None:
        """Apply the new deliveries of one event table (or rebuild it); see the module docstring."""
        name, target = spec.name, f"silver.{spec.name}"
        now = applied.Applied(name, self.logic, self.signature(spec.lookups), self._eligible(spec.bronze_table))
        mode, new = applied.plan(self.previous.get(name), now)
        upstream = self.touched.get(spec.follows) if spec.follows else None
        rebuild = not lake.exists(self.env, target) or isinstance(upstream, str)
        if rebuild or (spec.group is None and mode == "incremental"):
            mode = FULL
        elif mode == "skip" and isinstance(upstream, DataFrame):
            mode = "incremental"  # nothing new of its own, but groups of the table it joins changed
        self._record(name, mode, now, f" ({len(new)} new deliveries)" if mode == "incremental" else "")
        if mode == "skip":
            self.touched[name] = None
            return
        rows = bronze.loaded(self.spark, self.env, spec.bronze_table, self.run_date)
        if mode == FULL:
            kept, dedup = spec.collapse(self.split(name, spec.standardise(rows), spec.raw_columns))
            self.dedup(name, dedup)
            self.table(name, kept)
            self.touched[name] = FULL
        else:
            assert spec.group is not None
            affected = self._affected(spec.group(rows), new, upstream)
            scope = affected.select(*LINEAGE)
            kept, dedup = spec.collapse(self.split(name, spec.standardise(affected.drop(GROUP)), spec.raw_columns,
                                                   scope))
            self.dedup(name, dedup, scope)
            lake.replace_rows(self.spark, self.env, target, kept, scope, LINEAGE)
            self.counts[target] = lake.last_commit_rows(self.env, target)
            self.touched[name] = affected.select(GROUP).distinct()

    def _affected(self, keyed: DataFrame, new: frozenset[applied.Delivery], upstream: object) -> DataFrame:
        """Records of the new deliveries and every older record of the groups they (or `upstream`) touch."""
        new_df = self.spark.createDataFrame(
            [(s, dt.date.fromisoformat(d), q, True) for s, d, q, _ in sorted(new)],
            "_source string, _extract_date date, _sequence int, _new boolean")
        flagged = keyed.join(F.broadcast(new_df), ["_source", "_extract_date", "_sequence"], "left")
        groups = flagged.where("_new").select(GROUP)
        if isinstance(upstream, DataFrame):
            groups = groups.unionByName(upstream)
        hits = groups.where(F.col(GROUP).isNotNull()).distinct().withColumn("_hit", F.lit(True))
        affected = flagged.join(hits, GROUP, "left").where(F.col("_new") | F.col("_hit")).drop("_new", "_hit")
        return self._persist(affected)

    def registry(self, spec: reg.Registry, standardised: DataFrame, current: list[str]) -> DataFrame:
        """Date every snapshot into `silver.<name>_history` (quarantine first), write the state as of
        the run date to `silver.<name>` (`current` columns), and return the history as written.
        Without a new snapshot both tables stand as they are."""
        home = f"silver.{spec.home}"
        now = applied.Applied(spec.home, self.logic, "",
                              applied.eligible(self.log, spec.source, spec.pattern, self.run_date))
        mode, _ = applied.plan(self.previous.get(spec.home), now)
        if mode == "incremental" or not (lake.exists(self.env, home) and lake.exists(self.env, f"silver.{spec.name}")):
            mode = FULL  # a new snapshot: the history is rebuilt from every snapshot
        self._record(spec.home, mode, now)
        if mode == FULL:
            deliveries = (lake.read(self.spark, self.env, bronze.DELIVERIES) if self.log
                          else self.spark.createDataFrame([], history.DELIVERY_COLUMNS))
            good = self.split(spec.home, history.tag_snapshots(standardised, deliveries), list(spec.raw))
            snapshots = history.snapshot_dates(deliveries, spec.source, spec.pattern, self.run_date)
            hist, dedup = history.build_history(spec.final(good), spec.key, spec.state, snapshots)
            self.dedup(spec.home, dedup)
            self.table(spec.home, hist.select(*spec.columns, history.VALID_FROM, history.VALID_TO, *LINEAGE))
            written = lake.read(self.spark, self.env, home)
            self.table(spec.name, history.as_of(written, self.run_date).select(*current))
        return lake.read(self.spark, self.env, home)

    def changed(self, name: str, inputs: tuple[str, ...] = (), bronze_tables: tuple[str, ...] = (),
                layer: str = "silver") -> bool:
        """Whether a table computed whole from other tables must be built again: its `inputs` (lake
        tables, by their Delta version) or the deliveries of its `bronze_tables` changed since it was
        built, or the code did. Recorded like the event tables; False leaves the table as it is."""
        deliveries = frozenset().union(*(self._eligible(b) for b in bronze_tables))
        versions = ",".join(f"{t}@{lake.version(self.env, t)}" for t in inputs)
        now = applied.Applied(name, self.logic, hashlib.sha256(versions.encode()).hexdigest()[:16], deliveries)
        mode, _ = applied.plan(self.previous.get(name), now)
        if mode != "skip" or not lake.exists(self.env, f"{layer}.{name}"):
            mode = FULL
        self._record(name, mode, now)
        return mode == FULL

    def _eligible(self, bronze_table: str) -> frozenset[applied.Delivery]:
        """The deliveries of `bronze_table` the run date makes eligible."""
        fs = bronze.file_spec(bronze_table)
        return applied.eligible(self.log, fs.source, fs.pattern, self.run_date)

    def _record(self, name: str, mode: str, now: applied.Applied, note: str = "") -> None:
        self.modes[name] = mode
        log.info("%-24s %s%s", name, mode, note)
        if mode != "skip":  # a skipped table's record stands as it is
            self.records.append(now)

    def finish(self) -> None:
        """Write quarantine and de-duplications: the rows of what was recomputed replaced, the rest kept."""
        self._merge_side_table("quarantine.records", self.quarantine)
        self._merge_side_table("ops.deduplicated", self.deduplicated)
        for df in self._persisted:
            df.unpersist()

    def _merge_side_table(self, name: str, parts: list[DataFrame]) -> None:
        if not parts:  # every table was left as it is: so are their quarantine and de-duplication rows
            return
        new = reduce(DataFrame.unionByName, parts).withColumn("run_date", F.lit(self.run_date))
        if lake.exists(self.env, name):
            kept = lake.read(self.spark, self.env, name).where(~F.col("silver_table").isin(sorted(self.rebuilt)))
            if self.scopes:
                kept = kept.join(reduce(DataFrame.unionByName, self.scopes), ["silver_table", *LINEAGE], "left_anti")
            new = kept.unionByName(new.select(*kept.columns))
        # reading the version being replaced is safe: an overwrite only marks its files removed
        layer, _, table = name.partition(".")
        self.table(table, new, layer=layer)


def run(run_date: dt.date, env: Env, run_id: str, full: bool = False) -> dict[str, int]:
    """Bring every silver table to `run_date` (`full`: rebuild all from bronze); returns row counts."""
    spark = get_spark(env, "silver_build")
    key = pseudonym_key(env)
    w = SilverWriter(spark, env, run_date, key, full=full)

    def loaded(bronze_table: str) -> DataFrame:
        return bronze.loaded(spark, env, bronze_table, run_date)

    ident = silver_identity.build(spark, env, run_date, key)
    if w.changed("identity", bronze_tables=silver_identity.source_tables(), layer="restricted"):
        w.table("identity", ident["identity"], layer="restricted")
    w.registry(reg.PENSION_PERSON, ident["pension_person"], silver_identity.PENSION_PERSON_COLUMNS)
    w.registry(reg.HUKOU_PERSON, ident["hukou_person"], silver_identity.HUKOU_PERSON_COLUMNS)
    pension_person = lake.read(spark, env, "silver.pension_person")

    p = silver_pension
    by_person_month = _by_person_month(pension_person)
    w.events(EventTable("pension_payment", "pension__ic80_payment", p.PAYMENT_RAW,
                        lambda df: p.standardise_payments(df, pension_person), p.one_payment_per_scheme_month,
                        by_person_month, (pension_person,)))
    w.events(EventTable("contribution", "pension__ac43_contribution", p.CONTRIBUTION_RAW,
                        lambda df: p.standardise_contributions(df, pension_person), p.contributions,
                        by_person_month, (pension_person,)))
    _pension_registries(w, loaded, pension_person)

    d = silver_death
    w.events(EventTable("hukou_cancellation", "public_security__hkzx", d.HKZX_RAW,
                        lambda df: d.standardise_hkzx(df, key), d.hukou_cancellations))
    w.events(EventTable("cremation", "civil_affairs__huohua", d.HUOHUA_RAW,
                        lambda df: d.standardise_huohua(df, key), d.cremations))
    hkzx, huohua = lake.read(spark, env, "silver.hukou_cancellation"), lake.read(spark, env, "silver.cremation")
    if w.changed("death_event", ("silver.hukou_cancellation", "silver.cremation")):
        w.table("death_event", d.death_events(hkzx, huohua))
    if w.changed("emigration_event", ("silver.hukou_cancellation",)):
        w.table("emigration_event", d.emigration_events(hkzx))
    w.events(EventTable("border_crossing", "public_security__crj", silver_border.CRJ_RAW,
                        lambda df: silver_border.standardise_crj(df, key), silver_border.border_crossings))
    _activity(w, loaded, key)
    _registries(w, loaded, key)
    # last: the region falls back to the medical registry (SOURCES.md)
    inputs = ("restricted.identity", "silver.pension_person", "silver.hukou_person", "silver.medical_insured")
    if w.changed("person", inputs):
        w.table("person", silver_identity.conformed_person(*(lake.read(spark, env, t) for t in inputs)))
    w.finish()
    reconcile_silver(spark, env, run_date)  # every bronze record accounted for, else the silver step fails
    # only a reconciled night counts as applied: a failed one is applied again (rows replace by lineage)
    applied.save(env, w.records, w.modes, run_date, run_id)
    for name, n in sorted(w.counts.items()):
        log.info("%-28s %9d rows", name, n)
    return w.counts


def rebuild(run_date: dt.date, env: Env, run_id: str) -> dict[str, int]:
    """Every silver table rebuilt from bronze as known on `run_date` (the oracle of the incremental path)."""
    return run(run_date, env, run_id, full=True)


def _by_person_month(pension_person: DataFrame) -> Callable[[DataFrame], DataFrame]:
    """Pension events collapse per person and month: the person comes through AAC001."""

    def group(df: DataFrame) -> DataFrame:
        linked = silver_pension.link_aac001(df, pension_person)
        return linked.select(*df.columns, F.xxhash64("person_ref", parse_month(F.col("AAE002"))).alias(GROUP))

    return group


def _activity(w: SilverWriter, loaded: Callable[[str], DataFrame], key: bytes) -> None:
    """Medical settlements, bank transactions and transit taps."""
    a = silver_activity
    keys = a.medical_keys(loaded("medical__psn_insu"), key)
    by_settlement = grouped_by(clean(F.col("setl_id")))
    w.events(EventTable("medical_settlement", "medical__setl", a.SETL_RAW,
                        lambda df: a.standardise_settlements(df, keys, key), a.settlements, by_settlement, (keys,)))
    # details read the settlements just written: their void flag, and orphans go to quarantine
    w.events(EventTable("settlement_detail", "medical__setl_detail", md.DETAIL_RAW,
                        lambda df: md.standardise_details(df, lake.read(w.spark, w.env, "silver.medical_settlement")),
                        md.details, by_settlement, follows="medical_settlement"))
    w.events(EventTable("audit_case", "medical__audit_cases", silver_audit.AUDIT_RAW,
                        lambda df: silver_audit.standardise_audit_cases(df, keys), silver_audit.audit_cases,
                        grouped_by(clean(F.col("case_id")), clean(F.col("setl_id"))), (keys,)))

    owners = a.account_owners(loaded("bank__acct"), key)
    w.events(EventTable("bank_txn", "bank__txn", a.TXN_RAW, lambda df: a.standardise_txns(df, owners), a.bank_txns,
                        grouped_by(clean(F.col("acct_no")),
                                   F.try_to_timestamp(clean(F.col("txn_time")), F.lit("yyyyMMddHHmmss"))),
                        (owners,)))

    cards = w.registry(reg.CARD_REGISTRY, reg.standardise_cards(loaded("transit__card_holder"), key),
                       reg.CARD_REGISTRY_COLUMNS)
    # taps link through the holder registered on the tap date (the card's version history)
    w.events(EventTable("transit_tap", "transit__taps", a.TAP_RAW, lambda df: a.standardise_taps(df, cards),
                        a.transit_taps,
                        grouped_by(clean(F.col("card_no")), F.try_to_timestamp(clean(F.col("tap_time"))),
                                   F.col("device_id")),
                        (cards,)))


def _registries(w: SilverWriter, loaded: Callable[[str], DataFrame], key: bytes) -> None:
    """Bank accounts, medical insured persons and the 低保 roll: history and state as of the run date."""
    for spec, standardise in ((reg.BANK_ACCOUNT, reg.standardise_accounts),
                              (reg.MEDICAL_INSURED, reg.standardise_insured), (reg.DIBAO, reg.standardise_dibao)):
        w.registry(spec, standardise(loaded(spec.bronze_table), key), [*spec.columns, history.VALID_FROM])


def _pension_registries(w: SilverWriter, loaded: Callable[[str], DataFrame], pension_person: DataFrame) -> None:
    """Employers (versioned over the ab01 snapshots) and enrolments (latest ac20 snapshot)."""
    r = silver_pension_registry
    if w.changed("employer", bronze_tables=("pension__ab01_employer",)):
        ab01 = loaded("pension__ab01_employer")
        employers = w.split("employer", r.standardise_employers(ab01), r.AB01_RAW)
        kept, dedup = r.employer_versions(employers, ab01)
        w.dedup("employer", dedup)
        w.table("employer", kept)
    if w.changed("enrolment", ("silver.pension_person",), ("pension__ac20_enrollment",)):
        latest, superseded = r.latest_and_superseded(loaded("pension__ac20_enrollment"))
        w.dedup("enrolment", superseded)
        good = w.split("enrolment", r.standardise_enrolments(latest, pension_person), r.AC20_RAW)
        kept, dedup = r.one_enrolment_per_scheme(good)
        w.dedup("enrolment", dedup)
        w.table("enrolment", kept)

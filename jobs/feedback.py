"""核查反馈: community verification dispositions into the lake (OUTPUTS.md, conf/feedback.yaml).

Every `<landing>/feedback/<date>/disposition.csv` with date <= run date is read again each run
(full recompute, so re-running a date gives the same tables):

- `silver.clue_disposition` — one row per valid disposition record, verifier masked, with the
  clue's person_ref/rule_code and `training_label` (CONFIRMED → RISK_CONFIRMED, ALIVE_VERIFIED →
  ALIVE) for the next training run. jobs/rules_run.py closes dispositioned clues from it.
- `restricted.clue_disposition` — the same records with the verifier's name and the free-text note.
- `quarantine.records` (silver_table `clue_disposition`) — records with an unknown result, a bad
  or future date, an unknown clue_id, a verifier missing from the roll (conf/verifiers.yaml), a
  malformed line, or from an unreadable file; never dropped.
- `restricted.disposition_audit` — each accepted disposition once, when first accepted: file, its
  sha256, row, verifier, clue and result (append-only; `lakehouse restore` leaves it alone).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from functools import cache
from pathlib import Path
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakehouse import lake
from lakehouse.config import Env, load_conf
from lakehouse.errors import CorruptDelivery
from lakehouse.identity import mask_name
from lakehouse.landing.delivery import MANIFEST, load_delivery, read_manifest
from lakehouse.landing.readers import Unreadable, read_file
from lakehouse.sources import FileSpec, SourceSpec
from lakehouse.spark import get_spark
from lakehouse.standardise import (
    bad_date,
    clean,
    malformed_reason,
    parse_date,
    reason_when,
    split_quarantine,
    with_reasons,
)

log = logging.getLogger(__name__)
TABLE = "clue_disposition"
RAW_SCHEMA = T.StructType(
    [T.StructField(c, T.StringType()) for c in ("clue_id", "result", "verified_on", "verifier", "note")]
    + [T.StructField("_malformed", T.StringType()), T.StructField("_raw", T.StringType()),
       T.StructField("_source", T.StringType()), T.StructField("_extract_date", T.DateType()),
       T.StructField("_file", T.StringType()), T.StructField("_row", T.LongType())]
)
SILVER_COLUMNS = ["clue_id", "person_ref", "rule_code", "result", "verified_on", "verifier_id", "verifier_masked",
                  "training_label", "_source", "_extract_date", "_file", "_row"]
AUDIT = "restricted.disposition_audit"


@cache
def conf() -> dict[str, Any]:
    """conf/feedback.yaml."""
    return load_conf("feedback.yaml")


@cache
def verifier_ids() -> dict[str, str]:
    """Verifier name (as written in disposition.csv) → id, from the roll in conf/verifiers.yaml."""
    return {str(name): str(v["id"]) for name, v in (load_conf("verifiers.yaml")["verifiers"] or {}).items()}


def feedback_spec() -> SourceSpec:
    """The feedback delivery as a source spec, so manifests and CSV parsing work as for any source."""
    c = conf()
    spec = FileSpec(source=c["folder"], pattern=c["file"], table=TABLE, kind="events", format="csv",
                    encoding=c["encoding"], delimiter=",", columns=tuple(c["columns"]))
    return SourceSpec(name=c["folder"], label="核查反馈", files=(spec,))


def _records(folder: Path, day: dt.date) -> list[tuple]:
    """Raw rows of one date's disposition file; an unreadable file is one row carrying its reason."""
    source = feedback_spec()
    name = conf()["file"]
    try:
        if (folder / MANIFEST).is_file():
            parsed = [lf.parsed for lf in load_delivery(read_manifest(source.name, folder), source).files]
        elif (folder / name).is_file():
            parsed = [read_file((folder / name).read_bytes(), source.files[0])]
        else:
            return []
    except (CorruptDelivery, Unreadable) as exc:
        # the whole file is held back, visibly: one quarantine row naming the file and why
        log.error("feedback %s/%s unreadable: %s", day, name, exc)
        return [(None, None, None, None, None, f"UNREADABLE_FILE {exc}", f"{source.name}/{day}/{name}",
                 source.name, day, name, 0)]
    return [
        (r.values.get("clue_id"), r.values.get("result"), r.values.get("verified_on"), r.values.get("verifier"),
         r.values.get("note"), r.malformed, r.raw, source.name, day, name, r.row)
        for p in parsed for r in p.records
    ]


def delivered_files(landing: Path, run_date: dt.date) -> dict[tuple[dt.date, str], str]:
    """sha256 of each disposition file with date folder <= run_date, by (date, file name)."""
    root = landing / conf()["folder"]
    out = {}
    for path in sorted(root.glob(f"*/{conf()['file']}")) if root.is_dir() else []:
        try:
            day = dt.date.fromisoformat(path.parent.name)
        except ValueError:
            continue
        if day <= run_date:
            out[(day, path.name)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def delivered(spark: SparkSession, landing: Path, run_date: dt.date) -> DataFrame:
    """Every delivered disposition record with date folder <= run_date, as raw strings with lineage."""
    root = landing / conf()["folder"]
    rows: list[tuple] = []
    for folder in sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []:
        try:
            day = dt.date.fromisoformat(folder.name)
        except ValueError:
            log.warning("ignoring %s: folder name is not a date", folder)
            continue
        if day <= run_date:
            rows.extend(_records(folder, day))
    return spark.createDataFrame(rows, RAW_SCHEMA)


@F.udf(T.StringType())
def _mask(name: str | None) -> str | None:
    return mask_name(name) if name else None


def training_label(result: Column) -> Column:
    """The label a result gives the next training run (conf/feedback.yaml), null for none."""
    labels = {k: v["training_label"] for k, v in conf()["results"].items() if v.get("training_label")}
    return F.try_element_at(F.create_map(*[F.lit(x) for kv in sorted(labels.items()) for x in kv]), result)


def standardise(raw: DataFrame, clues: DataFrame, renamed: DataFrame | None = None) -> DataFrame:
    """Typed dispositions joined to the clue they close; `_reasons` for quarantine.

    `clues`: clue_id, person_ref, rule_code of every clue the lake has raised. `renamed`:
    old_clue_id → new_clue_id of the key rotations (`lakehouse rekey`): a disposition naming a
    clue by the id of an export from before a rotation closes the same clue under its new id.
    """
    verified = parse_date(F.col("verified_on"))
    results = sorted(conf()["results"])
    roll = verifier_ids()
    df = raw.withColumn("_clue", F.lower(clean(F.col("clue_id")))).withColumn(
        "_verifier_id", F.try_element_at(F.create_map(*[F.lit(x) for kv in sorted(roll.items()) for x in kv]),
                                         clean(F.col("verifier"))) if roll else F.lit(None).cast("string"))
    if renamed is not None:
        df = (df.join(renamed.select(F.col("old_clue_id").alias("_clue"), F.col("new_clue_id").alias("_renamed")),
                      "_clue", "left")
              .withColumn("_clue", F.coalesce(F.col("_renamed"), F.col("_clue"))).drop("_renamed"))
    df = (
        df
        .withColumn("_result", F.upper(clean(F.col("result"))))
        .withColumn("_verified_on", verified)
        .join(clues.select(F.col("clue_id").alias("_clue"), "person_ref", "rule_code"), "_clue", "left")
    )
    return with_reasons(
        df,
        malformed_reason(),
        reason_when(F.col("_clue").isNull(), "MISSING:clue_id"),
        reason_when(F.col("_clue").isNotNull() & F.col("person_ref").isNull(), "UNKNOWN_CLUE_ID"),
        F.when(~F.coalesce(F.col("_result"), F.lit("")).isin(*results),
               F.concat(F.lit("UNKNOWN_RESULT:"), F.coalesce(F.col("_result"), F.lit("")))),
        bad_date(F.col("verified_on"), verified, "verified_on", required=True),
        reason_when(verified > F.col("_extract_date"), "FUTURE_DATE:verified_on"),
        reason_when(F.col("_verifier_id").isNull(), "UNKNOWN_VERIFIER"),
    )


def silver_rows(good: DataFrame) -> DataFrame:
    """silver.clue_disposition from the records without reasons."""
    return good.select(
        F.col("_clue").alias("clue_id"), "person_ref", "rule_code", F.col("_result").alias("result"),
        F.col("_verified_on").alias("verified_on"), F.col("_verifier_id").alias("verifier_id"),
        _mask(clean(F.col("verifier"))).alias("verifier_masked"),
        training_label(F.col("_result")).alias("training_label"), "_source", "_extract_date", "_file", "_row",
    )


def known_clues(spark: SparkSession, env: Env, run_date: dt.date) -> DataFrame:
    """Every clue raised up to the run date (a disposition can only close a clue that was listed)."""
    if not lake.exists(env, "gold.risk_clue_history"):
        return spark.createDataFrame([], "clue_id string, person_ref string, rule_code string")
    return (lake.read(spark, env, "gold.risk_clue_history").where(F.col("run_date") <= F.lit(run_date))
            .select("clue_id", "person_ref", "rule_code").distinct())


def renamed_clues(spark: SparkSession, env: Env) -> DataFrame | None:
    """old → newest clue id over every key rotation (restricted.clue_id_map), None before the first."""
    from lakehouse.rekey import CLUE_MAP

    if not lake.exists(env, CLUE_MAP):
        return None
    return lake.read(spark, env, CLUE_MAP).groupBy("old_clue_id").agg(
        F.max_by("new_clue_id", "rekeyed_at").alias("new_clue_id"))


def training_labels(dispositions: DataFrame, as_of: dt.date) -> DataFrame:
    """Labels for a training run as of `as_of`: the latest labelled disposition per clue."""
    latest = dispositions.where(F.col("verified_on") <= F.lit(as_of)).groupBy("clue_id").agg(
        F.max_by(F.struct("training_label", "verified_on"), F.struct("verified_on", "_extract_date", "_row"))
        .alias("_last"))
    return (dispositions.select("clue_id", "person_ref", "rule_code").distinct().join(latest, "clue_id")
            .select("clue_id", "person_ref", "rule_code", "_last.training_label", "_last.verified_on")
            .where(F.col("training_label").isNotNull()))


def run(run_date: dt.date, env: Env, run_id: str) -> dict[str, int]:
    """Load every disposition delivered up to `run_date`; returns counts."""
    spark = get_spark(env, "feedback")
    df = standardise(delivered(spark, env.paths.landing, run_date), known_clues(spark, env, run_date),
                     renamed_clues(spark, env)).persist()
    good, bad = split_quarantine(df, TABLE, ["clue_id", "result", "verified_on", "verifier", "note"])
    lake.overwrite(silver_rows(good), env, f"silver.{TABLE}")
    lake.overwrite(good.select(F.col("_clue").alias("clue_id"), clean(F.col("verifier")).alias("verifier"),
                               clean(F.col("note")).alias("note"), "_source", "_extract_date", "_file", "_row"),
                   env, f"restricted.{TABLE}")
    # silver_build rewrites quarantine.records each night; this step owns its own slice of it
    lake.replace_where(bad.withColumn("run_date", F.lit(run_date)), env, "quarantine.records",
                       f"silver_table = '{TABLE}'")
    audited = audit_accepted(env, good, delivered_files(env.paths.landing, run_date), run_id)
    counts = {"dispositions": lake.read(spark, env, f"silver.{TABLE}").count(), "quarantined": bad.count(),
              "newly_audited": audited}
    df.unpersist()
    log.info("feedback %s: %s", run_date, counts)
    return counts


def audit_accepted(env: Env, good: DataFrame, sha256: dict[tuple[dt.date, str], str], run_id: str) -> int:
    """Add each accepted disposition not audited before to restricted.disposition_audit; returns how many.

    Keyed by file (date, name), its sha256 and row: a file replaced by a corrected one is audited
    again, a re-run of the same night adds nothing.
    """
    import pyarrow as pa

    rows = good.select("_extract_date", "_file", "_row", F.col("_clue").alias("clue_id"),
                       F.col("_result").alias("result"), "_verifier_id", clean(F.col("verifier")).alias("verifier")
                       ).collect()
    if not rows:
        return 0
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    table = pa.table({
        "extract_date": pa.array([r["_extract_date"] for r in rows], pa.date32()),
        "file": [r["_file"] for r in rows],
        "file_sha256": [sha256.get((r["_extract_date"], r["_file"]), "") for r in rows],
        "row": pa.array([r["_row"] for r in rows], pa.int64()),
        "clue_id": [r["clue_id"] for r in rows],
        "result": [r["result"] for r in rows],
        "verifier_id": [r["_verifier_id"] for r in rows],
        "verifier": [r["verifier"] for r in rows],
        "run_id": [run_id] * len(rows),
        "accepted_at": pa.array([now] * len(rows), pa.timestamp("us")),
    })
    return lake.upsert_arrow(table, env, AUDIT, ["extract_date", "file", "file_sha256", "row"], update_matched=False)

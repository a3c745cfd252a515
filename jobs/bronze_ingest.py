"""Bronze: land every delivery up to the run date as raw strings with lineage.

For each source, each delivery folder with extract_date <= run date that is new (or
re-sent with a higher sequence) is verified against its manifest and written to
`bronze.<source>__<table>` replacing that extract date. The deliveries log
(`ops.deliveries`) is written last: silver only reads deliveries the log marks LOADED,
so a delivery is visible whole or not at all. A corrupt delivery is logged REJECTED
with its reason and the rest of the night goes on.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession

from lakehouse import lake
from lakehouse.config import Env
from lakehouse.errors import CorruptDelivery
from lakehouse.landing.delivery import Delivery, LoadedDelivery, discover, load_delivery, read_manifest
from lakehouse.sources import FileSpec, SourceSpec, load_sources
from lakehouse.spark import get_spark

log = logging.getLogger(__name__)
DELIVERIES = "ops.deliveries"
LINEAGE_COLUMNS = ["_extra", "_malformed", "_raw", "_source", "_extract_date", "_sequence", "_file", "_row", "_run_id"]


@dataclass(frozen=True)
class Outcome:
    source: str
    extract_date: dt.date
    sequence: int
    status: str  # LOADED, REJECTED, MISSING
    reason: str
    rows: int
    drift: tuple[str, ...] = ()
    window_from: dt.date | None = None
    window_to: dt.date | None = None
    manifest_sha256: str = ""
    files_json: str = "[]"


def bronze_arrow(spec: FileSpec, loaded: LoadedDelivery, run_id: str) -> pa.Table:
    """All records of one file kind in a delivery as an Arrow table of raw strings plus lineage."""
    d = loaded.delivery
    cols: dict[str, list] = {c: [] for c in spec.columns}
    lineage: dict[str, list] = {c: [] for c in LINEAGE_COLUMNS}
    for lf in loaded.files:
        if lf.spec != spec:
            continue
        for r in lf.parsed.records:
            for c in spec.columns:
                cols[c].append(r.values.get(c))
            lineage["_extra"].append(json.dumps(r.extra, ensure_ascii=False, sort_keys=True) if r.extra else None)
            lineage["_malformed"].append(r.malformed)
            lineage["_raw"].append(r.raw)
            lineage["_file"].append(lf.name)
            lineage["_row"].append(r.row)
    n = len(lineage["_row"])
    lineage["_source"] = [d.source] * n
    lineage["_extract_date"] = [d.extract_date] * n
    lineage["_sequence"] = [d.sequence] * n
    lineage["_run_id"] = [run_id] * n
    fields = [pa.field(c, pa.string()) for c in spec.columns] + [
        pa.field("_extra", pa.string()),
        pa.field("_malformed", pa.string()),
        pa.field("_raw", pa.string()),
        pa.field("_source", pa.string()),
        pa.field("_extract_date", pa.date32()),
        pa.field("_sequence", pa.int32()),
        pa.field("_file", pa.string()),
        pa.field("_row", pa.int64()),
        pa.field("_run_id", pa.string()),
    ]
    return pa.table({**cols, **lineage}, schema=pa.schema(fields))


def _already_loaded(spark: SparkSession, env: Env) -> dict[tuple[str, dt.date], tuple[str, str]]:
    if not lake.exists(env, DELIVERIES):
        return {}
    rows = lake.read(spark, env, DELIVERIES).select("source", "extract_date", "status", "manifest_sha256").collect()
    return {(r.source, r.extract_date): (r.status, r.manifest_sha256) for r in rows}


def write_delivery(spark: SparkSession, env: Env, source: SourceSpec, loaded: LoadedDelivery, run_id: str) -> int:
    """Write every file kind of the delivery, replacing the extract date in each bronze table."""
    day = loaded.delivery.extract_date.isoformat()
    rows = 0
    for spec in source.files:
        name = f"bronze.{spec.bronze_table}"
        if not any(lf.spec == spec for lf in loaded.files):
            # a re-send may drop a file the first send had: its rows must not linger
            lake.delete_where(spark, env, name, f"_extract_date = DATE'{day}'")
            continue
        table = bronze_arrow(spec, loaded, run_id)
        rows += table.num_rows
        df = spark.createDataFrame(table)
        lake.replace_where(df, env, name, f"_extract_date = DATE'{day}'", partition_by=["_extract_date"])
    return rows


def ingest_source(
    spark: SparkSession, env: Env, source: SourceSpec, run_date: dt.date, run_id: str,
    known: dict[tuple[str, dt.date], tuple[str, str]],
) -> list[Outcome]:
    """Land the new deliveries of one source up to `run_date` (`known`: the deliveries log so far).

    Never raises for bad data.
    """
    folders, incomplete = discover(env.paths.landing, source.name, run_date)
    outcomes: list[Outcome] = []
    for folder in folders:
        try:
            delivery: Delivery = read_manifest(source.name, folder)
        except CorruptDelivery as exc:
            day = dt.date.fromisoformat(folder.name)
            outcomes.append(Outcome(source.name, day, 0, "REJECTED", exc.reason, 0))
            log.error("%s", exc)
            continue
        previous = known.get((source.name, delivery.extract_date))
        if previous and previous[1] == delivery.manifest_sha256 and previous[0] in ("LOADED", "REJECTED"):
            continue  # this exact delivery was handled before
        files_json = json.dumps([f.__dict__ for f in delivery.files], ensure_ascii=False)
        try:
            loaded = load_delivery(delivery, source)
        except CorruptDelivery as exc:
            log.error("%s — rejected whole; nothing of it reaches silver", exc)
            outcomes.append(
                Outcome(source.name, delivery.extract_date, delivery.sequence, "REJECTED",
                        f"{exc.file}: {exc.reason}", 0, (), delivery.window_from, delivery.window_to,
                        delivery.manifest_sha256, files_json)
            )
            continue
        rows = write_delivery(spark, env, source, loaded, run_id)
        for note in loaded.drift:
            log.warning("schema drift %s/%s: %s", source.name, delivery.extract_date, note)
        log.info("loaded %s/%s (sequence %d): %d records", source.name, delivery.extract_date, delivery.sequence, rows)
        outcomes.append(
            Outcome(source.name, delivery.extract_date, delivery.sequence, "LOADED", "", rows,
                    tuple(loaded.drift), delivery.window_from, delivery.window_to,
                    delivery.manifest_sha256, files_json)
        )
    arrived = {o.extract_date for o in outcomes} | {
        d for (s, d), (status, _) in known.items() if s == source.name and status != "MISSING"
    }
    if run_date not in arrived:
        reason = "folder without _MANIFEST.json" if run_date in incomplete else "no delivery for this date"
        log.warning("%s: %s on %s", source.name, reason, run_date)
        outcomes.append(Outcome(source.name, run_date, 0, "MISSING", reason, 0))
    return outcomes


def outcomes_frame(spark: SparkSession, outcomes: list[Outcome], run_id: str) -> DataFrame:
    """The deliveries-log rows for these outcomes."""
    rows = [
        (o.source, o.extract_date, o.sequence, o.status, o.reason, o.rows, list(o.drift),
         o.window_from, o.window_to, o.manifest_sha256, o.files_json, run_id)
        for o in outcomes
    ]
    schema = (
        "source string, extract_date date, sequence int, status string, reason string, rows long, "
        "schema_drift array<string>, window_from date, window_to date, manifest_sha256 string, "
        "files_json string, run_id string"
    )
    return spark.createDataFrame(rows, schema)


def record_outcomes(spark: SparkSession, env: Env, outcomes: list[Outcome], run_id: str) -> None:
    """Upsert outcomes into ops.deliveries keyed by (source, extract_date)."""
    if not outcomes:
        return
    df = outcomes_frame(spark, outcomes, run_id)
    if not lake.exists(env, DELIVERIES):
        lake.overwrite(df, env, DELIVERIES)
        return
    from delta.tables import DeltaTable

    (
        DeltaTable.forPath(spark, str(lake.table_path(env, DELIVERIES)))
        .alias("t")
        .merge(df.alias("s"), "t.source = s.source AND t.extract_date = s.extract_date")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )


def run(run_date: dt.date, env: Env, run_id: str, sources: list[str] | None = None) -> list[Outcome]:
    """Ingest all (or the named) sources for one run date; returns what happened per delivery."""
    spark = get_spark(env, "bronze_ingest")
    specs = load_sources()
    outcomes: list[Outcome] = []
    known = _already_loaded(spark, env)
    for name in sources or list(specs):
        outcomes.extend(ingest_source(spark, env, specs[name], run_date, run_id, known))
    # the log is written last, in one transaction: silver sees these deliveries only now
    record_outcomes(spark, env, outcomes, run_id)
    rejected = [o for o in outcomes if o.status == "REJECTED"]
    log.info(
        "bronze %s: %d loaded, %d rejected, %d missing",
        run_date, sum(o.status == "LOADED" for o in outcomes), len(rejected),
        sum(o.status == "MISSING" for o in outcomes),
    )
    return outcomes

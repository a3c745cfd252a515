"""Bronze: land every delivery up to the run date as raw strings with lineage.

For each source, each delivery folder with extract_date <= run date that is new (or
re-sent with a higher sequence) is verified against its manifest, parsed into Arrow by the
columnar readers and staged as Parquet; then every `bronze.<source>__<table>` replaces the
extract dates it received in one Delta commit (partitioned by `_extract_date`), however many
deliveries the run brought (a first night, a backfill, late re-sends). The deliveries log
(`ops.deliveries`) is written last: silver only reads deliveries the log marks LOADED,
so a delivery is visible whole or not at all. A corrupt delivery is logged REJECTED
with its reason and the rest of the night goes on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
from collections import defaultdict
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from lakehouse import lake
from lakehouse.bronze import file_spec
from lakehouse.config import Env, load_conf
from lakehouse.errors import CorruptDelivery
from lakehouse.landing.delivery import Delivery, LoadedDelivery, discover, load_delivery, read_manifest
from lakehouse.sources import FileSpec, SourceSpec, load_sources

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
    fingerprint: str = ""


def bronze_arrow(spec: FileSpec, loaded: LoadedDelivery, run_id: str) -> pa.Table | None:
    """All records of one file kind in a delivery as one Arrow table of raw strings plus lineage
    (None when the delivery has no file of that kind)."""
    d = loaded.delivery
    parts = []
    for lf in loaded.files:
        if lf.spec != spec:
            continue
        t = lf.parsed.table
        n = t.num_rows
        parts.append(pa.table({
            **{c: t.column(c) for c in spec.columns},
            "_extra": t.column("_extra"), "_malformed": t.column("_malformed"), "_raw": t.column("_raw"),
            "_source": pa.repeat(pa.scalar(d.source, pa.string()), n),
            "_extract_date": pa.repeat(pa.scalar(d.extract_date, pa.date32()), n),
            "_sequence": pa.repeat(pa.scalar(d.sequence, pa.int32()), n),
            "_file": pa.repeat(pa.scalar(lf.name, pa.string()), n),
            "_row": t.column("_row"),
            "_run_id": pa.repeat(pa.scalar(run_id, pa.string()), n),
        }, schema=bronze_schema(spec)))
    return pa.concat_tables(parts) if parts else None


def bronze_schema(spec: FileSpec) -> pa.Schema:
    """Columns of `bronze.<source>__<table>`: the delivered columns as strings, then lineage."""
    return pa.schema([pa.field(c, pa.string()) for c in spec.columns] + [
        pa.field("_extra", pa.string()), pa.field("_malformed", pa.string()), pa.field("_raw", pa.string()),
        pa.field("_source", pa.string()), pa.field("_extract_date", pa.date32()), pa.field("_sequence", pa.int32()),
        pa.field("_file", pa.string()), pa.field("_row", pa.int64()), pa.field("_run_id", pa.string()),
    ])


@dataclass(frozen=True)
class Known:
    """What the deliveries log says of one source/date."""

    status: str
    sequence: int
    fingerprint: str
    files_json: str


def _already_loaded(env: Env) -> dict[tuple[str, dt.date], Known]:
    if not lake.exists(env, DELIVERIES):
        return {}
    table = lake.read_arrow(env, DELIVERIES)
    rows = table.to_pylist()
    return {(r["source"], r["extract_date"]): Known(r["status"], r["sequence"],
                                                    r.get("fingerprint") or r["manifest_sha256"], r["files_json"])
            for r in rows}


def fingerprint(delivery: Delivery) -> str:
    """The manifest plus each listed file's size and modification time: a delivery whose files
    are replaced under an unchanged manifest is looked at again."""
    h = hashlib.sha256(delivery.manifest_sha256.encode())
    for f in delivery.files:
        path = delivery.path / f.name
        st = path.stat() if path.is_file() else None
        h.update(f"|{f.name}|{st.st_size if st else -1}|{st.st_mtime_ns if st else -1}".encode())
    return h.hexdigest()


def _declared_rows(files_json: str, source: SourceSpec) -> dict[str, int]:
    """Records per registry file kind declared by a logged delivery's manifest."""
    out: dict[str, int] = {}
    for f in json.loads(files_json or "[]"):
        spec = source.spec_for(f["name"])
        if spec is not None and spec.kind == "registry":
            out[spec.table] = out.get(spec.table, 0) + int(f["rows"])
    return out


def shrunk_registry(delivery: Delivery, source: SourceSpec, previous: dict[str, int], max_shrink: float,
                    min_lost: int = 0) -> str | None:
    """Why a registry snapshot is held back: it lost more than `max_shrink` of the previous
    snapshot's records and at least `min_lost` of them, or it is empty where the previous one was
    not (a truncated or empty extract would close every missing key)."""
    now = _declared_rows(json.dumps([f.__dict__ for f in delivery.files]), source)
    for table, rows in sorted(now.items()):
        before = previous.get(table)
        if before and (rows == 0 or (rows < (1 - max_shrink) * before and before - rows >= min_lost)):
            return (f"registry {table}: {rows} records against {before} in the previous snapshot "
                    f"(more than {max_shrink:.0%} gone, conf/ingest.yaml registry_max_shrink); held back")
    return None


class Staging:
    """Parsed deliveries of one run, staged as Parquet under `<lake>/_staging/<run_id>/<bronze table>/`
    until every bronze table takes its new extract dates in one Delta commit.

    Memory holds one delivery at a time; the staged files are what a cluster's executors read.
    """

    def __init__(self, env: Env, run_id: str) -> None:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in run_id)
        self.root = env.paths.lake / "_staging" / safe
        shutil.rmtree(self.root, ignore_errors=True)  # what a failed earlier attempt left
        self.dates: dict[str, set[dt.date]] = defaultdict(set)  # bronze table → extract dates it replaces
        self.rows: dict[str, int] = defaultdict(int)

    def add(self, source: SourceSpec, loaded: LoadedDelivery, run_id: str) -> int:
        """Stage every file kind of the delivery; returns its record count."""
        d = loaded.delivery
        rows = 0
        for spec in source.files:
            # a re-send may drop a file the first send had: its date is replaced all the same
            self.dates[spec.bronze_table].add(d.extract_date)
            table = bronze_arrow(spec, loaded, run_id)
            if table is None:
                continue
            folder = self.root / spec.bronze_table
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, folder / f"{d.extract_date}_{d.sequence}.parquet")
            rows += table.num_rows
            self.rows[spec.bronze_table] += table.num_rows
        return rows

    def commit(self, env: Env) -> dict[str, int]:
        """Replace the staged extract dates of every bronze table, one Delta transaction per table."""
        written: dict[str, int] = {}
        for bronze_table, dates in sorted(self.dates.items()):
            name = f"bronze.{bronze_table}"
            folder = self.root / bronze_table
            if not folder.is_dir() and not lake.exists(env, name):
                continue  # nothing to write and nothing to replace
            schema = bronze_schema(file_spec(bronze_table))
            files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
            batches = ds.dataset([str(f) for f in files], schema=schema, format="parquet").to_batches()
            days = ", ".join(f"'{d}'" for d in sorted(dates))
            lake.replace_where_arrow(pa.RecordBatchReader.from_batches(schema, batches), env, name,
                                     f"_extract_date IN ({days})", partition_by=["_extract_date"])
            written[name] = self.rows.get(bronze_table, 0)
        return written

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _rejected(delivery: Delivery, reason: str, fp: str) -> Outcome:
    files_json = json.dumps([f.__dict__ for f in delivery.files], ensure_ascii=False)
    return Outcome(delivery.source, delivery.extract_date, delivery.sequence, "REJECTED", reason, 0, (),
                   delivery.window_from, delivery.window_to, delivery.manifest_sha256, files_json, fp)


def ingest_source(
    env: Env, source: SourceSpec, run_date: dt.date, run_id: str, known: dict[tuple[str, dt.date], Known],
    staging: Staging,
) -> list[Outcome]:
    """Verify, parse and stage the new deliveries of one source up to `run_date` (`known`: the
    deliveries log so far). Never raises for bad data: whatever goes wrong with one delivery
    rejects that delivery, with a reason naming the file and what is wrong, and the night goes on."""
    folders, incomplete = discover(env.paths.landing, source.name, run_date)
    ingest_conf = load_conf("ingest.yaml")
    max_shrink = float(ingest_conf["registry_max_shrink"])
    min_lost = int(ingest_conf.get("registry_shrink_min_lost", 0))
    registry_rows: dict[str, int] = {}  # records of the latest loaded snapshot per registry file kind
    outcomes: list[Outcome] = []
    for folder in folders:
        day = dt.date.fromisoformat(folder.name)  # discover() only returns YYYY-MM-DD folders
        for (s, d), k in sorted(known.items()):
            if s == source.name and d < day and k.status == "LOADED":
                registry_rows.update(_declared_rows(k.files_json, source))
        try:
            delivery: Delivery = read_manifest(source.name, folder)
        except CorruptDelivery as exc:
            outcomes.append(Outcome(source.name, day, 0, "REJECTED", exc.reason, 0))
            log.error("%s", exc)
            continue
        fp = fingerprint(delivery)
        previous = known.get((source.name, day))
        if previous and previous.fingerprint in (fp, delivery.manifest_sha256) and previous.status != "MISSING":
            continue  # this exact delivery was handled before (loaded, or rejected and unchanged since)
        if previous and previous.status == "LOADED" and delivery.sequence < previous.sequence:
            continue  # an older sequence never replaces a newer one
        reason = shrunk_registry(delivery, source, registry_rows, max_shrink, min_lost)
        if reason:
            log.error("%s/%s: %s", source.name, day, reason)
            outcomes.append(_rejected(delivery, reason, fp))
            continue
        try:
            loaded = load_delivery(delivery, source)
            rows = staging.add(source, loaded, run_id)
        except CorruptDelivery as exc:
            log.error("%s — rejected whole; nothing of it reaches silver", exc)
            outcomes.append(_rejected(delivery, f"{exc.file}: {exc.reason}", fp))
            continue
        except Exception as exc:  # anything else about this delivery: reject it, never stop the night
            log.exception("%s/%s rejected: unexpected %s", source.name, day, type(exc).__name__)
            outcomes.append(_rejected(delivery, f"{type(exc).__name__}: {exc}"[:300], fp))
            continue
        for note in loaded.drift:
            log.warning("schema drift %s/%s: %s", source.name, day, note)
        log.info("verified %s/%s (sequence %d): %d records", source.name, day, delivery.sequence, rows)
        files_json = json.dumps([f.__dict__ for f in delivery.files], ensure_ascii=False)
        registry_rows.update(_declared_rows(files_json, source))
        outcomes.append(
            Outcome(source.name, day, delivery.sequence, "LOADED", "", rows, tuple(loaded.drift),
                    delivery.window_from, delivery.window_to, delivery.manifest_sha256, files_json, fp)
        )
    arrived = {o.extract_date for o in outcomes} | {
        d for (s, d), k in known.items() if s == source.name and k.status != "MISSING"
    }
    if run_date not in arrived:
        reason = "folder without _MANIFEST.json" if run_date in incomplete else "no delivery for this date"
        log.warning("%s: %s on %s", source.name, reason, run_date)
        outcomes.append(Outcome(source.name, run_date, 0, "MISSING", reason, 0))
    return outcomes


DELIVERIES_SCHEMA = pa.schema([
    ("source", pa.string()), ("extract_date", pa.date32()), ("sequence", pa.int32()), ("status", pa.string()),
    ("reason", pa.string()), ("rows", pa.int64()), ("schema_drift", pa.list_(pa.string())),
    ("window_from", pa.date32()), ("window_to", pa.date32()), ("manifest_sha256", pa.string()),
    ("files_json", pa.string()), ("run_id", pa.string()), ("fingerprint", pa.string()),
])
ATTEMPTS = "ops.delivery_attempts"


def outcomes_table(outcomes: list[Outcome], run_id: str) -> pa.Table:
    """The deliveries-log rows for these outcomes."""
    rows = [
        {"source": o.source, "extract_date": o.extract_date, "sequence": o.sequence, "status": o.status,
         "reason": o.reason, "rows": o.rows, "schema_drift": list(o.drift), "window_from": o.window_from,
         "window_to": o.window_to, "manifest_sha256": o.manifest_sha256, "files_json": o.files_json, "run_id": run_id,
         "fingerprint": o.fingerprint}
        for o in outcomes
    ]
    return pa.Table.from_pylist(rows, schema=DELIVERIES_SCHEMA)


def record_outcomes(env: Env, outcomes: list[Outcome], run_id: str,
                    known: dict[tuple[str, dt.date], Known] | None = None) -> None:
    """Every attempt into ops.delivery_attempts (history); ops.deliveries keeps, per source and
    date, the delivery silver uses: a rejected re-send never hides the loaded sequence before it."""
    if not outcomes:
        return
    known = known or {}
    attempts = outcomes_table(outcomes, run_id).append_column(
        "attempted_at", pa.array([dt.datetime.now(dt.UTC).replace(tzinfo=None)] * len(outcomes), pa.timestamp("us")))
    lake.append_arrow(attempts, env, ATTEMPTS)
    current = [o for o in outcomes
               if not (o.status == "REJECTED" and (k := known.get((o.source, o.extract_date))) and k.status == "LOADED")]
    if current:
        lake.upsert_arrow(outcomes_table(current, run_id), env, DELIVERIES, ["source", "extract_date"])


def run(run_date: dt.date, env: Env, run_id: str, sources: list[str] | None = None) -> list[Outcome]:
    """Ingest all (or the named) sources for one run date; returns what happened per delivery.

    Every new delivery up to the run date is verified and staged first; then each bronze table
    takes all of its new extract dates in one commit; the deliveries log is written last.
    Pure file I/O with Arrow and delta-rs: no Spark session is started for it.
    """
    specs = load_sources()
    outcomes: list[Outcome] = []
    known = _already_loaded(env)
    staging = Staging(env, run_id)
    try:
        for name in sources or list(specs):
            outcomes.extend(ingest_source(env, specs[name], run_date, run_id, known, staging))
        written = staging.commit(env)
    finally:
        staging.close()
    # the log is written last, in one transaction: silver sees these deliveries only now
    record_outcomes(env, outcomes, run_id, known)
    log.info(
        "bronze %s: %d loaded, %d rejected, %d missing; %d records into %d tables",
        run_date, sum(o.status == "LOADED" for o in outcomes), sum(o.status == "REJECTED" for o in outcomes),
        sum(o.status == "MISSING" for o in outcomes), sum(written.values()), len(written),
    )
    return outcomes

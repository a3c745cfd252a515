"""Registry history: every delivered full snapshot of a registry → dated states per business key.

Registries arrive as full snapshots (SOURCES.md): the initial load, then at least weekly; a
night without the registry file means no new snapshot. A snapshot describes the state at the
end of its delivery's window (`window_to` in ops.deliveries; the extract date when a delivery
carries no window). `build_history` turns the standardised rows of all snapshots into one row
per business key and state (slowly changing dimension, type 2):

- `valid_from` — the date of the first snapshot showing that state;
- `valid_to` — the date of the first later snapshot in which the state differs or the key is
  absent (exclusive); null while the state is current.

Every input row is accounted for: it opens a history row, or it is a documented
de-duplication (`dedup_reason`): SNAPSHOT_UNCHANGED (the next snapshot repeats the state),
DUPLICATE_KEY_IN_SNAPSHOT (a second row for a key within one snapshot; the first row of the
file wins) or SNAPSHOT_SUPERSEDED (two deliveries describe the same date; the later extract
wins). Rows to quarantine must be split off before: a key whose only row in a snapshot was
quarantined counts as absent from that snapshot.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.window import WindowSpec

SNAPSHOT_DATE = "_snapshot_date"
LINEAGE = ["_source", "_extract_date", "_file", "_row"]
VALID_FROM, VALID_TO = "valid_from", "valid_to"
_FILES = "array<struct<name:string>>"
# the ops.deliveries columns read here (schema of an empty log before the first ingest)
DELIVERY_COLUMNS = "source string, extract_date date, status string, window_to date, files_json string"


def tag_snapshots(rows: DataFrame, deliveries: DataFrame) -> DataFrame:
    """Add `_snapshot_date`: the window end of each row's delivery (else its extract date)."""
    windows = deliveries.select(
        F.col("source").alias("_source"), F.col("extract_date").alias("_extract_date"),
        F.col("window_to").alias("_window_to"),
    ).dropDuplicates(["_source", "_extract_date"])
    return (rows.join(F.broadcast(windows), ["_source", "_extract_date"], "left")
            .withColumn(SNAPSHOT_DATE, F.coalesce("_window_to", "_extract_date")).drop("_window_to"))


def snapshot_dates(deliveries: DataFrame, source: str, pattern: str, run_date: dt.date) -> DataFrame:
    """Snapshots of one registry file known on `run_date`: LOADED deliveries whose manifest lists it.

    Taken from the deliveries log rather than from the rows, so an empty snapshot (a file with
    no records) still closes every key. Columns `_snapshot_date`, `_extract_date`.
    """
    regex = "^" + fnmatch.translate(pattern)
    listed = F.exists(F.from_json("files_json", _FILES), lambda f: f["name"].rlike(regex))
    return deliveries.where(
        (F.col("source") == source) & (F.col("status") == "LOADED") & (F.col("extract_date") <= F.lit(run_date))
        & F.coalesce(listed, F.lit(False))
    ).select(F.coalesce("window_to", "extract_date").alias(SNAPSHOT_DATE), F.col("extract_date").alias("_extract_date"))


def _numbered(snapshots: DataFrame) -> DataFrame:
    """One row per snapshot date: the extract that describes it, its ordinal, the next snapshot's date."""
    one = snapshots.groupBy(SNAPSHOT_DATE).agg(F.max("_extract_date").alias("_winner"))
    order = Window.orderBy(SNAPSHOT_DATE)  # a few dozen rows at most: one partition is fine
    return one.withColumn("_idx", F.row_number().over(order)).withColumn("_next", F.lead(SNAPSHOT_DATE).over(order))


def _dedup(rows: DataFrame, reason: str) -> DataFrame:
    return rows.select(*LINEAGE, F.lit(reason).alias("dedup_reason"))


def _same_state(state: Sequence[str], window: WindowSpec) -> Column:
    """Null-safe equality of every state column with the previous snapshot's row of the key."""
    if not state:
        return F.lit(True)
    return functools.reduce(lambda a, b: a & b, [F.col(c).eqNullSafe(F.lag(c).over(window)) for c in state])


def build_history(
    rows: DataFrame, key: Sequence[str], state: Sequence[str], snapshots: DataFrame | None = None,
) -> tuple[DataFrame, DataFrame]:
    """(history rows, de-duplicated rows) from the standardised rows of every snapshot.

    `rows` carry the `key` and `state` columns, lineage and `_snapshot_date`; `snapshots`
    (`_snapshot_date`, `_extract_date`) lists every snapshot, including empty ones (default:
    the snapshots seen in `rows`). A history row keeps every column of the row that opened
    the state, plus `valid_from` and `valid_to`.
    """
    key, state = list(key), list(state)
    seen = rows.select(SNAPSHOT_DATE, "_extract_date").distinct()
    snaps = _numbered(seen if snapshots is None else snapshots.unionByName(seen))
    tagged = rows.join(F.broadcast(snaps), SNAPSHOT_DATE)
    superseded = tagged.where(F.col("_extract_date") != F.col("_winner"))
    current = tagged.where(F.col("_extract_date") == F.col("_winner"))

    in_snapshot = Window.partitionBy(*key, "_idx").orderBy("_file", "_row")
    ranked = current.withColumn("_n", F.row_number().over(in_snapshot))
    duplicates = ranked.where("_n > 1")

    by_key = Window.partitionBy(*key).orderBy("_idx")
    prev_idx = F.lag("_idx").over(by_key)
    # a new state starts at the key's first snapshot, after a snapshot it was absent from, or on a change
    opens = prev_idx.isNull() | (prev_idx != F.col("_idx") - 1) | ~_same_state(state, by_key)
    flagged = ranked.where("_n = 1").withColumn("_opens", opens)
    run = Window.partitionBy(*key, "_run").orderBy("_idx").rowsBetween(Window.unboundedPreceding,
                                                                        Window.unboundedFollowing)
    dated = (
        flagged.withColumn("_run", F.sum(F.col("_opens").cast("int")).over(
            by_key.rowsBetween(Window.unboundedPreceding, Window.currentRow)))
        # the state ends at the snapshot after the last one that repeats it
        .withColumn(VALID_TO, F.last("_next").over(run))
        .withColumn(VALID_FROM, F.col(SNAPSHOT_DATE))
    )
    helpers = ["_winner", "_idx", "_next", "_n", "_opens", "_run"]
    history = dated.where("_opens").drop(*helpers)
    dedup = (_dedup(dated.where(~F.col("_opens")), "SNAPSHOT_UNCHANGED")
             .unionByName(_dedup(duplicates, "DUPLICATE_KEY_IN_SNAPSHOT"))
             .unionByName(_dedup(superseded, "SNAPSHOT_SUPERSEDED")))
    return history, dedup


def as_of(history: DataFrame, day: dt.date) -> DataFrame:
    """The state of every key known on `day` (valid_from <= day < valid_to)."""
    d = F.lit(day)
    return history.where((F.col(VALID_FROM) <= d) & (F.col(VALID_TO).isNull() | (F.col(VALID_TO) > d)))


def current(history: DataFrame) -> DataFrame:
    """States still current in the latest snapshot (valid_to is null)."""
    return history.where(F.col(VALID_TO).isNull())


def latest(history: DataFrame, key: Sequence[str]) -> DataFrame:
    """The most recent state of every key ever seen, current or not (e.g. to link old events)."""
    w = Window.partitionBy(*key).orderBy(F.col(VALID_FROM).desc())
    return history.withColumn("_n", F.row_number().over(w)).where("_n = 1").drop("_n")

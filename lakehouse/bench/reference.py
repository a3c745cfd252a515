"""What the same work costs without the lakehouse: the I/O limit and a DuckDB reference.

- `io_limit(landing, dates)`: pyarrow reads, decodes and writes back as Parquet every data
  file of the given deliveries — the floor any ingest must pay (no checks, no lineage).
- `duckdb_reference(landing, dates, work)`: DuckDB loads the same deliveries (ingest) and
  computes every person's last strong and last weak sign of life from them, end to end — the
  core of the survival features, done by a single-node columnar engine.

Both only read the landing; they are measured beside the pipeline in `lakehouse bench`.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.json as pjson
import pyarrow.parquet as pq

from lakehouse.config import load_conf
from lakehouse.sources import FileSpec, load_sources


@dataclass(frozen=True)
class Reference:
    """One reference measurement: what it did, rows, bytes in, seconds (wall and CPU)."""

    name: str
    rows: int
    bytes_in: int
    seconds: float
    cpu_seconds: float
    detail: dict


def delivery_files(landing: Path, dates: list[dt.date]) -> list[tuple[FileSpec, Path]]:
    """(spec, path) of every data file of the deliveries dated in `dates` (xlsx excluded: hand
    workbooks of a few hundred rows, not a throughput question)."""
    out = []
    wanted = {d.isoformat() for d in dates}
    for source in load_sources().values():
        root = landing / source.name
        for folder in sorted(p for p in root.glob("*") if p.is_dir() and p.name in wanted):
            for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "_MANIFEST.json"):
                spec = source.spec_for(path.relative_to(folder).as_posix())
                if spec is not None and spec.format != "xlsx":
                    out.append((spec, path))
    return out


def _read_arrow(spec: FileSpec, path: Path) -> pa.Table:
    data = path.read_bytes()
    if spec.format == "parquet":
        return pq.read_table(pa.BufferReader(data))
    if spec.format == "jsonl_gzip":
        text = gzip.decompress(data)
        return pjson.read_json(io.BytesIO(text)) if text.strip() else pa.table({})
    text = data.decode(spec.encoding).encode("utf-8")
    if not text.strip():
        return pa.table({})
    header = spec.format == "csv"
    names = None if header else list(spec.columns)
    return pcsv.read_csv(
        io.BytesIO(text),
        read_options=pcsv.ReadOptions(column_names=names, autogenerate_column_names=False),
        parse_options=pcsv.ParseOptions(delimiter=spec.delimiter, invalid_row_handler=lambda row: "skip"),
        convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in spec.columns}),
    )


def io_limit(landing: Path, dates: list[dt.date], work: Path) -> Reference:
    """pyarrow read + decode + Parquet write of every data file of these deliveries."""
    work.mkdir(parents=True, exist_ok=True)
    t0, c0 = time.monotonic(), time.process_time()
    rows = size = 0
    for i, (spec, path) in enumerate(delivery_files(landing, dates)):
        table = _read_arrow(spec, path)
        pq.write_table(table, work / f"{i}.parquet")
        rows += table.num_rows
        size += path.stat().st_size
    return Reference("io_limit", rows, size, time.monotonic() - t0, time.process_time() - c0, {})


def _glob(landing: Path, source: str, dates: list[dt.date], name: str) -> list[str]:
    return [str(p) for d in dates for p in sorted((landing / source / d.isoformat()).glob(name))]


def duckdb_reference(landing: Path, dates: list[dt.date], run_date: dt.date) -> Reference:
    """DuckDB: load settlements, bank transactions and accounts, taps and card holders of these
    deliveries, then each person's last strong and last weak sign of life up to `run_date`.

    Identity is simplified (trimmed, upper-case 18-character numbers): a reference for cost,
    not a second implementation of the rules; `detail` reports how many persons it found.
    """
    import duckdb

    signals = load_conf("certification.yaml")["signals"]
    codes = load_conf("codes.yaml")
    strong_med = [k for k, v in codes["med_type"]["map"]["medical"].items() if v in signals["strong"]["medical"]]
    strong_bank = [k for k, v in codes["bank_channel"]["map"]["bank"].items() if v in signals["strong"]["bank"]]
    weak_bank = [k for k, v in codes["bank_channel"]["map"]["bank"].items() if v in signals["weak"]["bank"]]
    t0, c0 = time.monotonic(), time.process_time()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    setl, txn = _glob(landing, "medical", dates, "setl.jsonl.gz"), _glob(landing, "bank", dates, "txn_*.txt")
    acct, taps = _glob(landing, "bank", dates, "acct.txt"), _glob(landing, "transit", dates, "taps/*.parquet")
    cards = _glob(landing, "transit", dates, "card_holder.csv")
    # bank files are GB18030; the fields used here are ASCII, so latin-1 reads them byte for byte
    txt = "delim='|', header=false, all_varchar=true, encoding='latin-1', ignore_errors=true"
    con.execute(f"CREATE TABLE setl AS SELECT * FROM read_json({setl!r}, format='newline_delimited', "
                "columns={certno:'VARCHAR', med_type:'VARCHAR', begndate:'VARCHAR', refd_setl_flag:'VARCHAR', "
                "setl_id:'VARCHAR'})")
    con.execute(f"CREATE TABLE txn AS SELECT trim(column0) acct_no, column1 txn_time, trim(column2) txn_type, "
                f"trim(column3) channel FROM read_csv({txn!r}, {txt}, columns={{'column0':'VARCHAR','column1':'VARCHAR',"
                "'column2':'VARCHAR','column3':'VARCHAR','column4':'VARCHAR','column5':'VARCHAR','column6':'VARCHAR'})")
    con.execute(f"CREATE TABLE acct AS SELECT DISTINCT trim(column0) acct_no, upper(trim(column1)) certno "
                f"FROM read_csv({acct!r}, {txt}, columns={{'column0':'VARCHAR','column1':'VARCHAR','column2':'VARCHAR',"
                "'column3':'VARCHAR','column4':'VARCHAR'})")
    con.execute(f"CREATE TABLE taps AS SELECT card_no, tap_time FROM read_parquet({taps!r})")
    con.execute(f"CREATE TABLE cards AS SELECT DISTINCT card_no, upper(trim(holder_certno)) certno "
                f"FROM read_csv({cards!r}, all_varchar=true) WHERE holder_certno <> ''")
    loaded = sum(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("setl", "txn", "acct", "taps", "cards"))
    day = run_date.isoformat()
    result = con.execute(f"""
        WITH refunded AS (SELECT setl_id FROM setl WHERE refd_setl_flag = '1'),
        signals AS (
            SELECT upper(trim(certno)) certno, CAST(begndate AS DATE) d, 'strong' strength FROM setl
            WHERE refd_setl_flag = '0' AND med_type IN {tuple(strong_med)!r}
              AND setl_id NOT IN (SELECT setl_id FROM refunded)
            UNION ALL
            SELECT a.certno, CAST(strptime(t.txn_time, '%Y%m%d%H%M%S') AS DATE),
                   CASE WHEN t.channel IN {tuple(strong_bank) + ('',)!r} THEN 'strong' ELSE 'weak' END
            FROM txn t JOIN acct a USING (acct_no)
            WHERE t.channel IN {tuple(strong_bank + weak_bank)!r} AND NOT (t.channel = 'AUTO' AND t.txn_type = 'C')
            UNION ALL
            SELECT c.certno, CAST(t.tap_time AS DATE), 'weak' FROM taps t JOIN cards c USING (card_no)
        )
        SELECT count(*) persons, count(last_strong) with_strong, count(last_weak) with_weak FROM (
            SELECT certno, max(d) FILTER (WHERE strength = 'strong') last_strong,
                   max(d) FILTER (WHERE strength = 'weak') last_weak
            FROM signals WHERE d <= DATE '{day}' GROUP BY certno)
    """).fetchone()
    con.close()
    size = sum(Path(p).stat().st_size for p in setl + txn + acct + taps + cards)
    return Reference("duckdb_life_signs", loaded, size, time.monotonic() - t0, time.process_time() - c0,
                     {"persons": result[0], "with_strong": result[1], "with_weak": result[2]})

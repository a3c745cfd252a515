"""File writers shared by the sources. Every writer is byte-deterministic (no clock, fixed
zip/gzip timestamps) and returns the row count as SOURCES.md defines it."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def write_text_table(path: Path, header: Sequence[str] | None, rows: Iterable[Sequence[str]], *,
                     encoding: str, delimiter: str = ",", newline: str = "\n") -> int:
    """Delimited text in `encoding` (strict: a character the encoding lacks is an error).

    With a header the CSV dialect quotes where needed; header-less files (bank) are joined
    verbatim, so a deliberately malformed line stays malformed.
    """
    buf = io.StringIO()
    count = 0
    if header is not None:
        writer = csv.writer(buf, delimiter=delimiter, lineterminator=newline)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    else:
        for row in rows:
            buf.write(delimiter.join(row) + newline)
            count += 1
    path.write_bytes(buf.getvalue().encode(encoding, errors="strict"))
    return count


def write_jsonl_gz(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                   extra: dict[str, Any] | None = None, money: frozenset[str] = frozenset()) -> int:
    """gzip JSON Lines in UTF-8, fields in `columns` order (+ `extra` fields on every line).

    `money` fields are written as JSON numbers with exactly two decimals (`177.00`).
    """
    keys = [json.dumps(c, ensure_ascii=False) + ":" for c in [*columns, *(extra or {})]]
    is_money = [c in money for c in [*columns, *(extra or {})]]
    tail = list((extra or {}).values())
    lines = []
    for row in rows:
        values = [*row, *tail]
        if len(values) != len(keys):
            raise ValueError(f"{path.name}: {len(values)} values for {len(keys)} fields")
        parts = [k + (f"{v:.2f}" if m and v is not None else json.dumps(v, ensure_ascii=False))
                 for k, v, m in zip(keys, values, is_money, strict=True)]
        lines.append("{" + ",".join(parts) + "}")
    payload = ("\n".join(lines) + "\n" if lines else "").encode("utf-8")
    out = io.BytesIO()
    # mtime=0 and no file name in the header: identical bytes for identical content
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) as gz:
        gz.write(payload)
    path.write_bytes(out.getvalue())
    return len(lines)


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _fixed_zip(data: bytes, stamp: dt.datetime) -> bytes:
    """Re-pack an xlsx with one fixed timestamp on every member and in its properties
    (openpyxl stamps `modified` with the wall clock when it saves)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o600 << 16
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _MODIFIED.sub(rb"\g<1>" + iso + rb"\g<2>", content)
            dst.writestr(member, content)
    return out.getvalue()


def write_xlsx(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]], *, stamp: dt.datetime,
               title: str | None = None, blank_above: bool = False, sheet: str = "Sheet1") -> int:
    """A real .xlsx (first sheet): optional title row and/or empty row above the header.

    `datetime.date` values become real Excel dates; strings stay text. Returns the rows
    below the header that are not empty.
    """
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet(sheet)
    if title:
        ws.append([title])
    if blank_above:
        ws.append([])
    ws.append(list(header))
    count = 0
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                cell = openpyxl.cell.WriteOnlyCell(ws, value=value)
                cell.number_format = "yyyy-mm-dd"
                cells.append(cell)
            else:
                cells.append(value)
        ws.append(cells)
        count += any(v not in (None, "") for v in row)
    book.properties.creator = "民政局"
    book.properties.created = book.properties.modified = stamp
    raw = io.BytesIO()
    book.save(raw)
    path.write_bytes(_fixed_zip(raw.getvalue(), stamp))
    return count


TAP_SCHEMA_FIELDS = ("card_no", "tap_time", "line_id", "stop_id", "device_id", "fare_cents")


def write_taps_parquet(path: Path, frame: pd.DataFrame, unit: str) -> int:
    """One taps part: tap_time as a zone-less timestamp in `unit` (ms or us), fare_cents int32."""
    schema = pa.schema([
        ("card_no", pa.string()), ("tap_time", pa.timestamp(unit)), ("line_id", pa.string()),
        ("stop_id", pa.string()), ("device_id", pa.string()), ("fare_cents", pa.int32()),
    ])
    columns = [c for c in frame.columns if c in TAP_SCHEMA_FIELDS or not c.startswith("_")]
    extra = [c for c in columns if c not in TAP_SCHEMA_FIELDS]
    for name in extra:  # schema drift: unknown columns travel as strings
        schema = schema.append(pa.field(name, pa.string()))
    table = pa.Table.from_pandas(frame[list(TAP_SCHEMA_FIELDS) + extra], schema=schema, preserve_index=False)
    pq.write_table(table, path, compression="snappy")
    return table.num_rows

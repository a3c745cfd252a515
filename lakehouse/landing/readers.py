"""Readers for every landing file format, returning raw string records with row numbers.

Values are kept as delivered (strings; JSON numbers as their JSON text; Excel dates as
ISO dates). A file that cannot be read as its declared format raises `Unreadable`;
a single malformed record is returned with `malformed` set, never dropped.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import zlib
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.sources import FileSpec

GB_ENCODINGS = {"gbk", "gb2312", "gb18030"}


class Unreadable(Exception):
    """The file is not in its declared format or encoding."""


@dataclass
class Record:
    """One delivered record: its row number in the file and raw values by column name."""

    row: int
    values: dict[str, str | None]
    extra: dict[str, str | None] = field(default_factory=dict)
    malformed: str | None = None
    raw: str | None = None


@dataclass
class ParsedFile:
    """A whole file: its records, the manifest-comparable row count and any unknown columns."""

    records: list[Record]
    row_count: int
    extra_columns: list[str]


def decode_strict(data: bytes, encoding: str) -> str:
    """Decode strictly; reject bytes that are evidently another encoding (UTF-8 sent as GBK)."""
    enc = encoding.lower()
    if enc in GB_ENCODINGS and any(b > 0x7F for b in data[:65536]):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raise Unreadable(f"declared {encoding} but the bytes are UTF-8")
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not valid {encoding} at byte {exc.start}") from exc
    return text.removeprefix("\ufeff")


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln.removesuffix("\r") for ln in lines]


def _check_columns(spec: FileSpec, header: list[str]) -> list[str]:
    missing = [c for c in spec.columns if c not in header]
    if missing:
        raise Unreadable(f"required column(s) missing: {', '.join(missing)}")
    return [c for c in header if c not in spec.columns]


def read_csv(data: bytes, spec: FileSpec) -> ParsedFile:
    """Header CSV matched by column name (any order); rows with the wrong field count are malformed."""
    lines = _lines(decode_strict(data, spec.encoding))
    if not lines:
        raise Unreadable("empty file: no header row")
    header = [h.strip() for h in next(csv.reader([lines[0]], delimiter=spec.delimiter))]
    extra_cols = _check_columns(spec, header)
    records = []
    for number, line in enumerate(lines[1:], start=2):
        fields = next(csv.reader([line], delimiter=spec.delimiter), [])
        if len(fields) != len(header):
            records.append(Record(number, {}, malformed=f"FIELD_COUNT_{len(fields)}_NOT_{len(header)}", raw=line))
            continue
        row = dict(zip(header, fields, strict=True))
        records.append(
            Record(number, {c: row[c] for c in spec.columns}, {c: row[c] for c in extra_cols})
        )
    return ParsedFile(records, len(lines) - 1, extra_cols)


def read_delimited(data: bytes, spec: FileSpec) -> ParsedFile:
    """Header-less positional text (bank files); a wrong field count is a malformed record."""
    lines = _lines(decode_strict(data, spec.encoding))
    records = []
    for number, line in enumerate(lines, start=1):
        fields = line.split(spec.delimiter)
        if len(fields) != len(spec.columns):
            records.append(
                Record(number, {}, malformed=f"FIELD_COUNT_{len(fields)}_NOT_{len(spec.columns)}", raw=line)
            )
            continue
        records.append(Record(number, dict(zip(spec.columns, fields, strict=True))))
    return ParsedFile(records, len(lines), [])


def _json_text(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def read_jsonl_gzip(data: bytes, spec: FileSpec) -> ParsedFile:
    """Gzip JSON Lines; a truncated archive is unreadable, a broken line is malformed."""
    try:
        text = gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as exc:
        raise Unreadable(f"not a complete gzip file ({exc})") from exc
    lines = _lines(decode_strict(text, spec.encoding))
    records, seen_fields = [], set()
    for number, line in enumerate(lines, start=1):
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            records.append(Record(number, {}, malformed=f"BAD_JSON: {exc}"[:120], raw=line))
            continue
        seen_fields.update(obj)
        records.append(
            Record(
                number,
                {c: _json_text(obj.get(c)) for c in spec.columns},
                {k: _json_text(v) for k, v in obj.items() if k not in spec.columns},
            )
        )
    missing = [c for c in spec.columns if c not in seen_fields]
    if seen_fields and missing:  # a renamed or dropped field, not an occasional null
        raise Unreadable(f"required field(s) absent from every record: {', '.join(missing)}")
    extra = sorted(seen_fields - set(spec.columns))
    return ParsedFile(records, len(lines), extra)


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text if text.strip() else None


def read_xlsx(data: bytes, spec: FileSpec) -> ParsedFile:
    """First sheet; the header is the first row holding the required names (title/blank rows above)."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a broken zip
        raise Unreadable(f"not a readable xlsx workbook ({type(exc).__name__})") from exc
    sheet = book.worksheets[0]
    header: list[str] | None = None
    records: list[Record] = []
    extra_cols: list[str] = []
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = [_cell_text(v) for v in row]
        if header is None:
            names = [c.strip() if c else "" for c in cells]
            if set(spec.columns) <= set(names):
                header = names
                extra_cols = [c for c in names if c and c not in spec.columns]
            elif number > 20:
                break
            continue
        if all(c is None for c in cells):
            continue
        row_map = dict(zip(header, cells + [None] * (len(header) - len(cells)), strict=False))
        records.append(
            Record(number, {c: row_map.get(c) for c in spec.columns}, {c: row_map.get(c) for c in extra_cols})
        )
    book.close()
    if header is None:
        raise Unreadable(f"no header row with the required columns {', '.join(spec.columns)}")
    return ParsedFile(records, len(records), extra_cols)


def read_parquet(data: bytes, spec: FileSpec) -> ParsedFile:
    """Parquet part file; timestamps of any unit become ISO text with microseconds."""
    try:
        table = pq.read_table(pa.BufferReader(data))
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for broken files
        raise Unreadable(f"not a readable Parquet file ({exc})"[:200]) from exc
    _check_columns(spec, table.column_names)
    extra_cols = [c for c in table.column_names if c not in spec.columns]
    columns = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.timestamp("us"))
            columns[name] = [None if v is None else v.isoformat(sep=" ", timespec="microseconds")
                             for v in col.to_pylist()]
        else:
            columns[name] = [None if v is None else str(v) for v in col.to_pylist()]
    records = [
        Record(i + 1, {c: columns[c][i] for c in spec.columns}, {c: columns[c][i] for c in extra_cols})
        for i in range(table.num_rows)
    ]
    return ParsedFile(records, table.num_rows, extra_cols)


READERS = {
    "csv": read_csv,
    "delimited": read_delimited,
    "jsonl_gzip": read_jsonl_gzip,
    "xlsx": read_xlsx,
    "parquet": read_parquet,
}


def read_file(data: bytes, spec: FileSpec) -> ParsedFile:
    """Parse a landing file according to its spec's format."""
    return READERS[spec.format](data, spec)

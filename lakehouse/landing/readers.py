"""Readers for every landing file format, returning one Arrow table of raw strings per file.

Values are kept as delivered (strings; JSON numbers as their JSON text; Excel dates as
ISO dates). A file that cannot be read as its declared format raises `Unreadable`;
a single malformed record is returned with `_malformed` set, never dropped.

The work is columnar: text is decoded once, split into lines by C code and into fields
by Arrow compute kernels; only files that need per-record judgement (quoted CSV, JSON
lines, workbooks) go through Python per record, each in one tight loop.

Every reader returns a `ParsedFile` whose `table` holds the spec's columns (strings) and
`_extra` (JSON of unknown columns, or null), `_malformed` (why the record could not be
split into fields), `_raw` (the line of a malformed record) and `_row` (its row number:
the line number in text files, the sheet row in workbooks, 1-based part row in Parquet).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakehouse.config import load_conf
from lakehouse.sources import FileSpec

GB_ENCODINGS = {"gbk", "gb2312", "gb18030"}
META_COLUMNS = ("_extra", "_malformed", "_raw", "_row")


class Unreadable(Exception):
    """The file is not in its declared format or encoding, or exceeds a limit of conf/ingest.yaml."""


@dataclass(frozen=True)
class Limits:
    """What one file may be (conf/ingest.yaml `limits`), checked while reading."""

    file_bytes: int
    decompressed_bytes: int
    rows: int
    line_chars: int
    xlsx_rows: int
    xlsx_columns: int


@cache
def read_limits() -> Limits:
    """The limits of conf/ingest.yaml."""
    return Limits(**{k: int(v) for k, v in load_conf("ingest.yaml")["limits"].items()})


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
    """A whole file: its records as an Arrow table, the manifest-comparable row count and any
    unknown columns."""

    table: pa.Table
    row_count: int
    extra_columns: list[str]

    @property
    def records(self) -> list[Record]:
        """The records one by one (for small files: feedback, tests)."""
        cols = [c for c in self.table.column_names if c not in META_COLUMNS]
        out = []
        for r in self.table.to_pylist():
            extra = json.loads(r["_extra"]) if r["_extra"] else {}
            values = {} if r["_malformed"] else {c: r[c] for c in cols}
            out.append(Record(r["_row"], values, extra, r["_malformed"], r["_raw"]))
        return sorted(out, key=lambda rec: rec.row)


def file_schema(columns: Sequence[str]) -> pa.Schema:
    """The Arrow schema every reader returns for a spec's columns."""
    return pa.schema([pa.field(c, pa.string()) for c in columns] + [
        pa.field("_extra", pa.string()), pa.field("_malformed", pa.string()), pa.field("_raw", pa.string()),
        pa.field("_row", pa.int64())])


def _table(spec: FileSpec, values: dict[str, pa.Array | list], n: int, rows: pa.Array | list,
           extra: pa.Array | list | None = None, malformed: pa.Array | list | None = None,
           raw: pa.Array | list | None = None) -> pa.Table:
    schema = file_schema(spec.columns)
    nulls = pa.nulls(n, pa.string())
    arrays = [pa.array(values[c], pa.string()) if c in values else nulls for c in spec.columns]
    arrays += [pa.array(x, pa.string()) if x is not None else nulls for x in (extra, malformed, raw)]
    arrays.append(pa.array(rows, pa.int64()))
    return pa.Table.from_arrays(arrays, schema=schema)


def _malformed_table(spec: FileSpec, reasons: pa.Array | list, raw: pa.Array | list, rows: pa.Array | list) -> pa.Table:
    return _table(spec, {}, len(rows), rows, malformed=reasons, raw=raw)


def decode_strict(data: bytes, encoding: str) -> str:
    """Decode strictly; reject bytes that are evidently another encoding (UTF-8 sent as GBK)."""
    enc = encoding.lower()
    head = data[:65536]
    if enc in GB_ENCODINGS and head and max(head) > 0x7F:
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


def _lines(text: str, limits: Limits) -> list[str]:
    """Lines split on LF; a CR before the LF (or at the very end) is not part of the line.

    More lines than `limits.rows`, or a line longer than `limits.line_chars`, makes the file
    unreadable (named by its line number), so no field can grow without bound.
    """
    text = text.replace("\r\n", "\n")
    if text.endswith("\r"):
        text = text[:-1]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) > limits.rows + 1:
        raise Unreadable(f"{len(lines)} lines, over the limit of {limits.rows} records (conf/ingest.yaml)")
    if lines and max(map(len, lines)) > limits.line_chars:
        number = next(i for i, ln in enumerate(lines, start=1) if len(ln) > limits.line_chars)
        raise Unreadable(f"line {number} is longer than {limits.line_chars} characters (conf/ingest.yaml)")
    return lines


def gunzip(data: bytes, limit: int) -> bytes:
    """Decompress every gzip member, streaming, stopping as soon as the output passes `limit`."""
    out: list[bytes] = []
    total = 0
    rest = data
    while rest:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        chunk = d.decompress(rest, limit + 1 - total)
        while True:
            total += len(chunk)
            if total > limit:
                raise Unreadable(f"decompresses to more than {limit} bytes (conf/ingest.yaml)")
            out.append(chunk)
            if not d.unconsumed_tail:
                break
            chunk = d.decompress(d.unconsumed_tail, limit + 1 - total)
        if not d.eof:
            raise Unreadable("not a complete gzip file (truncated)")
        rest = d.unused_data.lstrip(b"\x00")
    return b"".join(out)


def _check_columns(spec: FileSpec, header: list[str]) -> list[str]:
    missing = [c for c in spec.columns if c not in header]
    if missing:
        raise Unreadable(f"required column(s) missing: {', '.join(missing)}")
    return [c for c in header if c not in spec.columns]


def _extra_json(extra_cols: list[str], columns: dict[str, list]) -> list[str | None]:
    """`_extra` per record: JSON of the unknown columns' values (drift is rare: a Python loop is fine)."""
    if not extra_cols:
        return []
    keys = sorted(extra_cols)
    return [json.dumps(dict(zip(keys, vals, strict=True)), ensure_ascii=False, sort_keys=True)
            for vals in zip(*(columns[k] for k in keys), strict=True)]


def _fields_by_split(lines: list[str], delimiter: str, width: int, first_row: int):  # type: ignore[no-untyped-def]
    """(field arrays of well-formed lines, their row numbers, malformed table) for unquoted text."""
    arr = pa.array(lines, pa.string())
    parts = pc.split_pattern(arr, delimiter)
    counts = pc.list_value_length(parts)
    good = pc.equal(counts, width)
    rows = pa.array(np.arange(first_row, first_row + len(lines), dtype=np.int64))
    ok = parts.filter(good)
    flat = pc.list_flatten(ok)
    base = np.arange(len(ok), dtype=np.int64) * width
    fields = [flat.take(pa.array(base + i)) for i in range(width)]
    bad = pc.invert(good)
    reasons = pc.binary_join_element_wise("FIELD_COUNT_", pc.cast(counts.filter(bad), pa.string()),
                                          f"_NOT_{width}", "")
    return fields, rows.filter(good), (reasons, arr.filter(bad), rows.filter(bad))


def _fields_by_csv(lines: list[str], delimiter: str, width: int, first_row: int):  # type: ignore[no-untyped-def]
    """The same for text with quotes: each line parsed on its own by the csv module, as delivered
    (a quote never spans lines)."""
    good_rows: list[list[str]] = []
    good_nums: list[int] = []
    bad: tuple[list, list, list] = ([], [], [])
    reader = csv.reader
    for number, line in enumerate(lines, start=first_row):
        fields = next(reader([line], delimiter=delimiter), [])
        if len(fields) == width:
            good_rows.append(fields)
            good_nums.append(number)
        else:
            bad[0].append(f"FIELD_COUNT_{len(fields)}_NOT_{width}")
            bad[1].append(line)
            bad[2].append(number)
    columns = [pa.array(list(col), pa.string()) for col in zip(*good_rows, strict=True)] if good_rows else \
        [pa.array([], pa.string()) for _ in range(width)]
    return columns, pa.array(good_nums, pa.int64()), bad


def _delimited_table(spec: FileSpec, lines: list[str], names: list[str], first_row: int, quoted: bool,
                     extra_cols: list[str]) -> pa.Table:
    """Well-formed records (by field name, last duplicate name wins) plus malformed ones.

    `quoted`: the text holds quote characters, so fields are parsed as CSV line by line.
    """
    width = len(names)
    split = _fields_by_csv if quoted else _fields_by_split
    fields, rows, (reasons, raw, bad_rows) = split(lines, spec.delimiter, width, first_row)
    position = {name: i for i, name in enumerate(names)}
    values = {c: fields[position[c]] for c in spec.columns if c in position}
    extra = _extra_json(extra_cols, {c: fields[position[c]].to_pylist() for c in extra_cols}) or None
    good = _table(spec, values, len(rows), rows, extra=extra)
    return pa.concat_tables([good, _malformed_table(spec, reasons, raw, bad_rows)])


def read_csv(data: bytes, spec: FileSpec, limits: Limits) -> ParsedFile:
    """Header CSV matched by column name (any order); rows with the wrong field count are malformed."""
    text = decode_strict(data, spec.encoding)
    lines = _lines(text, limits)
    if not lines:
        raise Unreadable("empty file: no header row")
    header = [h.strip() for h in next(csv.reader([lines[0]], delimiter=spec.delimiter))]
    extra_cols = _check_columns(spec, header)
    table = _delimited_table(spec, lines[1:], header, 2, '"' in text, extra_cols)
    return ParsedFile(table, len(lines) - 1, extra_cols)


def read_delimited(data: bytes, spec: FileSpec, limits: Limits) -> ParsedFile:
    """Header-less positional text (bank files); a wrong field count is a malformed record."""
    lines = _lines(decode_strict(data, spec.encoding), limits)
    # positional, no quoting: fields are whatever lies between the delimiters
    table = _delimited_table(spec, lines, list(spec.columns), 1, False, [])
    return ParsedFile(table, len(lines), [])


def _json_text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _loads(line: str) -> object:
    """orjson where it can (several times faster); the standard parser for what orjson refuses
    but JSON allows in practice (NaN, integers beyond 64 bits), so the result never depends on
    which parser ran."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)


def read_jsonl_gzip(data: bytes, spec: FileSpec, limits: Limits) -> ParsedFile:
    """Gzip JSON Lines; a truncated archive is unreadable, a broken line is malformed."""
    try:
        text = gunzip(data, limits.decompressed_bytes)
    except zlib.error as exc:
        raise Unreadable(f"not a complete gzip file ({exc})") from exc
    lines = _lines(decode_strict(text, spec.encoding), limits)
    objs: list[dict] = []
    rows: list[int] = []
    bad: tuple[list, list, list] = ([], [], [])
    for number, line in enumerate(lines, start=1):
        try:
            obj = _loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
        except (ValueError, RecursionError) as exc:
            bad[0].append(f"BAD_JSON: {exc}"[:120])
            bad[1].append(line)
            bad[2].append(number)
            continue
        objs.append(obj)
        rows.append(number)
    seen_fields: set[str] = set()
    for obj in objs:
        seen_fields.update(obj)
    missing = [c for c in spec.columns if c not in seen_fields]
    if seen_fields and missing:  # a renamed or dropped field, not an occasional null
        raise Unreadable(f"required field(s) absent from every record: {', '.join(missing)}")
    extra_cols = sorted(seen_fields - set(spec.columns))
    dumps = json.dumps
    values = {c: [v if v is None or v.__class__ is str else dumps(v, ensure_ascii=False)
                  for v in (o.get(c) for o in objs)] for c in spec.columns}
    extra = None
    if extra_cols:
        known = set(spec.columns)
        extra = [json.dumps({k: _json_text(v) for k, v in sorted(o.items()) if k not in known}, ensure_ascii=False,
                            sort_keys=True) if not known.issuperset(o) else None for o in objs]
    table = pa.concat_tables([_table(spec, values, len(objs), rows, extra=extra),
                              _malformed_table(spec, *bad)])
    return ParsedFile(table, len(lines), extra_cols)


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


def _xlsx_entries_size(data: bytes) -> int:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return sum(i.file_size for i in z.infolist())


def read_xlsx(data: bytes, spec: FileSpec, limits: Limits) -> ParsedFile:
    """First sheet; the header is the first row holding the required names (title/blank rows above).

    The sheet's declared dimension must fit `limits.xlsx_rows` × `limits.xlsx_columns`, and rows
    are read no wider than that: one cell at XFD1048576 cannot make the reader walk a million rows.
    """
    import openpyxl

    try:
        if _xlsx_entries_size(data) > limits.decompressed_bytes:
            raise Unreadable(f"workbook decompresses to more than {limits.decompressed_bytes} bytes")
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Unreadable:
        raise
    except Exception as exc:  # openpyxl raises several types for a broken zip
        raise Unreadable(f"not a readable xlsx workbook ({type(exc).__name__})") from exc
    sheet = book.worksheets[0]
    rows_declared, cols_declared = sheet.max_row or 0, sheet.max_column or 0
    if rows_declared > limits.xlsx_rows or cols_declared > limits.xlsx_columns:
        book.close()
        raise Unreadable(f"first sheet spans {rows_declared} rows × {cols_declared} columns, over the limit of "
                         f"{limits.xlsx_rows} × {limits.xlsx_columns} (conf/ingest.yaml)")
    header: list[str] | None = None
    extra_cols: list[str] = []
    records: list[dict[str, str | None]] = []
    rows: list[int] = []
    for number, row in enumerate(sheet.iter_rows(values_only=True, max_col=limits.xlsx_columns), start=1):
        if number > limits.xlsx_rows:
            book.close()
            raise Unreadable(f"more than {limits.xlsx_rows} rows in the first sheet (conf/ingest.yaml)")
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
        records.append(dict(zip(header, cells + [None] * (len(header) - len(cells)), strict=False)))
        rows.append(number)
    book.close()
    if header is None:
        raise Unreadable(f"no header row with the required columns {', '.join(spec.columns)}")
    values = {c: [r.get(c) for r in records] for c in spec.columns}
    extra = _extra_json(extra_cols, {c: [r.get(c) for r in records] for c in extra_cols}) or None
    return ParsedFile(_table(spec, values, len(records), rows, extra=extra), len(records), extra_cols)


def _as_text(col: pa.ChunkedArray) -> pa.ChunkedArray | list[str | None]:
    """A Parquet column as delivered text: timestamps of any unit with microseconds, integers and
    strings by Arrow kernels, anything else as Python prints it."""
    t = col.type
    if pa.types.is_timestamp(t):
        return pc.strftime(col.cast(pa.timestamp("us")), format="%Y-%m-%d %H:%M:%S")
    if pa.types.is_integer(t) or pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_date32(t):
        return col.cast(pa.string())
    return [None if v is None else str(v) for v in col.to_pylist()]


def _pylist(values: pa.ChunkedArray | list) -> list:
    return values.to_pylist() if isinstance(values, pa.ChunkedArray) else values


def read_parquet(data: bytes, spec: FileSpec, limits: Limits) -> ParsedFile:
    """Parquet part file; timestamps of any unit become ISO text with microseconds.

    Row count and uncompressed size come from the footer and are checked before any data is read.
    """
    try:
        meta = pq.ParquetFile(pa.BufferReader(data)).metadata
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if meta.num_rows > limits.rows or size > limits.decompressed_bytes:
            raise Unreadable(f"{meta.num_rows} rows, {size} bytes uncompressed: over the limits of conf/ingest.yaml")
        table = pq.read_table(pa.BufferReader(data))
    except Unreadable:
        raise
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for broken files
        raise Unreadable(f"not a readable Parquet file ({exc})"[:200]) from exc
    _check_columns(spec, table.column_names)
    extra_cols = [c for c in table.column_names if c not in spec.columns]
    values = {c: _as_text(table.column(c)) for c in spec.columns}
    extra = _extra_json(extra_cols, {c: _pylist(_as_text(table.column(c))) for c in extra_cols})
    n = table.num_rows
    values = {c: v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v for c, v in values.items()}
    table_out = _table(spec, values, n, np.arange(1, n + 1, dtype=np.int64), extra=extra or None)
    return ParsedFile(table_out, n, extra_cols)


READERS = {
    "csv": read_csv,
    "delimited": read_delimited,
    "jsonl_gzip": read_jsonl_gzip,
    "xlsx": read_xlsx,
    "parquet": read_parquet,
}


def read_file(data: bytes, spec: FileSpec, limits: Limits | None = None) -> ParsedFile:
    """Parse a landing file according to its spec's format, within `limits` (default conf/ingest.yaml)."""
    return READERS[spec.format](data, spec, limits or read_limits())

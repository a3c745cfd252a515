"""Independent re-readers of the landing formats, written from SOURCES.md for the tests
(deliberately not the generator's writers nor the pipeline's readers)."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq

ENCODING = {"pension": "gbk", "public_security": "utf-8", "transit": "utf-8", "bank": "gb18030"}


def text_lines(data: bytes, encoding: str) -> list[str]:
    """Lines of a strictly decoded text file (CRLF or LF)."""
    text = data.decode(encoding, errors="strict")
    return text.replace("\r\n", "\n").split("\n")[:-1] if text else []


def xlsx_rows(path: Path) -> tuple[list[str], list[tuple], int]:
    """Header, data rows and the 1-based row number of the header of the first sheet."""
    book = openpyxl.load_workbook(path, read_only=False)
    sheet = book.worksheets[0]
    rows = [tuple(c.value for c in row) for row in sheet.iter_rows()]
    header_at = next(i for i, r in enumerate(rows) if r and "身份证号" in r)
    header = [str(v) for v in rows[header_at] if v is not None]
    body = [r for r in rows[header_at + 1:] if any(v not in (None, "") for v in r)]
    return header, body, header_at + 1


def count_rows(source: str, path: Path) -> int:
    """Data records of a landing file, counted as SOURCES.md says."""
    name = path.name
    if name.endswith(".jsonl.gz"):
        return len([ln for ln in gzip.decompress(path.read_bytes()).decode("utf-8").split("\n") if ln])
    if name.endswith(".xlsx"):
        return len(xlsx_rows(path)[1])
    if name.endswith(".parquet"):
        return pq.ParquetFile(path).metadata.num_rows
    lines = text_lines(path.read_bytes(), ENCODING[source])
    return len(lines) if source == "bank" else len(lines) - 1


def jsonl(path: Path) -> list[dict]:
    """Records of a gzip JSON Lines file."""
    return [json.loads(ln) for ln in gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()]


def csv_records(path: Path, encoding: str) -> list[dict[str, str]]:
    """Header CSV as dicts (matched by name: column order is free)."""
    import csv

    return list(csv.DictReader(io.StringIO(path.read_bytes().decode(encoding))))

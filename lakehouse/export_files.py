"""Writing the supervisors' files of OUTPUTS.md: CSV with BOM, formatted xlsx, manifest, atomic folder.

Output is byte-identical for identical rows: no wall-clock timestamps inside the files.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import uuid
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

FIXED_ZIP_TIME = (2000, 1, 1, 0, 0, 0)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
FORMULA_START = ("=", "+", "-", "@")
NUMBER = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")


def safe_cell(value: object) -> object:
    """A value as a spreadsheet shows it, never as something it runs: control characters removed
    (Excel and openpyxl refuse them), and text starting with = + - @ (or a tab) kept as text by a
    leading apostrophe, so a name or a region from a source cannot become a live formula."""
    if not isinstance(value, str):
        return "" if value is None else value
    text = CONTROL_CHARACTERS.sub("", value)
    if (value[:1] == "\t" or text.startswith(FORMULA_START)) and not NUMBER.match(text):
        return "'" + text
    return text


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    """UTF-8 with BOM (Excel opens it as UTF-8), CRLF line ends, minimal quoting, safe cells."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[safe_cell(v) for v in row] for row in rows])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def _deterministic_zip(data: bytes, stamp: dt.datetime) -> bytes:
    """Rewrite an xlsx so that neither zip entry times nor document properties depend on the clock."""
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)", rf"\g<1>{iso}\g<3>",
                              body.decode("utf-8"))
                body = text.encode("utf-8")
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, body)
    return out.getvalue()


def xlsx_bytes(
    header: Sequence[str], rows: Sequence[Sequence[object]], sheet_title: str, stamp: dt.datetime,
    column_notes: dict[str, str] | None = None, widths: dict[str, int] | None = None,
) -> bytes:
    """A formatted workbook: bold frozen header, filters, column widths, a 说明 sheet of column notes."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = re.sub(r"[\[\]:*?/\\]", "_", sheet_title)[:31]  # what Excel allows in a sheet name
    ws.append(list(header))
    for row in rows:
        ws.append([safe_cell(v) for v in row])
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="305496")
        cell.alignment = Alignment(horizontal="center", vertical="center")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{max(1, len(rows) + 1)}"
    for i, name in enumerate(header, start=1):
        ws.column_dimensions[get_column_letter(i)].width = (widths or {}).get(name, max(10, len(name) + 2))
    if column_notes:
        notes = wb.create_sheet("说明")
        notes.append(["字段", "说明"])
        for name in header:
            notes.append([name, column_notes.get(name, "")])
        notes.column_dimensions["A"].width = 22
        notes.column_dimensions["B"].width = 60
    wb.properties.creator = "lakehouse"
    wb.properties.created = stamp
    wb.properties.modified = stamp
    buf = io.BytesIO()
    wb.save(buf)
    return _deterministic_zip(buf.getvalue(), stamp)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """Yield a staging folder beside `target`; on success it replaces `target` by rename, else vanishes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        yield staging
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
        if target.exists():
            os.rename(target, old)
        os.rename(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_manifest(folder: Path, body: dict) -> None:
    """manifest.json listing every file of the folder (but itself) with rows and sha256."""
    (folder / "manifest.json").write_text(json.dumps(body, ensure_ascii=False, indent=2, sort_keys=False) + "\n",
                                          encoding="utf-8")

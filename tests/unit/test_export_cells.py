"""What reaches a supervisor's CSV or workbook cannot run or break it (issue 11): formula-looking
text stays text, control characters go, masking never fails on odd names, regions name files only
as 6-digit codes."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from jobs.export_nightly import region_of
from lakehouse.export_files import csv_bytes, safe_cell, xlsx_bytes
from lakehouse.identity import mask_certno, mask_name

HOSTILE = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "张\x07三", "a\x00b"]


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_or_control_text_becomes_plain_text(value: str) -> None:
    cell = safe_cell(value)
    assert isinstance(cell, str)
    assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in cell)
    assert not cell.startswith(("=", "+", "-", "@"))


def test_numbers_and_ordinary_text_are_left_alone() -> None:
    assert [safe_cell(v) for v in ("-12.50", "330102", "张*三", 3, None)] == ["-12.50", "330102", "张*三", 3, ""]


def test_an_xlsx_of_hostile_cells_holds_no_formula_and_opens() -> None:
    from openpyxl import load_workbook

    data = xlsx_bytes(["a"], [[v] for v in HOSTILE], "风险线索_33:01[x]", dt.datetime(2026, 11, 21))
    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    values = [r[0].value for r in ws.iter_rows(min_row=2)]
    assert len(values) == len(HOSTILE)
    assert all(c.data_type == "s" for r in ws.iter_rows(min_row=2) for c in r)
    assert ws.title == "风险线索_33_01_x_"
    assert csv_bytes(["a"], [[v] for v in HOSTILE]).count(b"\r\n") == len(HOSTILE) + 1


@pytest.mark.parametrize("name", ["\xa0", " ", "\u3000", "\x07", "", None, "张", "张三", "欧阳锋"])
def test_masking_a_name_never_fails(name: str | None) -> None:
    masked = mask_name(name)
    assert masked == "" or masked.count("*") == 1


def test_masking_a_short_number_hides_all_of_it() -> None:
    assert mask_certno("12345") == "*****"
    assert mask_certno("11010519491231002X") == "110105********002X"


@pytest.mark.parametrize(("region", "filed"), [("330102", "330102"), ("../etc", "000000"), ("33:01*", "000000"),
                                               (None, "000000"), ("", "000000")])
def test_a_region_names_a_file_only_as_six_digits(region: str | None, filed: str) -> None:
    assert region_of(region) == filed

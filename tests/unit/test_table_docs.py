"""conf/tables: every silver table is documented, and each bronze table has exactly one home
(COMMON convention; jobs/reconcile.py counts every bronze record against its home)."""

from __future__ import annotations

import pytest
import yaml

from jobs.reconcile import TABLE_DOCS, home_tables, homeless
from lakehouse.config import REPO_ROOT

DOCS = sorted(TABLE_DOCS.glob("silver.*.yaml"))


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.stem)
def test_table_doc_has_grain_description_home_and_columns(path) -> None:  # type: ignore[no-untyped-def]
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert doc["table"] == path.stem
    assert doc["grain"].startswith("one row per")
    assert doc["description"] and isinstance(doc["home_of"], list) and doc["columns"]
    if doc["home_of"]:  # a home table carries the lineage a reconciliation counts by
        assert {"_source", "_extract_date", "_file", "_row"} <= set(doc["columns"])


def test_every_silver_suite_has_a_table_doc() -> None:
    suites = {p.stem for p in (REPO_ROOT / "expectations").glob("silver.*.json")}
    assert suites <= {p.stem for p in DOCS}


def test_no_bronze_table_has_two_homes() -> None:
    homes = home_tables()  # raises on a second home or an unknown bronze table
    assert homes["bank__txn"] == "silver.bank_txn"


def test_every_bronze_table_has_a_home_table() -> None:
    assert homeless() == []

"""Fund-supervision rules: one module per rule exposing `hits(inputs, params, run_date)`.

A hit is one row per person_ref with: person_ref, amount_at_risk (DECIMAL(18,2)), evidence
(one Chinese sentence), evidence_date (the latest date the evidence rests on) and
optionally score. Codes, labels and parameters come from conf/rules.yaml.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.config import load_conf


@dataclass(frozen=True)
class Rule:
    code: str
    module: str
    risk_type: str
    suggested_action: str
    score: int | None
    params: dict[str, Any]

    def hits(self, inputs: dict, run_date):  # type: ignore[no-untyped-def]
        """Evaluate the rule over the named input DataFrames."""
        fn = importlib.import_module(f"jobs.rules.{self.module}").hits
        return fn(inputs, self.params, run_date)


def load_rules() -> list[Rule]:
    """Every rule of conf/rules.yaml, in code order."""
    raw = load_conf("rules.yaml")["rules"]
    return [
        Rule(code, body["module"], body["risk_type"], body["suggested_action"], body.get("score"),
             body.get("params", {}))
        for code, body in sorted(raw.items())
    ]


class LakeInputs(dict):
    """Rule inputs by name, read on first use: `inputs["pension_payment"]` is `silver.pension_payment`;
    names with a layer (`gold.certification`) are read as given."""

    def __init__(self, read: Callable[[str], DataFrame]) -> None:
        super().__init__()
        self._read = read

    def __missing__(self, name: str) -> DataFrame:
        df = self._read(name if "." in name else f"silver.{name}")
        self[name] = df
        return df


def source_labels() -> dict[str, str]:
    """Chinese names of death sources for evidence sentences."""
    return dict(load_conf("rules.yaml")["source_labels"])


def paid_after(payments: DataFrame, events: DataFrame, event_date: str) -> DataFrame:
    """Pension paid (status PAID, amount > 0) for months after the month of `event_date`, per person.

    One row per person and event date with amount_at_risk, payments, first/last month and
    evidence_date: the shared core of R01 (death) and R08 (emigration).
    """
    paid = payments.where((F.col("status") == "PAID") & (F.col("amount") > 0))
    after = paid.join(events, "person_ref").where(F.col("pay_month") > F.trunc(event_date, "month"))
    keys = ["person_ref", event_date] + [c for c in events.columns if c not in ("person_ref", event_date)]
    return after.groupBy(*keys).agg(
        F.sum("amount").cast("decimal(18,2)").alias("amount_at_risk"),
        F.count(F.lit(1)).alias("payments"),
        F.min("pay_month").alias("first_month"),
        F.max("pay_month").alias("last_month"),
        F.max(F.coalesce("paid_on", "pay_month")).alias("evidence_date"),
    )

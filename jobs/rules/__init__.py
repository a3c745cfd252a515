"""Fund-supervision rules: one module per rule exposing `hits(inputs, params, run_date)`.

A hit is one row per person_ref with: person_ref, amount_at_risk (DECIMAL(18,2)), evidence
(one Chinese sentence), evidence_date (the latest date the evidence rests on) and
optionally score. Codes, labels and parameters come from conf/rules.yaml.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

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


def source_labels() -> dict[str, str]:
    """Chinese names of death sources for evidence sentences."""
    return dict(load_conf("rules.yaml")["source_labels"])

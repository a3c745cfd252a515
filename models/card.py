"""Registering a trained version as `@challenger`: tags, a markdown model card, the lake binding.

Every version says what it was trained on (as-of date, rows, positives, data watermark), how it
did (validation and frozen-holdout metrics) and by which run, as registry tags and in a model
card (artifact `model_card.md` of its run, and the version's description in the registry UI).
"""

from __future__ import annotations

import datetime as dt

import mlflow

from lakehouse.config import Env
from models.registry import (
    CHALLENGER,
    TAG_AS_OF,
    TAG_RUN,
    bind_lake,
    describe_version,
    set_alias,
    tag_version,
)


def model_card(name: str, version: str, purpose: str, facts: dict[str, object], metrics: dict[str, float],
               notes: list[str]) -> str:
    """The model card as markdown (pure: facts and metrics in, text out)."""
    lines = [f"# {name} version {version}", "", purpose, "", "## Training data", "",
             "| fact | value |", "|---|---|", *[f"| {k} | {v} |" for k, v in facts.items()], "",
             "## Metrics", "", "| metric | value |", "|---|---|",
             *[f"| {k} | {v:.4f} |" for k, v in sorted(metrics.items())], "", "## Notes", "",
             *[f"- {n}" for n in notes], ""]
    return "\n".join(lines)


def register_challenger(env: Env, name: str, version: str, run_date: dt.date, run_id: str, purpose: str,
                        facts: dict[str, object], metrics: dict[str, float], notes: list[str]) -> str:
    """Tag `version`, attach its card (inside the active MLflow run) and point `@challenger` at it."""
    bind_lake(env)
    card = model_card(name, version, purpose, {TAG_AS_OF: run_date.isoformat(), TAG_RUN: run_id, **facts},
                      metrics, notes)
    mlflow.log_text(card, "model_card.md")
    tag_version(name, version, {TAG_AS_OF: run_date.isoformat(), TAG_RUN: run_id, **facts,
                                **{f"metric.{k}": round(v, 6) for k, v in metrics.items()}})
    describe_version(name, version, card)
    set_alias(name, CHALLENGER, version)
    return card

"""The models measured against the generator's planted truth on the shared nightly lake, and the
registry a supervisor can trace: champion and challenger with tags and card, the manifest naming
each model, promotion on the frozen holdout. Numbers are printed (pytest -rA) as well as asserted."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from lakehouse import lake
from lakehouse.identity import normalise_certno, person_ref
from tests.conftest import make_env

MODELS = ("survival_status", "medical_fraud")
# the issue's targets (issue 13): not met yet, measured here so the gap is visible and a model that
# reaches them turns these strict-xfail tests red, to be promoted to plain asserts
M02_TARGETS = {"precision": 0.80, "recall_labelled": 0.80, "recall_unlabelled": 0.50}
M01_TARGETS = {"precision": 0.80, "recall": 0.70}


def _truth(city, name: str) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    with open(city.truth / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _ref(certno: str, key: bytes) -> str:
    return person_ref(normalise_certno(certno).certno, key)


def _flagged(nightly_lake, rule: str) -> set[str]:  # type: ignore[no-untyped-def]
    clues = lake.read(nightly_lake.spark, nightly_lake.env, "gold.risk_clue").where(F.col("rule_code") == rule)
    return {r.person_ref for r in clues.select("person_ref").collect()}


def m02_measures(nightly_lake, key: bytes) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """M02 clues against the planted fraud: precision, recall on labelled (audit history) and unlabelled plants."""
    run_date = nightly_lake.dates[-1].isoformat()
    planted = [p for p in _truth(nightly_lake.city, "planted_risks.csv")
               if p["rule_code"] == "M02_MEDICAL_FRAUD" and p["is_decoy"] == "0"]
    labelled = {_ref(p["certno"], key) for p in planted if p["scenario"].startswith("labelled_")}
    unlabelled = {_ref(p["certno"], key) for p in planted
                  if p["scenario"].startswith("m02_") and p["detectable_from"] <= run_date}
    flagged = _flagged(nightly_lake, "M02_MEDICAL_FRAUD")
    fraud = {_ref(p["certno"], key) for p in planted}
    out = {"flagged": len(flagged), "labelled": len(labelled), "unlabelled": len(unlabelled),
           "precision": len(flagged & fraud) / len(flagged) if flagged else 0.0,
           "recall_labelled": len(flagged & labelled) / len(labelled),
           "recall_unlabelled": len(flagged & unlabelled) / len(unlabelled)}
    print("M02 vs planted truth:", out)
    return out


def m01_measures(nightly_lake, key: bytes) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """M01 clues against pensioners really dead ≥ 30 days whose death nobody recorded by the run date."""
    run_date = nightly_lake.dates[-1]
    cutoff = (run_date - dt.timedelta(days=30)).isoformat()
    truly = {_ref(p["certno"], key) for p in _truth(nightly_lake.city, "persons.csv")
             if p["retired"] == "1" and p["death_date"] and p["death_date"] <= cutoff
             and (not p["death_known_from"] or p["death_known_from"] > run_date.isoformat())}
    flagged = _flagged(nightly_lake, "M01_SURVIVAL_SUSPECT")
    out = {"flagged": len(flagged), "dead_unrecorded": len(truly),
           "precision": len(flagged & truly) / len(flagged) if flagged else 0.0,
           "recall": len(flagged & truly) / len(truly) if truly else 0.0}
    print("M01 vs true deaths without a record:", out)
    return out


def test_m02_clues_say_which_features_drove_them(nightly_lake) -> None:  # type: ignore[no-untyped-def]
    from lakehouse.config import load_conf

    labels = set(load_conf("models.yaml")["fraud"]["feature_labels"].values())
    clues = lake.read(nightly_lake.spark, nightly_lake.env, "gold.risk_clue").where(
        F.col("rule_code") == "M02_MEDICAL_FRAUD").select("evidence").collect()
    assert clues
    for c in clues:
        drivers = c.evidence.split("主要因素：")[1].split("）")[0].split("、")
        assert 1 <= len(drivers) <= 3 and set(drivers) <= labels, c.evidence


def test_m02_against_planted_fraud(nightly_lake, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    m = m02_measures(nightly_lake, pseudonym_key)
    assert m["labelled"] >= 8 and m["unlabelled"] >= 3, m  # the city plants enough of both kinds to measure
    # floors the current model holds on every draw of the frozen holdout (the session's random key
    # moves persons in and out of it): it flags, and at most a third of its flags are not planted.
    # Recall is far below the issue's targets (measured 0.08–0.67 labelled, 0–0.4 unlabelled on this
    # small city): the strict xfail below carries the real bar.
    assert m["flagged"] > 0 and m["precision"] >= 0.66, m


@pytest.mark.xfail(strict=True, reason="issue 13 M02 targets not reached yet (see the printed measures)")
def test_m02_reaches_the_issue_targets(nightly_lake, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    m = m02_measures(nightly_lake, pseudonym_key)
    assert all(m[k] >= v for k, v in M02_TARGETS.items()), m


def test_m01_against_true_deaths_without_a_record(nightly_lake, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    m = m01_measures(nightly_lake, pseudonym_key)
    assert m["dead_unrecorded"] >= 1, m  # the city has dead pensioners nobody recorded
    # every flag is a pensioner without a death record (M01 never flags a recorded death)
    recorded = {_ref(p["certno"], pseudonym_key) for p in _truth(nightly_lake.city, "persons.csv")
                if p["death_known_from"] and p["death_known_from"] <= nightly_lake.dates[-1].isoformat()}
    assert not _flagged(nightly_lake, "M01_SURVIVAL_SUSPECT") & recorded


@pytest.mark.xfail(strict=True, reason="issue 13 M01 targets not reached yet (see the printed measures)")
def test_m01_reaches_the_issue_targets(nightly_lake, pseudonym_key) -> None:  # type: ignore[no-untyped-def]
    m = m01_measures(nightly_lake, pseudonym_key)
    assert all(m[k] >= v for k, v in M01_TARGETS.items()), m


def test_each_model_has_champion_and_challenger_with_tags_and_card(nightly_lake) -> None:  # type: ignore[no-untyped-def]
    from mlflow.tracking import MlflowClient

    from models.registry import CHALLENGER, CHAMPION, alias_ref

    env = nightly_lake.env
    assert env.mlflow_tracking_uri == f"sqlite:///{env.paths.lake}/_mlflow/mlflow.db"  # the registry is the lake's
    assert json.loads((env.paths.lake / "_model_registry.json").read_text())["tracking_uri"].startswith("sqlite:///{lake}")
    checked = 0
    for name in MODELS:
        champion, challenger = alias_ref(env, name, CHAMPION), alias_ref(env, name, CHALLENGER)
        assert champion is not None and challenger is not None, name
        for ref in {champion.version: champion, challenger.version: challenger}.values():
            assert {"trained_as_of", "pipeline_run_id", "rows", "data_watermark"} <= set(ref.tags), ref.tags
            assert any(k.startswith("metric.holdout_") for k in ref.tags), ref.tags
            card = Path(MlflowClient().download_artifacts(ref.run_id, "model_card.md"))
            assert card.read_text(encoding="utf-8").startswith(f"# {name} version {ref.version}")
            checked += 1
    assert checked >= 2
    fraud = alias_ref(env, "medical_fraud", CHAMPION)
    run = MlflowClient().get_run(fraud.run_id)
    # the threshold was chosen on validation persons for the stated precision, and what it reached is logged
    assert {"threshold", "validation_precision", "validation_recall", "validation_target_met"} <= set(run.data.metrics)
    assert float(fraud.tags["threshold"]) == pytest.approx(run.data.metrics["threshold"], abs=1e-6)


def test_the_manifest_names_each_model_unambiguously(nightly_lake) -> None:  # type: ignore[no-untyped-def]
    from models.registry import CHAMPION, alias_ref

    env = nightly_lake.env
    manifest = json.loads((env.paths.exports / nightly_lake.dates[-1].isoformat() / "manifest.json").read_text())
    for name in MODELS:
        champion = alias_ref(env, name, CHAMPION)
        entry = manifest["models"][name]
        assert entry["version"] == champion.version == manifest["model_versions"][name]
        assert entry["mlflow_run_id"] == champion.run_id and entry["trained_as_of"] == champion.trained_as_of
    assert manifest["models"]["medical_fraud"]["threshold"] == pytest.approx(
        float(alias_ref(env, "medical_fraud", CHAMPION).tags["threshold"]), abs=1e-6)
    scored = lake.read(nightly_lake.spark, env, "gold.fraud_score").select("threshold").distinct().collect()
    assert len(scored) == 1  # M02 applies the scoring version's own threshold


def test_promotion_compares_on_the_frozen_holdout_past_the_margin(nightly_lake, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from lakehouse.pipeline import run_step
    from models.registry import CHALLENGER, alias_ref

    original = nightly_lake.env
    # a copy of the lake with a registry of its own (the shared lake's registry is left alone)
    shutil.copytree(original.paths.lake, tmp_path / "lake", symlinks=True,
                    ignore=shutil.ignore_patterns("_mlflow", "_model_registry.json"))
    env = dataclasses.replace(make_env(tmp_path, landing=original.paths.landing), services=original.services)
    day = nightly_lake.dates[-1]
    # the first versions, as of the first night, through the nightly step that bootstraps a fresh lake
    first = run_step("models_ready", nightly_lake.dates[0], env, "test__bootstrap")
    assert set(first) == set(MODELS)
    assert {name: alias_ref(env, name, CHALLENGER).tags["promotion"] for name in MODELS} == {
        name: f"{nightly_lake.dates[0]}: first champion" for name in MODELS}
    trained = run_step("train", day, env, "test__retrain")
    assert {name: alias_ref(env, name, CHALLENGER).version for name in MODELS} == trained
    assert all(trained[n] != first[n] for n in MODELS)
    champions = run_step("promote", day, env, "test__promote")  # newer data may win, or not
    checked = 0
    for name in MODELS:
        verdict = alias_ref(env, name, CHALLENGER).tags["promotion"]
        assert "on the frozen holdout" in verdict and f"vs champion v{first[name]}" in verdict, verdict
        assert verdict.endswith("promoted" if champions[name] == trained[name] else "kept"), verdict
        checked += 1
    assert checked == len(MODELS)
    # the same data and seed again give the same model: no gain past the margin, the champion stays
    again = run_step("train", day, env, "test__retrain_again")
    assert run_step("promote", day, env, "test__promote_again") == champions
    for name in MODELS:
        assert alias_ref(env, name, CHALLENGER).version == again[name]
        assert alias_ref(env, name, CHALLENGER).tags["promotion"].endswith("kept")

"""Model management without Spark: the registry follows the lake, scoring never trains, the
frozen holdout, the M02 threshold for a stated precision, promotion margins, model cards."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from lakehouse.config import env_from_json, env_to_json, load_env
from tests.conftest import make_env


def test_the_registry_follows_the_lake(tmp_path: Path) -> None:
    base = load_env("local")
    assert base.mlflow_tracking_uri == f"sqlite:///{base.paths.lake}/_mlflow/mlflow.db"
    moved = base.with_paths(lake=tmp_path / "other_city")
    assert moved.mlflow_tracking_uri == f"sqlite:///{tmp_path}/other_city/_mlflow/mlflow.db"
    assert moved.mlflow_artifact_root == tmp_path / "other_city" / "_mlflow" / "artifacts"
    assert env_from_json(env_to_json(moved)) == moved  # handed to Airflow tasks unchanged
    production = load_env("production")
    assert production.mlflow_tracking_uri == "sqlite:////data/lake/_mlflow/mlflow.db"
    assert production.models["bootstrap_when_no_champion"] is False
    assert base.models["bootstrap_when_no_champion"] is True


def test_scoring_without_a_champion_stops_naming_how_to_train(tmp_path: Path) -> None:
    from models.fraud import score as fraud_score
    from models.registry import ModelNotTrained
    from models.survival import score as survival_score

    env = make_env(tmp_path)
    checked = 0
    for module in (survival_score, fraud_score):
        with pytest.raises(ModelNotTrained, match=r"scoring never trains.*lakehouse train --lake .*lakehouse promote"):
            module.run(dt_date(), env, "test")
        checked += 1
    assert checked == 2
    # nothing was trained or registered by trying
    from mlflow.tracking import MlflowClient

    assert MlflowClient().search_registered_models() == []


def test_a_lake_without_champions_is_bootstrapped_only_where_the_environment_allows(tmp_path: Path) -> None:
    from models import bootstrap
    from models.registry import ModelNotTrained

    env = dataclasses.replace(make_env(tmp_path), models={"bootstrap_when_no_champion": False})
    with pytest.raises(ModelNotTrained, match="lakehouse train"):
        bootstrap.run(dt_date(), env, "test")


def test_a_lake_refuses_another_registry(tmp_path: Path) -> None:
    from models.registry import RegistryMismatch, bind_lake, check_binding, require_champion

    env = make_env(tmp_path)
    bind_lake(env)
    check_binding(env)
    # the same lake copied elsewhere keeps its own registry (recorded relative to the lake)
    copy = make_env(tmp_path / "copy")
    (copy.paths.lake).mkdir(parents=True)
    (copy.paths.lake / "_model_registry.json").write_bytes((env.paths.lake / "_model_registry.json").read_bytes())
    check_binding(copy)
    foreign = dataclasses.replace(env, mlflow_tracking_uri=f"sqlite:///{tmp_path}/elsewhere/mlflow.db",
                                  mlflow_templates={})
    with pytest.raises(RegistryMismatch, match="is scored with the registry"):
        require_champion(foreign, "survival_status")


def test_frozen_holdout_is_stable_and_of_the_stated_share() -> None:
    from models.holdout import in_holdout

    refs = [f"{i:016x}" for i in range(4000)]
    first, again = in_holdout(refs), in_holdout(list(reversed(refs)))[::-1]
    assert (first == again).all()
    assert 0.22 < first.mean() < 0.28
    assert (in_holdout(refs, salt="other") != first).any()


@pytest.mark.parametrize(("y", "p", "target", "cut_between", "precision", "recall", "met"), [
    # 4 positives on top, then a negative: the lowest cut holding 100% flags the four
    ([1, 1, 1, 1, 0, 1, 0, 0], [.9, .8, .7, .6, .5, .4, .3, .2], 1.0, (.5, .6), 1.0, 0.8, 1.0),
    # at 80% the fifth positive comes in (5 of 6 flagged are fraud)
    ([1, 1, 1, 1, 0, 1, 0, 0], [.9, .8, .7, .6, .5, .4, .3, .2], 0.8, (.3, .4), 5 / 6, 1.0, 1.0),
    # never a cut inside a tie: the tied pair (one fraud, one not) is flagged together or not at all
    ([1, 0, 1, 0], [.9, .7, .7, .1], 0.9, (.7, .9), 1.0, 0.5, 1.0),
    # target out of reach: the best precision is taken and the miss is reported
    ([0, 1, 0, 1], [.9, .8, .7, .6], 0.8, (.7, .8), 0.5, 0.5, 0.0),
])
def test_threshold_holds_the_stated_precision(y, p, target, cut_between, precision, recall, met) -> None:  # type: ignore[no-untyped-def]
    from models.fraud.train import threshold_for_precision

    got = threshold_for_precision(np.array(y), np.array(p), target)
    assert cut_between[0] < got["threshold"] < cut_between[1]
    assert got["precision"] == pytest.approx(precision) and got["recall"] == pytest.approx(recall)
    assert got["target_met"] == met
    flagged = np.array(p) > got["threshold"]  # what M02 does with the published cut
    assert np.array(y)[flagged].mean() == pytest.approx(precision)


def test_promotion_needs_more_than_the_margin() -> None:
    from models.promote import decide

    assert decide(0.50, None, 0.01)          # first champion
    assert not decide(None, 0.4, 0.01)       # a challenger that cannot be measured never replaces
    assert not decide(0.405, 0.40, 0.01)     # within the margin: kept
    assert not decide(0.41, 0.40, 0.01)      # exactly the margin is not past it
    assert decide(0.4101, 0.40, 0.01)


def test_model_card_states_data_metrics_and_notes() -> None:
    from models.card import model_card

    card = model_card("medical_fraud", "3", "医保欺诈风险模型", {"trained_as_of": "2026-10-03", "rows": 12},
                      {"validation_precision": 0.8125}, ["labels from audits"])
    assert card.startswith("# medical_fraud version 3\n")
    assert "| trained_as_of | 2026-10-03 |" in card and "| validation_precision | 0.8125 |" in card
    assert "- labels from audits" in card


def dt_date():  # type: ignore[no-untyped-def]
    import datetime as dt

    return dt.date(2026, 10, 3)


def test_m02_drivers_are_the_features_that_raised_the_score_most() -> None:
    from models.fraud.explain import top_drivers

    names = ["stay_days", "total", "after_hours", "p365_refunds"]
    labels = {"stay_days": "住院天数", "total": "结算总额", "after_hours": "非营业时间结算"}
    contribs = np.array([[0.2, 1.5, -0.3, 0.9],    # total, then refunds (no label: its name), then stay
                         [-0.1, -0.2, 0.05, 0.0],  # only one feature raised it
                         [-1.0, -1.0, -1.0, -1.0]])  # nothing raised it
    assert top_drivers(contribs, names, labels, 3) == ["结算总额、p365_refunds、住院天数", "非营业时间结算", ""]


def test_m02_drivers_are_exact_tree_contributions() -> None:
    from xgboost import XGBClassifier

    from models.fraud.explain import contributions

    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 3))
    y = (x[:, 1] > 0.5).astype(int)  # only the second feature matters
    model = XGBClassifier(n_estimators=20, max_depth=2, random_state=7).fit(x, y)
    c = contributions(model, x)
    assert c.shape == (300, 3)
    assert np.abs(c[:, 1]).mean() > 5 * max(np.abs(c[:, 0]).mean(), np.abs(c[:, 2]).mean())

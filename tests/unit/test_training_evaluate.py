"""The shared evaluation function: CV mechanics, reproducibility, baselines."""

from __future__ import annotations

import numpy as np
import pytest

from training.data import load_site
from training.evaluate import CVSettings, evaluate, evaluate_estimator
from training.metrics import METRICS
from training.pipelines import (
    BASELINE_THRESHOLDS,
    DEFAULTS,
    OPTIONS,
    build_baseline,
    build_pipeline,
)
from training.selection import choose_champion

pytestmark = pytest.mark.unit

SMALL = CVSettings(folds=5, repeats=2, seed=0)
SMALL_FOREST = {"n_estimators": 60}


@pytest.fixture(scope="module")
def cleveland(data_source: str, tmp_path_factory: pytest.TempPathFactory):
    return load_site("cleveland", data_source, tmp_path_factory.mktemp("cache"))


def test_every_fold_reports_progress_and_every_metric_has_an_interval(cleveland) -> None:
    x, y = cleveland
    calls: list[int] = []
    result = evaluate("logistic_regression", None, x, y, cv=SMALL, on_fold=lambda: calls.append(1))
    assert len(calls) == len(result.fold_scores) == SMALL.total
    assert set(result.metrics) == set(METRICS)
    for name, value in result.metrics.items():
        assert 0.0 <= value.low <= value.mean <= value.high <= 1.0, name
    assert result.oof_probability.shape == y.shape
    assert ((result.oof_probability >= 0) & (result.oof_probability <= 1)).all()
    flat = result.flat("cv_")
    assert flat["cv_roc_auc"] == result.metrics["roc_auc"].mean
    assert flat["cv_threshold"] == result.threshold
    assert {"cv_brier_ci_low", "cv_brier_ci_high"} <= set(flat)


def test_params_override_the_defaults_and_are_recorded(cleveland) -> None:
    x, y = cleveland
    result = evaluate("random_forest", {"n_estimators": 20}, x[:120], y[:120], cv=SMALL)
    assert result.params == {**DEFAULTS["random_forest"], **OPTIONS, "n_estimators": 20}
    assert result.family == "random_forest"


def test_unknown_family_is_rejected_by_name() -> None:
    with pytest.raises((ValueError, KeyError), match="boosted_stumps"):
        evaluate("boosted_stumps", None, np.zeros((10, 13)), np.zeros(10))  # type: ignore[arg-type]


def test_same_data_and_seed_give_identical_metrics_and_predictions(cleveland) -> None:
    x, y = cleveland
    first = evaluate("random_forest", SMALL_FOREST, x, y, cv=SMALL)
    second = evaluate("random_forest", SMALL_FOREST, x, y, cv=SMALL)
    assert first.fold_scores == second.fold_scores
    assert first.threshold == second.threshold
    np.testing.assert_array_equal(first.oof_probability, second.oof_probability)
    a = build_pipeline("random_forest", SMALL_FOREST, seed=0).fit(x, y).predict_proba(x)
    b = build_pipeline("random_forest", SMALL_FOREST, seed=0).fit(x, y).predict_proba(x)
    np.testing.assert_array_equal(a, b)


def test_another_seed_gives_other_folds(cleveland) -> None:
    x, y = cleveland
    base = evaluate("logistic_regression", None, x, y, cv=SMALL)
    other = evaluate("logistic_regression", None, x, y, cv=CVSettings(repeats=2, seed=1))
    assert base.fold_scores != other.fold_scores


def test_champion_beats_the_majority_and_one_feature_baselines(cleveland) -> None:
    x, y = cleveland
    families = [
        evaluate("logistic_regression", None, x, y, cv=SMALL),
        evaluate("random_forest", {"n_estimators": 100}, x, y, cv=SMALL),
    ]
    champion = choose_champion(families)
    assert champion.metrics["roc_auc"].mean == max(r.metrics["roc_auc"].mean for r in families)
    for kind in ("majority", "one_feature"):
        baseline = evaluate_estimator(
            build_baseline(kind), x, y, cv=SMALL, name=kind, threshold=BASELINE_THRESHOLDS.get(kind)
        )
        assert champion.metrics["roc_auc"].mean > baseline.metrics["roc_auc"].mean + 0.1, kind
        assert champion.metrics["brier"].mean < baseline.metrics["brier"].mean, kind
        assert champion.metrics["accuracy"].mean > baseline.metrics["accuracy"].mean, kind


def test_majority_baseline_predicts_the_majority_class(cleveland) -> None:
    x, y = cleveland
    result = evaluate_estimator(build_baseline("majority"), x, y, cv=SMALL, threshold=0.5)
    assert result.metrics["roc_auc"].mean == 0.5
    assert result.metrics["sensitivity"].mean == 0.0
    assert result.metrics["accuracy"].mean == pytest.approx(1 - y.mean(), abs=0.01)


def test_one_feature_baseline_uses_one_feature_only(cleveland) -> None:
    x, y = cleveland
    model = build_baseline("one_feature", "thal").fit(x, y)
    shuffled = x.copy()
    shuffled[:, :12] = shuffled[np.random.default_rng(0).permutation(len(x)), :12]
    np.testing.assert_array_equal(model.predict_proba(x), model.predict_proba(shuffled))


def test_cv_settings_count_folds() -> None:
    assert CVSettings(folds=4, repeats=3).total == 12

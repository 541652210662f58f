"""Leave-one-site-out: splitting, per-site metrics, calibration slope and intercept,
bootstrap intervals, and the champion rule that uses them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from training.evaluate import CVResult, CVSettings, evaluate
from training.loso import (
    HeldOut,
    auc,
    bootstrap,
    calibration_intercept,
    calibration_slope,
    splits,
)
from training.metrics import Estimate
from training.selection import CV_MARGIN, choose_champion
from training.sites import external_sites, load_training, pool

pytestmark = pytest.mark.unit


def _calibrated(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes drawn from the probabilities themselves: perfectly calibrated."""
    rng = np.random.default_rng(seed)
    probability = rng.uniform(0.02, 0.98, n)
    return (rng.random(n) < probability).astype(np.int64), probability


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def test_every_site_is_held_out_once_and_never_trained_on() -> None:
    site = np.array(["a", "a", "b", "c", "b", "a"])
    seen = []
    for name, train, test in splits(site):
        assert set(site[test]) == {name} and name not in set(site[train])
        assert sorted(np.concatenate([train, test])) == list(range(len(site)))
        seen.append(name)
    assert seen == ["a", "b", "c"]


def test_one_site_has_no_leave_one_site_out_split() -> None:
    assert list(splits(np.array(["cleveland"] * 5))) == []


def test_calibration_slope_and_intercept_of_calibrated_predictions_are_one_and_zero() -> None:
    y, p = _calibrated(20_000)
    assert calibration_slope(y, p) == pytest.approx(1.0, abs=0.05)
    assert calibration_intercept(y, p) == pytest.approx(0.0, abs=0.05)


def test_overconfident_predictions_have_a_slope_below_one() -> None:
    y, p = _calibrated(20_000, seed=1)
    overconfident = 1 / (1 + np.exp(-2 * _logit(p)))  # logits doubled
    assert calibration_slope(y, overconfident) == pytest.approx(0.5, abs=0.03)


def test_risks_too_high_have_a_negative_intercept() -> None:
    y, p = _calibrated(20_000, seed=2)
    too_high = 1 / (1 + np.exp(-(_logit(p) + 1.0)))  # everyone's odds x e
    assert calibration_intercept(y, too_high) == pytest.approx(-1.0, abs=0.05)


def test_auc_matches_scikit_learn_with_ties_and_is_nan_for_one_class() -> None:
    y, p = _calibrated(500, seed=3)
    p[:100] = 0.5  # ties
    assert auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert math.isnan(auc(np.ones(10, dtype=np.int64), p[:10]))


def test_bootstrap_intervals_bracket_the_point_estimates() -> None:
    y, p = _calibrated(300, seed=4)
    metrics = bootstrap(y, p, resamples=100, seed=0)
    assert metrics["auc"].mean == pytest.approx(roc_auc_score(y, p))
    assert metrics["brier"].mean == pytest.approx(brier_score_loss(y, p))
    for name, value in metrics.items():
        assert value.low < value.mean < value.high, name
    assert bootstrap(y, p, resamples=0)["auc"].low == metrics["auc"].mean  # no CI without resamples


def test_pooled_sites_keep_each_row_site(data_source: str, tmp_path) -> None:
    data = load_training(("cleveland", "hungarian", "va"), data_source, tmp_path)
    assert data.sites == ("cleveland", "hungarian") and data.rows("hungarian") == 294
    assert len(data.x) == len(data.y) == len(data.site) == 597
    if "va" in data.absent:  # the hold-out is not in the mirror
        assert external_sites(("hungarian", "switzerland", "va"), data.sites) == (
            "switzerland",
            "va",
        )
    with pytest.raises(ValueError, match="no training site"):
        pool({})


def test_evaluate_scores_each_held_out_site_with_a_model_that_never_saw_it(
    data_source: str, tmp_path
) -> None:
    data = load_training(("cleveland", "hungarian"), data_source, tmp_path)
    cv = CVSettings(folds=3, repeats=1, bootstrap=20)
    params = {"missing": "indicator", "calibration": "sigmoid"}
    result = evaluate("logistic_regression", params, data.x, data.y, cv=cv, site=data.site)
    assert set(result.loso) == {"cleveland", "hungarian"}
    held = result.loso["hungarian"]
    assert held.rows == 294 and len(held.probability) == 294
    assert 0.8 < held.metrics["auc"].mean < 1.0  # Cleveland alone still ranks Hungarian well
    flat = result.flat("cv_")
    assert flat["cv_loso_hungarian_auc"] == held.metrics["auc"].mean
    assert {"cv_loso_cleveland_calibration_slope_ci_low", "cv_roc_auc"} <= set(flat)


def _candidate(name: str, cv_auc: float, site_aucs: dict[str, float], brier: float = 0.1):
    metrics = {"roc_auc": Estimate(cv_auc, cv_auc, cv_auc), "brier": Estimate(0.12, 0.12, 0.12)}
    loso = {
        site: HeldOut(
            site,
            10,
            {"auc": Estimate(a, a, a), "brier": Estimate(brier, brier, brier)},
            np.zeros(1),
            np.zeros(1),
        )
        for site, a in site_aucs.items()
    }
    return CVResult(name, {}, metrics, 0.5, np.zeros(1), [], loso=loso)


def test_the_champion_is_the_best_worst_site_among_candidates_close_to_the_best_cv() -> None:
    best_cv = _candidate("best_cv", 0.92, {"a": 0.95, "b": 0.80})
    steady = _candidate("steady", 0.91, {"a": 0.88, "b": 0.86})
    far = _candidate("far", 0.92 - CV_MARGIN - 0.01, {"a": 0.90, "b": 0.90})
    assert choose_champion([best_cv, steady, far]).family == "steady"


def test_a_tie_on_the_worst_site_goes_to_the_lower_held_out_brier() -> None:
    a = _candidate("a", 0.91, {"x": 0.870, "y": 0.90}, brier=0.15)
    b = _candidate("b", 0.90, {"x": 0.868, "y": 0.89}, brier=0.12)
    assert choose_champion([a, b]).family == "b"


def test_without_loso_the_champion_is_the_best_cv() -> None:
    a = _candidate("a", 0.91, {})
    b = _candidate("b", 0.92, {})
    assert choose_champion([a, b]).family == "b"

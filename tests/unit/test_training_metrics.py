"""Metrics at a threshold, the threshold rule and the corrected CV intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training.metrics import estimate, scores, youden_threshold

pytestmark = pytest.mark.unit


def test_scores_match_a_hand_counted_confusion_matrix() -> None:
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.2, 0.6, 0.3, 0.2, 0.1, 0.1, 0.1])
    got = scores(y, p, threshold=0.5)  # tp 3, fn 1, fp 1, tn 5
    assert got["sensitivity"] == pytest.approx(3 / 4)
    assert got["specificity"] == pytest.approx(5 / 6)
    assert got["accuracy"] == pytest.approx(8 / 10)
    assert got["f1"] == pytest.approx(6 / 8)
    assert got["brier"] == pytest.approx(float(np.mean((p - y) ** 2)))
    assert got["roc_auc"] == pytest.approx(21.5 / 24)  # 21 of 24 pairs ordered, one tie (0.2)


def test_threshold_is_inclusive() -> None:
    y = np.array([1, 0])
    assert scores(y, np.array([0.5, 0.49]), 0.5)["accuracy"] == 1.0


def test_roc_auc_is_nan_with_one_class_not_an_exception() -> None:
    got = scores(np.array([1, 1, 1]), np.array([0.9, 0.4, 0.7]), 0.5)
    assert math.isnan(got["roc_auc"]) and math.isnan(got["specificity"])
    assert got["sensitivity"] == pytest.approx(2 / 3)


def test_youden_threshold_separates_separable_classes() -> None:
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.35, 0.6, 0.7, 0.9])
    threshold = youden_threshold(y, p)
    assert 0.35 < threshold <= 0.6
    assert scores(y, p, threshold)["accuracy"] == 1.0


def test_youden_threshold_maximises_j_over_all_cut_offs() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    p = np.clip(0.3 * y + rng.normal(0.35, 0.2, 300), 0, 1)

    def j(t: float) -> float:
        got = scores(y, p, t)
        return got["sensitivity"] + got["specificity"] - 1

    best = youden_threshold(y, p)
    assert all(j(best) >= j(float(t)) - 1e-12 for t in np.unique(p))


def test_interval_contains_mean_and_is_wider_than_the_naive_one() -> None:
    values = [0.80, 0.85, 0.90, 0.88, 0.83, 0.86, 0.91, 0.79, 0.84, 0.87]
    got = estimate(values, test_fraction=0.25)
    assert got.low < got.mean < got.high
    naive_half = 2.262 * np.std(values, ddof=1) / math.sqrt(len(values))
    assert (got.high - got.low) / 2 > naive_half  # correction for overlapping folds


def test_interval_is_clipped_to_the_unit_range_and_ignores_nan() -> None:
    got = estimate([1.0, 0.2, 1.0, math.nan], test_fraction=0.25)
    assert got.mean == pytest.approx(2.2 / 3)
    assert got.low >= 0.0 and got.high == 1.0


def test_constant_scores_have_a_zero_width_interval() -> None:
    got = estimate([0.5] * 10, test_fraction=0.25)
    assert (got.low, got.mean, got.high) == (0.5, 0.5, 0.5)

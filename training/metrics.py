"""Classification metrics, the decision-threshold rule and confidence intervals.

Threshold rule (stated in ``model.json`` as ``threshold_rule``): the cut-off
on P(disease) that maximises Youden's J = sensitivity + specificity - 1 over
the out-of-fold probabilities of cross-validation (each patient's probability
averaged over the repeats). It weighs a missed disease and a false alarm
equally and never looks at data the final model is scored on externally.

Confidence intervals of repeated k-fold CV use the corrected resampled t
(Nadeau & Bengio 2003): fold scores share training data, so their variance is
inflated by ``1/J + n_test/n_train`` instead of ``1/J`` (J = folds x repeats).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

#: Metrics reported for every configuration, in display order.
METRICS: tuple[str, ...] = ("roc_auc", "accuracy", "f1", "sensitivity", "specificity", "brier")
#: Metrics where lower is better.
LOWER_IS_BETTER = frozenset({"brier"})
THRESHOLD_RULE = (
    "maximise Youden's J (sensitivity + specificity - 1) on the cross-validated"
    " out-of-fold probabilities"
)


@dataclass(frozen=True)
class Estimate:
    """A cross-validated metric: mean and its 95% confidence interval."""

    mean: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}]"


def scores(y: np.ndarray, probability: np.ndarray, threshold: float) -> dict[str, float]:
    """All :data:`METRICS` of ``probability`` against ``y`` at ``threshold``."""
    predicted = (probability >= threshold).astype(np.int64)
    tp = int(np.sum((predicted == 1) & (y == 1)))
    tn = int(np.sum((predicted == 0) & (y == 0)))
    fp = int(np.sum((predicted == 1) & (y == 0)))
    fn = int(np.sum((predicted == 0) & (y == 1)))
    both_classes = len(np.unique(y)) == 2
    return {
        "roc_auc": float(roc_auc_score(y, probability)) if both_classes else math.nan,
        "accuracy": (tp + tn) / len(y),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "brier": float(brier_score_loss(y, probability)),
    }


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else math.nan


def youden_threshold(y: np.ndarray, probability: np.ndarray) -> float:
    """The threshold of :data:`THRESHOLD_RULE` (ties go to the higher cut-off)."""
    fpr, tpr, thresholds = roc_curve(y, probability)
    j = tpr - fpr
    best = int(np.flatnonzero(j == j.max())[0])
    return float(min(thresholds[best], 1.0))


def estimate(values: Sequence[float], test_fraction: float) -> Estimate:
    """Mean and corrected-resampled-t 95% CI of fold scores (clipped to [0, 1]).

    ``test_fraction`` is n_test / n_train of one fold (1 / (k - 1) for k folds).
    """
    array = np.asarray(values, dtype=np.float64)
    array = array[~np.isnan(array)]
    mean = float(array.mean())
    if len(array) < 2:
        return Estimate(mean, mean, mean)
    variance = (1 / len(array) + test_fraction) * float(array.var(ddof=1))
    half = float(stats.t.ppf(0.975, len(array) - 1)) * math.sqrt(variance)
    return Estimate(mean, max(mean - half, 0.0), min(mean + half, 1.0))

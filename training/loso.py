"""Leave-one-site-out (LOSO) evaluation: train on every site but one, score the one left out.

Repeated CV mixes every site into every fold, so it says how the model does
on patients like the ones it was trained on. LOSO says how it does at a
hospital it has never seen, which is what a deployed model meets. With the
sites at hand (Cleveland and Hungarian) LOSO is two folds; with all four it
is four; with one site there is none.

Per held-out site: ROC-AUC, Brier score and the calibration slope and
intercept (logistic recalibration, Van Calster et al. 2019: slope 1 and
intercept 0 are perfect; slope < 1 means overconfident predictions; the
intercept is calibration-in-the-large, < 0 means risks too high), each with
a percentile bootstrap 95% CI over the held-out patients (the model is not
refitted: the interval is the sampling error of the held-out site).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats
from sklearn.base import BaseEstimator, clone
from threadpoolctl import threadpool_limits

from training.metrics import Estimate

#: Bootstrap resamples of each held-out site (``--bootstrap``).
BOOTSTRAP = 200
_EPS = 1e-6
_NEWTON_STEPS = 50
LOSO_METRICS: tuple[str, ...] = ("auc", "brier", "calibration_slope", "calibration_intercept")


@dataclass(frozen=True)
class HeldOut:
    """One held-out site: its metrics (point estimate and bootstrap CI) and predictions."""

    site: str
    rows: int
    metrics: dict[str, Estimate]
    y: np.ndarray = field(repr=False)
    probability: np.ndarray = field(repr=False)

    def record(self) -> dict[str, object]:
        """What ``model.json``'s ``loso`` keeps for this site."""
        out: dict[str, object] = {"rows": self.rows}
        for name, value in self.metrics.items():
            out[name] = {"value": value.mean, "ci_low": value.low, "ci_high": value.high}
        return out


def splits(site: np.ndarray) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(held-out site, train indices, test indices) for each site; none for one site."""
    names = list(dict.fromkeys(str(s) for s in site))
    if len(names) < 2:
        return
    for name in names:
        test = np.flatnonzero(site == name)
        train = np.flatnonzero(site != name)
        yield name, train, test


def calibration_slope(y: np.ndarray, probability: np.ndarray) -> float:
    """Slope b of ``logit P(y=1) = a + b * logit(p)`` (1 = perfect, < 1 = overconfident)."""
    if len(np.unique(y)) < 2:
        return math.nan
    design = np.column_stack([np.ones(len(y)), _logit(probability)])
    beta = np.zeros(2)
    for _ in range(_NEWTON_STEPS):  # unpenalised logistic regression by Newton-Raphson
        fitted = 1 / (1 + np.exp(-(design @ beta)))
        weights = fitted * (1 - fitted)
        hessian = design.T @ (design * weights[:, None])
        step = np.linalg.lstsq(hessian, design.T @ (y - fitted), rcond=None)[0]
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(beta[1])


def calibration_intercept(y: np.ndarray, probability: np.ndarray) -> float:
    """Calibration-in-the-large: a of ``logit P(y=1) = a + logit(p)`` (slope fixed at 1)."""
    if len(np.unique(y)) < 2:
        return math.nan
    lp = _logit(probability)
    observed = float(np.sum(y))

    def excess(a: float) -> float:
        return float(np.sum(1 / (1 + np.exp(-(a + lp))))) - observed

    return float(optimize.brentq(excess, -20.0, 20.0))


def _logit(probability: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(probability, dtype=np.float64), _EPS, 1 - _EPS)
    return np.asarray(np.log(p / (1 - p)))


def auc(y: np.ndarray, probability: np.ndarray) -> float:
    """ROC-AUC by the rank-sum (Mann-Whitney) formula, ties counted half; NaN for one class."""
    positives = int(np.sum(y == 1))
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    ranks = stats.rankdata(probability)
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def site_metrics(y: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """The :data:`LOSO_METRICS` of one held-out site (NaN where a class is missing)."""
    return {
        "auc": auc(y, probability),
        "brier": float(np.mean((probability - y) ** 2)),
        "calibration_slope": calibration_slope(y, probability),
        "calibration_intercept": calibration_intercept(y, probability),
    }


def bootstrap(
    y: np.ndarray, probability: np.ndarray, resamples: int = BOOTSTRAP, seed: int = 0
) -> dict[str, Estimate]:
    """Point estimates with percentile bootstrap 95% CIs (no CI when ``resamples`` is 0)."""
    point = site_metrics(y, probability)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {name: [] for name in point}
    for _ in range(resamples):
        index = rng.integers(0, len(y), len(y))
        for name, value in site_metrics(y[index], probability[index]).items():
            draws[name].append(value)
    out = {}
    for name, value in point.items():
        sample = np.asarray(draws[name])
        sample = sample[np.isfinite(sample)]
        if len(sample) < 2:
            out[name] = Estimate(value, value, value)
            continue
        low, high = np.percentile(sample, [2.5, 97.5])
        out[name] = Estimate(value, float(low), float(high))
    return out


def evaluate_loso(
    estimator: BaseEstimator,
    x: np.ndarray,
    y: np.ndarray,
    site: np.ndarray,
    *,
    resamples: int = BOOTSTRAP,
    seed: int = 0,
) -> dict[str, HeldOut]:
    """Fit a clone of ``estimator`` on all sites but one and score the one left out, per site."""
    out = {}
    for name, train, test in splits(site):
        with threadpool_limits(1):
            model = clone(estimator).fit(x[train], y[train])
            probability = model.predict_proba(x[test])[:, 1]
        metrics = bootstrap(y[test], probability, resamples, seed)
        out[name] = HeldOut(name, len(test), metrics, y[test], probability)
    return out

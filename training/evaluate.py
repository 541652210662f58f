"""Repeated stratified k-fold evaluation of one configuration, and LOSO beside it.

:func:`evaluate` is *the* evaluation: ``make train`` calls it once per
candidate and Ray Tune calls it once per trial, so the two can never drift.
Given each row's site, folds are stratified by site and outcome, and the
configuration is also evaluated leave-one-site-out (:mod:`training.loso`).
It is pure: no MLflow, no files, no globals; the result is a plain dataclass
whose :meth:`CVResult.flat` gives the numbers to log or report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import RepeatedStratifiedKFold
from threadpoolctl import threadpool_limits

from training.loso import BOOTSTRAP, HeldOut, evaluate_loso
from training.metrics import METRICS, THRESHOLD_RULE, Estimate, estimate, scores, youden_threshold
from training.pipelines import DEFAULTS, OPTIONS, Family, build_pipeline


@dataclass(frozen=True)
class CVSettings:
    """How a configuration is cross-validated.

    ``n_jobs`` runs folds in parallel processes (1 = in this process, which is
    what a Ray Tune trial wants: Ray already runs trials in parallel);
    ``bootstrap`` is the number of resamples of each LOSO held-out site.
    """

    folds: int = 5
    repeats: int = 10
    seed: int = 0
    n_jobs: int = 1
    bootstrap: int = BOOTSTRAP

    @property
    def total(self) -> int:
        return self.folds * self.repeats


@dataclass(frozen=True)
class CVResult:
    """Cross-validated metrics of one (family, params) configuration.

    ``oof_probability`` is each patient's out-of-fold P(disease) averaged over
    the repeats; ``threshold`` is chosen on it (:data:`THRESHOLD_RULE`) and the
    threshold-dependent metrics are computed per fold at that threshold.
    ``loso`` holds each held-out site's scores (empty with fewer than two sites).
    """

    family: str
    params: dict[str, Any]  # the effective hyper-parameters (defaults included)
    metrics: dict[str, Estimate]
    threshold: float
    oof_probability: np.ndarray = field(repr=False)
    fold_scores: list[dict[str, float]] = field(repr=False)
    cv: CVSettings = CVSettings()
    threshold_rule: str = THRESHOLD_RULE
    loso: dict[str, HeldOut] = field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        """``family`` with its missing-value handling: ``logistic_regression [drop]``."""
        missing = self.params.get("missing")
        return f"{self.family} [{missing}]" if missing else self.family

    def flat(self, prefix: str = "") -> dict[str, float]:
        """``{roc_auc: mean, roc_auc_ci_low: ..., roc_auc_ci_high: ..., threshold: ...}``,
        and per LOSO held-out site ``loso_<site>_<metric>`` (with ``_ci_low``/``_ci_high``)."""
        out = {f"{prefix}threshold": self.threshold}
        named = dict(self.metrics)
        for site, held in self.loso.items():
            named.update({f"loso_{site}_{m}": v for m, v in held.metrics.items()})
        for name, value in named.items():
            out[f"{prefix}{name}"] = value.mean
            out[f"{prefix}{name}_ci_low"] = value.low
            out[f"{prefix}{name}_ci_high"] = value.high
        return out

    def worst_site_auc(self) -> float:
        """The lowest held-out-site ROC-AUC (NaN without LOSO)."""
        values = [h.metrics["auc"].mean for h in self.loso.values()]
        return min(values) if values else float("nan")

    def mean_site_brier(self) -> float:
        """The mean held-out-site Brier score (NaN without LOSO)."""
        values = [h.metrics["brier"].mean for h in self.loso.values()]
        return float(np.mean(values)) if values else float("nan")


OnFold = Callable[[], None]


def evaluate(
    family: Family,
    params: Mapping[str, Any] | None,
    x: np.ndarray,
    y: np.ndarray,
    *,
    cv: CVSettings = CVSettings(),
    on_fold: OnFold | None = None,
    site: np.ndarray | None = None,
) -> CVResult:
    """Cross-validate ``build_pipeline(family, params, cv.seed)`` on (x, y).

    ``x`` is the contract's float32 matrix [N, 13], ``y`` the 0/1 target,
    ``site`` each row's site (folds stratified by it; LOSO when it names two
    or more); ``on_fold`` is called after each fold (progress bars). Same
    inputs, same result: folds and estimators are seeded from ``cv.seed``.
    """
    estimator = build_pipeline(family, params, seed=cv.seed)
    effective = {**DEFAULTS[family], **OPTIONS, **(params or {})}
    return evaluate_estimator(
        estimator, x, y, cv=cv, on_fold=on_fold, name=family, params=effective, site=site
    )


def evaluate_estimator(
    estimator: BaseEstimator,
    x: np.ndarray,
    y: np.ndarray,
    *,
    cv: CVSettings = CVSettings(),
    on_fold: OnFold | None = None,
    name: str = "",
    params: dict[str, Any] | None = None,
    threshold: float | None = None,
    site: np.ndarray | None = None,
) -> CVResult:
    """:func:`evaluate` for any unfitted classifier (baselines use it).

    ``threshold`` fixes the decision threshold instead of :data:`THRESHOLD_RULE`.
    """
    splitter = RepeatedStratifiedKFold(
        n_splits=cv.folds, n_repeats=cv.repeats, random_state=cv.seed
    )
    strata = y if site is None else np.char.add(np.asarray(site, dtype=str), y.astype(str))
    pairs = splitter.split(x, strata)
    jobs = (delayed(_fit_predict)(estimator, x, y, tr, te) for tr, te in pairs)
    folds = []
    for test_index, probability in Parallel(n_jobs=cv.n_jobs, return_as="generator")(jobs):
        folds.append((test_index, probability))
        if on_fold is not None:
            on_fold()
    label = name or type(estimator).__name__
    result = _summarise(folds, y, cv, label, params or {}, fixed_threshold=threshold)
    if site is None:
        return result
    held = evaluate_loso(estimator, x, y, site, resamples=cv.bootstrap, seed=cv.seed)
    return replace(result, loso=held)


def _fit_predict(
    estimator: BaseEstimator, x: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    with threadpool_limits(1):  # folds run in parallel; OpenMP threads would fight them
        model = clone(estimator).fit(x[train], y[train])
        return test, model.predict_proba(x[test])[:, 1]


def _summarise(
    folds: list[tuple[np.ndarray, np.ndarray]],
    y: np.ndarray,
    cv: CVSettings,
    name: str,
    params: dict[str, Any],
    *,
    fixed_threshold: float | None,
) -> CVResult:
    total = np.zeros(len(y))
    for test_index, probability in folds:
        total[test_index] += probability
    oof = total / cv.repeats
    threshold = youden_threshold(y, oof) if fixed_threshold is None else fixed_threshold
    fold_scores = [scores(y[te], p, threshold) for te, p in folds]
    test_fraction = 1 / (cv.folds - 1)
    metrics = {m: estimate([s[m] for s in fold_scores], test_fraction) for m in METRICS}
    return CVResult(name, params, metrics, threshold, oof, fold_scores, cv)

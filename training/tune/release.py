"""After a search: pick the best trial, publish it as ``challenger``, maybe promote it.

The best configuration (highest CV ROC-AUC, ties to the lower Brier score,
as ``make train``) is re-evaluated and refitted by
:func:`training.publish.publish` into the tune run, registered with alias
``challenger`` and exported to ``model_dir``. Its exported ``model/`` then
goes through the behavioural checks and the champion rule
(:mod:`training.champion`); when promoted, the registry alias moves and
the model is copied to ``champion_dir`` (``artifacts/model``, what serving,
``make demo`` and the upload use), so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import numpy as np
from ray import tune
from rich.console import Console

from training.behaviour import check_model_dir
from training.champion import CHALLENGER, Decision, PromotionRule, Scores, apply
from training.evaluate import CVResult, evaluate
from training.export import copy_model_dir
from training.external import load_external
from training.publish import Published, publish
from training.sites import Pooled, external_sites
from training.tracking import MODEL_NAME
from training.train import run_params
from training.tune.space import trial_params
from training.tune.trial import METRIC

if TYPE_CHECKING:
    from training.tune.search import TuneSettings


@dataclass(frozen=True)
class Release:
    """The published challenger, the champion rule's verdict, and where the
    champion's ``model/`` was exported (None: not promoted, left alone)."""

    best: CVResult
    published: Published
    decision: Decision
    champion_dir: Path | None


def best(results: list[tune.Result]) -> tune.Result | None:
    """Highest CV ROC-AUC; ties go to the lower Brier score (as ``make train``)."""
    done = [r for r in results if r.error is None and r.metrics and METRIC in r.metrics]
    return max(done, key=_rank) if done else None


def _rank(result: tune.Result) -> tuple[float, float]:
    metrics = result.metrics or {}
    return float(metrics[METRIC]), -float(metrics.get("brier", 1.0))


def release(
    winner: tune.Result | None,
    data: Pooled,
    settings: TuneSettings,
    console: Console,
) -> Release:
    """Publish ``winner`` as challenger into the active run, then apply the champion rule."""
    if winner is None:
        raise RuntimeError("no trial finished: nothing to publish")
    family, params = trial_params(winner.config or {})
    params = {**params, "calibration": settings.calibration}
    x, y = data.x, data.y
    mlflow.log_params(run_params(data))
    with console.status(f"re-evaluating and publishing the best {family} as '{CHALLENGER}'"):
        result = evaluate(family, params, x, y, cv=settings.cv, site=data.site)
        outside = external_sites(settings.external_sites, data.sites)
        external = load_external(outside, settings.source, settings.cache_dir)
        published = publish(
            result,
            x,
            y,
            out_dir=settings.model_dir,
            alias=CHALLENGER,
            external=external,
            seed=settings.cv.seed,
            train_sites=data.sites,
        )
    sites = ",".join(data.sites)
    decision = _decide(result, published, x, y, sites, rule=settings.rule, console=console)
    mlflow.set_tags({"promoted": str(decision.promote).lower(), "promotion": decision.reason})
    exported = _export_champion(published, settings.champion_dir) if decision.promote else None
    if exported is not None:
        line = f"exported champion v{published.model_version} to {exported}"
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    return Release(result, published, decision, exported)


def _decide(
    result: CVResult,
    published: Published,
    x: np.ndarray,
    y: np.ndarray,
    sites: str,
    *,
    rule: PromotionRule,
    console: Console,
) -> Decision:
    """Behavioural checks of the exported challenger, then the champion rule."""
    failures = check_model_dir(published.model_dir, x, y)
    for failure in failures:
        console.print(f"behavioural check failed: {failure}", markup=False, highlight=False)
    scores = Scores.of(result, sites)
    return apply(MODEL_NAME, published.model_version, scores, rule, failures)


def _export_champion(published: Published, champion_dir: Path) -> Path:
    if champion_dir.resolve() != published.model_dir.resolve():
        copy_model_dir(published.model_dir, champion_dir)
    return champion_dir

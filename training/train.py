"""``make train``: cross-validate every family, publish the champion.

One MLflow parent run ``train`` holds a child run per evaluated
configuration (the model families and the two baselines) and, on itself, the
champion's params, metrics, plots, registered model and ``model/`` export.

The new version always gets the alias (``champion`` by default), whatever
the current champion scored: ``make train`` is the explicit "this is the
model" command, unlike ``make tune``, whose challenger must pass the champion
rule. When it moves ``champion`` off an existing version it prints both
versions' CV scores and protocols (:func:`replaced`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from training.champion import CHAMPION, Scores, champion_scores
from training.data import DEFAULT_CACHE, load_site
from training.evaluate import CVResult, CVSettings, evaluate, evaluate_estimator
from training.external import EXTERNAL_SITES, load_external
from training.pipelines import BASELINE_THRESHOLDS, BASELINES, FAMILIES, Family, build_baseline
from training.publish import Published, publish
from training.tracking import (
    MODEL_NAME,
    TrackingSettings,
    configure,
    log_evaluation,
    log_site_datasets,
)


@dataclass(frozen=True)
class TrainSettings:
    """Everything ``python -m training train`` needs; built by the CLI.

    ``params`` overrides a family's default hyper-parameters
    (``{"random_forest": {"n_estimators": 50}}``); ``external_sites`` are
    scored after training (absent ones reported as absent).
    """

    source: str | None = None
    cache_dir: Path = DEFAULT_CACHE
    model_dir: Path = Path("artifacts/model")
    report_dir: Path = Path("reports/training")
    families: tuple[Family, ...] = FAMILIES
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    cv: CVSettings = field(default_factory=CVSettings)
    external_sites: tuple[str, ...] = EXTERNAL_SITES
    alias: str = "champion"
    tracking: TrackingSettings = field(default_factory=TrackingSettings)


@dataclass(frozen=True)
class TrainOutcome:
    """The evaluated families and baselines, the champion and what was published."""

    results: list[CVResult]
    baselines: list[CVResult]
    champion: CVResult
    published: Published
    seconds: float


def run(settings: TrainSettings, console: Console) -> TrainOutcome:
    started = time.perf_counter()
    x, y = load_site("cleveland", settings.source, settings.cache_dir)
    external = load_external(settings.external_sites, settings.source, settings.cache_dir)
    configure(settings.tracking)
    with mlflow.start_run(run_name="train", tags={"command": "train"}):
        log_site_datasets({"cleveland": (x, y)}, settings.source, "training")
        log_site_datasets(external, settings.source, "evaluation")
        results, baselines = _evaluate_all(settings, x, y, console)
        champion = choose_champion(results)
        console.print(
            f"champion: [bold]{champion.family}[/] (CV ROC-AUC {champion.metrics['roc_auc']})"
        )
        previous = champion_scores(MODEL_NAME) if settings.alias == CHAMPION else None
        with console.status("fitting, logging and registering the champion"):
            published = publish(
                champion,
                x,
                y,
                out_dir=settings.model_dir,
                alias=settings.alias,
                external=external,
                seed=settings.cv.seed,
            )
        if previous is not None and previous[0] != published.model_version:
            line = replaced(previous, published.model_version, Scores.of(champion))
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    return TrainOutcome(results, baselines, champion, published, time.perf_counter() - started)


def replaced(previous: tuple[str, Scores], version: str, scores: Scores) -> str:
    """The line ``make train`` prints when it moves ``champion`` off an existing version."""
    return (
        f"champion: v{version} ({scores.describe()}) replaces v{previous[0]}"
        f" ({previous[1].describe()}); make train always re-sets champion, without"
        " the make tune rule (--alias NAME registers without it)"
    )


def choose_champion(results: list[CVResult]) -> CVResult:
    """Highest mean CV ROC-AUC; ties go to the lower Brier score."""
    return max(results, key=lambda r: (r.metrics["roc_auc"].mean, -r.metrics["brier"].mean))


def _evaluate_all(
    settings: TrainSettings, x: np.ndarray, y: np.ndarray, console: Console
) -> tuple[list[CVResult], list[CVResult]]:
    cv = settings.cv
    with _progress(console) as progress:

        def step(name: str) -> Callable[[], None]:
            task = progress.add_task(name, total=cv.total)
            return lambda: progress.advance(task)

        results = [
            evaluate(f, settings.params.get(f), x, y, cv=cv, on_fold=step(f))
            for f in settings.families
        ]
        baselines = [
            evaluate_estimator(
                build_baseline(b),
                x,
                y,
                cv=cv,
                on_fold=step(b),
                name=b,
                threshold=BASELINE_THRESHOLDS.get(b),
            )
            for b in BASELINES
        ]
    for result in results:
        log_evaluation(result, tags={"baseline": "false"})
    for result in baselines:
        log_evaluation(result, tags={"baseline": "true"})
    return results, baselines


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<20}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("folds"),
        TimeElapsedColumn(),
        console=console,
    )

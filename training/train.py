"""``make train``: evaluate every candidate, publish the champion.

The training sites (``--train-sites``, default Cleveland + Hungarian) are
pooled. A candidate is a model family with a missing-value handling
(``--missing``: indicators or dropping the site-specific tests), calibrated
as ``--calibration`` says; each is scored by repeated CV and
leave-one-site-out, and :mod:`training.selection` picks the champion.

One MLflow parent run ``train`` holds a child run per evaluated
configuration (the candidates and the two baselines) and, on itself, the
champion's params, metrics, plots, registered model and ``model/`` export,
with the champion rule and the training sites as params.

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
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from training.champion import CHAMPION, Scores, champion_scores
from training.data import DEFAULT_CACHE
from training.evaluate import CVResult, CVSettings, evaluate, evaluate_estimator
from training.external import EXTERNAL_SITES, load_external
from training.pipelines import (
    BASELINE_THRESHOLDS,
    BASELINES,
    FAMILIES,
    Calibration,
    Family,
    Missing,
    build_baseline,
)
from training.publish import Published, publish
from training.selection import CHAMPION_RULE, choose_champion
from training.sites import DEFAULT_TRAIN_SITES, Pooled, external_sites, load_training
from training.tracking import (
    MODEL_NAME,
    TrackingSettings,
    configure,
    log_evaluation,
    log_site_datasets,
)

#: The missing-value handlings ``make train`` compares (``--missing``).
DEFAULT_MISSING: tuple[Missing, ...] = ("indicator", "drop")


@dataclass(frozen=True)
class TrainSettings:
    """Everything ``python -m training train`` needs; built by the CLI.

    ``params`` overrides a family's default hyper-parameters
    (``{"random_forest": {"n_estimators": 50}}``); ``external_sites`` are
    scored after training (absent ones reported as absent; training sites
    are never external); ``missing`` x ``families`` are the candidates.
    """

    source: str | None = None
    cache_dir: Path = DEFAULT_CACHE
    model_dir: Path = Path("artifacts/model")
    report_dir: Path = Path("reports/training")
    train_sites: tuple[str, ...] = DEFAULT_TRAIN_SITES
    families: tuple[Family, ...] = FAMILIES
    missing: tuple[Missing, ...] = DEFAULT_MISSING
    calibration: Calibration = "sigmoid"
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    cv: CVSettings = field(default_factory=CVSettings)
    external_sites: tuple[str, ...] = EXTERNAL_SITES
    alias: str = "champion"
    tracking: TrackingSettings = field(default_factory=TrackingSettings)


@dataclass(frozen=True)
class TrainOutcome:
    """The evaluated candidates and baselines, the champion and what was published."""

    results: list[CVResult]
    baselines: list[CVResult]
    champion: CVResult
    published: Published
    seconds: float
    data: Pooled | None = None


def run(settings: TrainSettings, console: Console) -> TrainOutcome:
    started = time.perf_counter()
    data = load_training(settings.train_sites, settings.source, settings.cache_dir)
    outside = external_sites(settings.external_sites, settings.train_sites)
    external = load_external(outside, settings.source, settings.cache_dir)
    configure(settings.tracking)
    with mlflow.start_run(run_name="train", tags={"command": "train"}):
        mlflow.log_params(run_params(data))
        log_site_datasets(data.by_site(), settings.source, "training")
        log_site_datasets(external, settings.source, "evaluation")
        results, baselines = _evaluate_all(settings, data, console)
        champion = choose_champion(results)
        console.print(champion_line(champion), markup=False, highlight=False)
        console.print(f"champion rule: {CHAMPION_RULE}", markup=False, highlight=False)
        previous = champion_scores(MODEL_NAME) if settings.alias == CHAMPION else None
        with console.status("fitting, logging and registering the champion"):
            published = publish(
                champion,
                data.x,
                data.y,
                out_dir=settings.model_dir,
                alias=settings.alias,
                external=external,
                seed=settings.cv.seed,
                train_sites=data.sites,
            )
        if previous is not None and previous[0] != published.model_version:
            scores = Scores.of(champion, ",".join(data.sites))
            line = replaced(previous, published.model_version, scores)
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    seconds = time.perf_counter() - started
    return TrainOutcome(results, baselines, champion, published, seconds, data)


def run_params(data: Pooled) -> dict[str, str]:
    """The run's params that say what it was trained on and how the champion was chosen."""
    return {
        "train_sites": ",".join(data.sites),
        "train_rows": ",".join(f"{s}={data.rows(s)}" for s in data.sites),
        "champion_rule": CHAMPION_RULE[:500],
    }


def champion_line(champion: CVResult) -> str:
    line = f"champion: {champion.label} (CV ROC-AUC {champion.metrics['roc_auc']}"
    for site, held in champion.loso.items():
        line += f"; {site} held out: ROC-AUC {held.metrics['auc']}"
    return line + ")"


def replaced(previous: tuple[str, Scores], version: str, scores: Scores) -> str:
    """The line ``make train`` prints when it moves ``champion`` off an existing version."""
    return (
        f"champion: v{version} ({scores.describe()}) replaces v{previous[0]}"
        f" ({previous[1].describe()}); make train always re-sets champion, without"
        " the make tune rule (--alias NAME registers without it)"
    )


def candidates(settings: TrainSettings) -> list[tuple[Family, dict[str, Any]]]:
    """(family, params) of every candidate: each family with each missing-value handling."""
    return [
        (
            family,
            {
                **settings.params.get(family, {}),
                "missing": missing,
                "calibration": settings.calibration,
            },
        )
        for family in settings.families
        for missing in settings.missing
    ]


def _evaluate_all(
    settings: TrainSettings, data: Pooled, console: Console
) -> tuple[list[CVResult], list[CVResult]]:
    cv = settings.cv
    x, y, site = data.x, data.y, data.site
    with _progress(console) as progress:

        def step(name: str) -> Callable[[], None]:
            task = progress.add_task(escape(name), total=cv.total)
            return lambda: progress.advance(task)

        results = [
            evaluate(f, p, x, y, cv=cv, on_fold=step(f"{f} [{p['missing']}]"), site=site)
            for f, p in candidates(settings)
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
                site=site,
            )
            for b in BASELINES
        ]
    for result in results:
        log_evaluation(result, run_name=result.label, tags={"baseline": "false"})
    for result in baselines:
        log_evaluation(result, tags={"baseline": "true"})
    return results, baselines


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<32}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("folds"),
        TimeElapsedColumn(),
        console=console,
    )

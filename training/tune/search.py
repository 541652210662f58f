"""``make tune``: a Ray Tune search over the model families, then publish the best.

One MLflow parent run ``tune`` (tagged with the Ray experiment's name) holds
a child run per trial (:mod:`training.tune.trial`) and, on itself, the best
configuration refitted by :func:`training.publish.publish` and registered
with alias ``challenger``; :mod:`training.tune.release` then checks its
behaviour and applies the champion rule of :mod:`training.champion`
(exporting it to ``champion_dir`` when promoted). On a cluster,
:mod:`training.ray_cluster.reach` first makes sure the trials can reach the MLflow
store. Search: Optuna's TPE through Ray's
``OptunaSearch`` over the conditional space of :mod:`training.tune.space`,
on the pooled training sites (each trial also scored leave-one-site-out). An interrupted search
(Ctrl-C, a lost driver) is resumed from Ray's experiment checkpoint with
``--resume``: finished trials are kept, the rest are run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
from ray import tune
from ray.tune.search import ConcurrencyLimiter
from ray.tune.search.optuna import OptunaSearch
from rich.console import Console

from training.champion import PromotionRule
from training.data import DEFAULT_CACHE
from training.evaluate import CVSettings
from training.external import EXTERNAL_SITES
from training.pipelines import FAMILIES, Calibration, Family
from training.ray_cluster import reach
from training.ray_cluster.session import RaySettings, node_addresses, session
from training.sites import DEFAULT_TRAIN_SITES, Pooled, load_training
from training.tracking import TrackingSettings, configure
from training.tune import release, runs
from training.tune.release import Release
from training.tune.space import define_by_run
from training.tune.trial import METRIC, MODE, TrialSetup, run_trial


@dataclass(frozen=True)
class TuneSettings:
    """Everything ``python -m training tune`` needs; built by the CLI.

    ``num_samples``/``time_budget_s`` are the budget (0 s = no time limit);
    ``max_concurrent`` caps parallel trials (None = as many as CPUs allow);
    ``model_dir`` receives the challenger's ``model/``, ``champion_dir`` a
    copy of it when it is promoted (the folder serving and upload read);
    ``storage`` holds Ray's experiment checkpoints (a folder or ``s3://``);
    ``name`` names the experiment (None: a new timestamped one, or with
    ``resume`` the latest under ``storage``).
    """

    source: str | None = None
    cache_dir: Path = DEFAULT_CACHE
    model_dir: Path = Path("artifacts/challenger")
    champion_dir: Path = Path("artifacts/model")
    train_sites: tuple[str, ...] = DEFAULT_TRAIN_SITES
    families: tuple[Family, ...] = FAMILIES
    calibration: Calibration = "sigmoid"
    cv: CVSettings = field(default_factory=CVSettings)
    num_samples: int = 20
    time_budget_s: float = 0.0
    max_concurrent: int | None = None
    seed: int = 0
    storage: str = "artifacts/ray"
    name: str | None = None
    resume: bool = False
    external_sites: tuple[str, ...] = EXTERNAL_SITES
    rule: PromotionRule = field(default_factory=PromotionRule)
    tracking: TrackingSettings = field(default_factory=TrackingSettings)
    ray: RaySettings = field(default_factory=RaySettings)


@dataclass(frozen=True)
class TuneOutcome:
    experiment_path: str
    trials: int
    release: Release
    seconds: float


class TuneInterruptedError(RuntimeError):
    """The search stopped before its budget was spent; ``--resume`` continues it."""


def run(settings: TuneSettings, console: Console) -> TuneOutcome:
    started = time.perf_counter()
    data = load_training(settings.train_sites, settings.source, settings.cache_dir)
    tracking = runs.absolute(settings.tracking)
    reach.check_address(settings.ray.address, reach.local_only(tracking))
    with session(settings.ray) as where:
        reach.check_nodes(where, node_addresses(), reach.local_only(tracking))
        experiment_id = configure(tracking)
        name = runs.experiment_name(settings)
        parent, budget = runs.parent_run(name, settings, experiment_id)
        console.print(f"tuning on {where}: experiment [bold]{name}[/] in {settings.storage}")
        setup = TrialSetup(
            tracking.tracking_uri, experiment_id, parent, settings.cv, settings.calibration
        )
        grid = _tuner(settings, name, setup, data).fit()
    _check_complete(grid, budget, name)
    with mlflow.start_run(run_id=parent):
        released = release.release(release.best(_results(grid)), data, settings, console)
    return TuneOutcome(grid.experiment_path, len(grid), released, time.perf_counter() - started)


def _tuner(settings: TuneSettings, name: str, setup: TrialSetup, data: Pooled) -> tune.Tuner:
    trainable = tune.with_parameters(run_trial, setup=setup, x=data.x, y=data.y, site=data.site)
    path = runs.experiment_path(settings.storage, name)
    if settings.resume:
        return tune.Tuner.restore(path, trainable, resume_errored=True)
    searcher = OptunaSearch(
        space=define_by_run(settings.families), metric=METRIC, mode=MODE, seed=settings.seed
    )
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            num_samples=settings.num_samples,
            time_budget_s=settings.time_budget_s or None,
            search_alg=ConcurrencyLimiter(searcher, settings.max_concurrent)
            if settings.max_concurrent
            else searcher,
        ),
        run_config=tune.RunConfig(name=name, storage_path=runs.storage_uri(settings.storage)),
    )


def _results(grid: tune.ResultGrid) -> list[tune.Result]:
    return [grid[i] for i in range(len(grid))]


def _check_complete(grid: tune.ResultGrid, budget: runs.Budget, name: str) -> None:
    """Raise :class:`TuneInterruptedError` when trials are missing or unfinished."""
    finished = [r for r in _results(grid) if r.metrics and METRIC in r.metrics]
    if len(grid.errors) == len(grid) and len(grid):
        raise RuntimeError(f"every trial failed; first error: {grid.errors[0]}")
    if budget.incomplete(len(finished), len(grid), len(grid.errors)):
        raise TuneInterruptedError(
            f"search {name} stopped after {len(finished)} of {budget.num_samples} trials;"
            f" resume it with --resume --name {name} (make tune RESUME=1)"
        )

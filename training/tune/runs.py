"""Naming, storage and MLflow bookkeeping of a tune experiment (fresh or resumed).

A search is a Ray experiment ``<storage>/<name>`` plus one MLflow parent run
tagged ``ray_experiment=<name>`` whose params record the budget. Resuming
finds both again by the name (default: the newest experiment in a local
``storage``), so the resumed trials join the same parent run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
from mlflow.tracking import MlflowClient
from ray import tune

from training.tracking import TrackingSettings, cv_params

if TYPE_CHECKING:
    from training.tune.search import TuneSettings

EXPERIMENT_TAG = "ray_experiment"
NAME_PREFIX = "heart-tune-"


@dataclass(frozen=True)
class Budget:
    """The search's budget as recorded when it started."""

    num_samples: int
    time_budget_s: float

    def incomplete(self, finished: int, total: int, errors: int) -> bool:
        """True when a trial did not finish, or (no time limit) trials are missing."""
        if total - errors > finished:
            return True
        return self.time_budget_s <= 0 and total < self.num_samples


def absolute(tracking: TrackingSettings) -> TrackingSettings:
    """An embedded SQLite URI made absolute: trials run in other working directories."""
    prefix = "sqlite:///"
    uri = tracking.tracking_uri
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        uri = prefix + str(Path(uri.removeprefix(prefix)).resolve())
    return replace(tracking, tracking_uri=uri)


def storage_uri(storage: str) -> str:
    """A local folder as an absolute path (Ray requires one); URIs unchanged."""
    return storage if "://" in storage else str(Path(storage).resolve())


def experiment_path(storage: str, name: str) -> str:
    return f"{storage_uri(storage).rstrip('/')}/{name}"


def experiment_name(settings: TuneSettings) -> str:
    """``--name``; else a new timestamped name, or with ``--resume`` the newest one."""
    if settings.name:
        return settings.name
    if not settings.resume:
        return NAME_PREFIX + time.strftime("%Y%m%d-%H%M%S")
    if "://" in settings.storage:
        raise ValueError(f"--resume with storage {settings.storage} needs --name")
    folder = Path(settings.storage)
    found = sorted(p for p in folder.glob(NAME_PREFIX + "*") if tune.Tuner.can_restore(p))
    if not found:
        raise ValueError(f"nothing to resume: no tune experiment in {folder}")
    return found[-1].name


def parent_run(name: str, settings: TuneSettings, experiment_id: str) -> tuple[str, Budget]:
    """The parent run of experiment ``name`` (created unless resuming) and its budget."""
    if settings.resume:
        return _find(name, settings.storage, experiment_id)
    budget = Budget(settings.num_samples, settings.time_budget_s)
    with mlflow.start_run(run_name="tune", tags={"command": "tune", EXPERIMENT_TAG: name}) as run:
        mlflow.log_params(
            {
                "num_samples": budget.num_samples,
                "time_budget_s": budget.time_budget_s,
                **cv_params(settings.cv),
                "seed": settings.seed,
                "families": ",".join(settings.families),
                "ray_storage": settings.storage,
            }
        )
    return str(run.info.run_id), budget


def _find(name: str, storage: str, experiment_id: str) -> tuple[str, Budget]:
    if not tune.Tuner.can_restore(experiment_path(storage, name)):
        raise ValueError(f"nothing to resume: no tune experiment {name} in {storage}")
    runs = MlflowClient().search_runs(
        [experiment_id],
        filter_string=f"tags.{EXPERIMENT_TAG} = '{name}'",
    )
    if not runs:
        raise ValueError(f"no MLflow run tagged {EXPERIMENT_TAG}={name} to resume into")
    params = runs[0].data.params
    return runs[0].info.run_id, Budget(int(params["num_samples"]), float(params["time_budget_s"]))

"""MLflow set-up and the logging helpers shared by train and tune.

Embedded default: a SQLite tracking store (``sqlite:///mlflow.db``) with a
local artifact folder (``mlruns/``), no server. With ``MLFLOW_TRACKING_URI``
pointing at a server, MLflow's own variables (``MLFLOW_S3_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``) decide where artifacts go.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow

from training.evaluate import CVResult, CVSettings

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
DEFAULT_EXPERIMENT = "heart"
#: The registered model name every version of the heart model lives under.
MODEL_NAME = "heart"


@dataclass(frozen=True)
class TrackingSettings:
    """Where runs go.

    ``tracking_uri``: ``MLFLOW_TRACKING_URI`` or the embedded SQLite store.
    ``artifact_root``: in an embedded store, a *new* experiment keeps its
    artifacts in ``artifact_root/<experiment>`` (a server decides its own).
    """

    tracking_uri: str = DEFAULT_TRACKING_URI
    experiment: str = DEFAULT_EXPERIMENT
    artifact_root: Path = Path("mlruns")

    @classmethod
    def from_env(cls, experiment: str = DEFAULT_EXPERIMENT) -> TrackingSettings:
        uri = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
        return cls(tracking_uri=uri, experiment=experiment)

    @property
    def embedded(self) -> bool:
        return self.tracking_uri.startswith(("sqlite:", "file:")) or "://" not in self.tracking_uri


def configure(settings: TrackingSettings) -> str:
    """Point MLflow at ``settings`` and return the experiment id (created if new)."""
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    experiment = mlflow.get_experiment_by_name(settings.experiment)
    if experiment is not None:
        experiment_id = str(experiment.experiment_id)
    else:
        folder = settings.artifact_root / settings.experiment
        location = folder.resolve().as_uri() if settings.embedded else None
        experiment_id = mlflow.create_experiment(settings.experiment, location)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def log_evaluation(
    result: CVResult,
    run_name: str | None = None,
    parent_run_id: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> str:
    """Log one evaluated configuration as its own (child) run; returns its run id.

    The run is a child of ``parent_run_id``, else of the active run, if any.
    Ray Tune trials pass the tune run's id since they run in other processes.
    """
    nested = parent_run_id is None and mlflow.active_run() is not None
    with mlflow.start_run(
        run_name=run_name or result.family,
        nested=nested,
        parent_run_id=parent_run_id,
        tags={"family": result.family, **(tags or {})},
    ) as run:
        mlflow.log_params(flat_params(result.family, result.params))
        mlflow.log_metrics(result.flat("cv_"))
        return str(run.info.run_id)


def flat_params(family: str, params: Mapping[str, Any]) -> dict[str, Any]:
    return {"family": family, **{f"{family}.{k}": v for k, v in params.items()}}


#: The params that record how a configuration was cross-validated.
CV_PARAMS = ("cv_folds", "cv_repeats", "cv_seed")


def cv_params(cv: CVSettings) -> dict[str, int]:
    """The CV protocol as params: runs are comparable only when these agree."""
    return dict(zip(CV_PARAMS, (cv.folds, cv.repeats, cv.seed), strict=True))

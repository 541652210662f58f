"""One Ray Tune trial: ``training.evaluate.evaluate`` on the sampled config.

:func:`run_trial` runs in a Ray worker process (locally or on a cluster). It
evaluates the trial's (family, params) with the very function ``make train``
uses, logs the result as an MLflow child run of the tune run, and reports
the cross-validated metrics to Tune. Nothing here is a copy of training code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mlflow
import numpy as np
from mlflow.tracking import MlflowClient
from ray import tune

from training.evaluate import CVSettings, evaluate
from training.tracking import log_evaluation
from training.tune.space import trial_params

#: The metric Tune optimises (mean CV ROC-AUC, higher is better).
METRIC = "roc_auc"
MODE = "max"


@dataclass(frozen=True)
class TrialSetup:
    """What every trial needs besides its config; pickled to the workers.

    ``tracking_uri`` must be reachable from the workers (an absolute SQLite
    path locally, a tracking server on a cluster); ``parent_run_id`` is the
    tune run that each trial's child run hangs under; ``calibration`` is
    applied to every trial (``--calibration``).
    """

    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    cv: CVSettings
    calibration: str = "sigmoid"


def run_trial(
    config: dict[str, Any],
    *,
    setup: TrialSetup,
    x: np.ndarray,
    y: np.ndarray,
    site: np.ndarray | None = None,
) -> None:
    family, params = trial_params(config)
    params = {**params, "calibration": setup.calibration}
    result = evaluate(family, params, x, y, cv=setup.cv, site=site)
    trial_id = tune.get_context().get_trial_id()
    mlflow.set_tracking_uri(setup.tracking_uri)
    mlflow.set_experiment(experiment_id=setup.experiment_id)
    _forget_earlier_attempts(setup, trial_id)
    run_id = log_evaluation(
        result,
        run_name=f"trial-{trial_id}",
        parent_run_id=setup.parent_run_id,
        tags={"ray_trial_id": trial_id, "command": "tune"},
    )
    means = {name: estimate.mean for name, estimate in result.metrics.items()}
    loso = {f"loso_{s}_auc": h.metrics["auc"].mean for s, h in result.loso.items()}
    report = {**means, **loso, "threshold": result.threshold, "mlflow_run_id": run_id}
    tune.report(report)


def _forget_earlier_attempts(setup: TrialSetup, trial_id: str) -> None:
    """Delete this trial's child run from an attempt cut short (an interrupted
    search re-runs its unfinished trials on resume): one child run per trial."""
    client = MlflowClient()
    earlier = client.search_runs(
        [setup.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{setup.parent_run_id}'"
        f" and tags.ray_trial_id = '{trial_id}'",
    )
    for run in earlier:
        client.delete_run(run.info.run_id)

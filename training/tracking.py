"""MLflow set-up and the logging helpers shared by train and tune.

Embedded default: a SQLite tracking store (``sqlite:///mlflow.db``) with a
local artifact folder (``mlruns/``), no server. With ``MLFLOW_TRACKING_URI``
pointing at a server, MLflow's own variables (``MLFLOW_S3_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``) decide where artifacts go.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import mlflow.data.pandas_dataset
import numpy as np
import pandas as pd

from predictor.manifest import Manifest
from training.data import SITES, resolve_source
from training.evaluate import CVResult, CVSettings
from transformer.contract import FEATURE_NAMES

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
DEFAULT_EXPERIMENT = "heart"
#: The registered model name every version of the heart model lives under.
MODEL_NAME = "heart"
#: The tag MLflow shows as a run's description.
RUN_DESCRIPTION_TAG = "mlflow.note.content"
#: The registered model's description (set when it has none).
MODEL_DESCRIPTION = (
    "Heart-disease risk from the 13 raw UCI fields of the feature contract."
    " mlflow.pyfunc.load_model('models:/heart@champion').predict(df) takes the 13 named"
    " float64 columns (NaN = missing) and returns risk (P(disease)) and label at the"
    " version's threshold, as the KServe transformer does; mlflow.sklearn.load_model"
    " returns the scikit-learn Pipeline (predict_proba on the float32 [N, 13] matrix)."
)


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
        mlflow.log_params(cv_params(result.cv))
        mlflow.log_metrics(result.flat("cv_"))
        mlflow.set_tag(RUN_DESCRIPTION_TAG, f"Cross-validation of {result.family}: {_cv(result)}.")
        return str(run.info.run_id)


def flat_params(family: str, params: Mapping[str, Any]) -> dict[str, Any]:
    return {"family": family, **{f"{family}.{k}": v for k, v in params.items()}}


#: The params that record how a configuration was cross-validated.
CV_PARAMS = ("cv_folds", "cv_repeats", "cv_seed")


def cv_params(cv: CVSettings) -> dict[str, int]:
    """The CV protocol as params: runs are comparable only when these agree."""
    return dict(zip(CV_PARAMS, (cv.folds, cv.repeats, cv.seed), strict=True))


def describe_protocol(cv: CVSettings) -> str:
    return f"repeated stratified CV, {cv.folds} folds x {cv.repeats} repeats, seed {cv.seed}"


def _cv(result: CVResult) -> str:
    auc, brier = result.metrics["roc_auc"], result.metrics["brier"]
    return (
        f"ROC-AUC {auc.mean:.3f} [{auc.low:.3f}, {auc.high:.3f}], Brier {brier.mean:.3f}"
        f" ({describe_protocol(result.cv)})"
    )


def describe_version(manifest: Manifest, result: CVResult, alias: str) -> str:
    """A model version's description: what it is, how it scored, how to load it."""
    return (
        f"{manifest.model_family or result.family} Pipeline, published as {alias!r}: {_cv(result)};"
        f" decision threshold {manifest.threshold:.3f} ({manifest.threshold_rule or 'no rule'})."
        " pyfunc: 13 named float64 columns -> risk, label; sklearn flavour: predict_proba."
    )


def version_tags(manifest: Manifest, cv: CVSettings) -> dict[str, str]:
    """Registry tags of a model version: contract, threshold, digests, CV protocol, LOSO.

    LOSO scores come from the manifest's ``loso`` field (held-out site ->
    ``{"rows", metric: {"value", "ci_low", "ci_high"}}``) as
    ``loso_<site>_<metric>`` (the value) and ``loso_<site>_rows``.
    """
    tags = {
        "contract_hash": manifest.contract_hash,
        "threshold": f"{manifest.threshold:.6g}",
        "threshold_rule": manifest.threshold_rule,
        "model_family": manifest.model_family,
        "sha256_model_joblib": manifest.sha256,
        "sha256_model_onnx": manifest.onnx_sha256 or f"none ({manifest.onnx_error or 'absent'})",
        "cv_protocol": describe_protocol(cv),
        "train_sites": ",".join(manifest.train_sites),
        **{k: str(v) for k, v in cv_params(cv).items()},
        **_metric_tags("cv", manifest.metrics),
    }
    for site, record in manifest.loso.items():
        values = {k: v["value"] if isinstance(v, Mapping) else v for k, v in record.items()}
        tags.update(_metric_tags(f"loso_{site}", values))
    return {k: v for k, v in tags.items() if v}


def _metric_tags(prefix: str, metrics: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for name, value in metrics.items():
        if name.endswith(("_ci_low", "_ci_high")) or isinstance(value, bool):
            continue
        if isinstance(value, int):
            out[f"{prefix}_{name}"] = str(value)
        elif isinstance(value, float) and math.isfinite(value):
            out[f"{prefix}_{name}"] = f"{value:.4f}"
    return out


Dataset = tuple[np.ndarray, np.ndarray]


def log_site_datasets(
    datasets: Mapping[str, Dataset | None], source: str | None, context: str
) -> None:
    """One MLflow dataset input per present site (name, source file, digest, rows).

    The digest is the start of the site file's published sha256 (the bytes
    the rows were parsed from, verified on download); ``context`` is
    ``training`` or ``evaluation``.
    """
    base = resolve_source(source)
    for site, data in datasets.items():
        if data is None:
            continue
        file_name, sha256 = SITES[site]
        frame = pd.DataFrame(data[0].astype(np.float64), columns=list(FEATURE_NAMES))
        frame["disease"] = data[1]
        dataset = mlflow.data.pandas_dataset.from_pandas(
            frame,
            source=_file_uri(base, file_name),
            targets="disease",
            name=site,
            digest=sha256[:16],
        )
        mlflow.log_input(dataset, context=context, tags={"site": site})


def _file_uri(base: str, file_name: str) -> str:
    if "://" in base:
        return base.rstrip("/") + "/" + file_name
    return (Path(base).resolve() / file_name).as_uri()

"""Fit the final model, log it to MLflow, register it and export ``model/``.

:func:`publish` is the one way a configuration becomes a served model:
``make train`` calls it for the champion (alias ``champion``), Ray Tune for
the best trial (alias ``challenger``).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import numpy as np
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient
from sklearn.pipeline import Pipeline

from predictor.manifest import Manifest
from training import plots
from training.evaluate import CVResult
from training.export import write_model_dir
from training.external import Dataset, SiteScore, score_sites
from training.pipelines import SKOPS_TRUSTED_TYPES, Family, build_pipeline
from training.tracking import MODEL_NAME, cv_params, flat_params


@dataclass(frozen=True)
class Published:
    """What :func:`publish` produced: the fitted Pipeline and where it went."""

    pipeline: Pipeline = field(repr=False)
    manifest: Manifest
    run_id: str
    model_version: str
    model_dir: Path
    external: list[SiteScore]


def publish(
    result: CVResult,
    x: np.ndarray,
    y: np.ndarray,
    *,
    out_dir: Path,
    alias: str = "champion",
    external: Mapping[str, Dataset | None] | None = None,
    seed: int = 0,
    model_name: str = MODEL_NAME,
) -> Published:
    """Fit ``result``'s configuration on all of (x, y) and publish it.

    Logs into the active MLflow run (or a new one): params, the CV protocol
    (``cv_folds``, ``cv_repeats``, ``cv_seed``: the champion rule compares
    only runs that share it), the CV metrics,
    external-validation metrics for ``external`` sites (``None`` = absent),
    ROC / calibration / confusion / importance plots under ``plots/``, the
    sklearn model with signature and input example (registered as a new
    version of ``model_name`` with ``alias``), and ``model/`` (written to
    ``out_dir`` by :func:`write_model_dir` and uploaded as an artifact).
    """
    family: Family = result.family  # type: ignore[assignment]
    pipeline = build_pipeline(family, result.params, seed=seed).fit(x, y)
    sites = score_sites(pipeline, result.threshold, external or {})
    with _active_run(result.family) as run_id:
        mlflow.log_params(flat_params(result.family, result.params))
        mlflow.log_params(cv_params(result.cv))
        mlflow.log_metrics(result.flat("cv_"))
        for site in sites:
            mlflow.log_metrics(site.metrics())
        _log_plots(result, pipeline, x, y, external or {})
        version = _register(pipeline, x, model_name, alias)
        manifest = _export(
            result, pipeline, out_dir, x, run_id=run_id, version=version, model_name=model_name
        )
        mlflow.log_artifacts(str(out_dir), "model")
    return Published(pipeline, manifest, run_id, version, out_dir, sites)


@contextlib.contextmanager
def _active_run(run_name: str) -> Iterator[str]:
    active = mlflow.active_run()
    if active is not None:
        yield str(active.info.run_id)
        return
    with mlflow.start_run(run_name=run_name) as run:
        yield str(run.info.run_id)


def _log_plots(
    result: CVResult,
    pipeline: Pipeline,
    x: np.ndarray,
    y: np.ndarray,
    external: Mapping[str, Dataset | None],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plots.model_figures(result, pipeline, x, y, external=external, folder=Path(tmp))
        mlflow.log_artifacts(tmp, "plots")


def _register(pipeline: Pipeline, x: np.ndarray, model_name: str, alias: str) -> str:
    complete = x[~np.isnan(x).any(axis=1)][:5]
    info = mlflow.sklearn.log_model(
        pipeline,
        name="sklearn-model",
        signature=infer_signature(complete, pipeline.predict_proba(complete)),
        input_example=complete,
        pyfunc_predict_fn="predict_proba",
        pip_requirements=mlflow.sklearn.get_default_pip_requirements(include_skops=True),
        registered_model_name=model_name,
        skops_trusted_types=SKOPS_TRUSTED_TYPES,
    )
    version = str(info.registered_model_version)
    MlflowClient().set_registered_model_alias(model_name, alias, version)
    return version


def _export(
    result: CVResult,
    pipeline: Pipeline,
    out_dir: Path,
    x: np.ndarray,
    *,
    run_id: str,
    version: str,
    model_name: str,
) -> Manifest:
    metrics = {k: v for k, v in result.flat().items() if k != "threshold"}
    return write_model_dir(
        pipeline,
        out_dir,
        result.threshold,
        data=x,
        threshold_rule=result.threshold_rule,
        model_family=result.family,
        model_name=model_name,
        model_version=version,
        mlflow_run_id=run_id,
        metrics=metrics,
    )

"""Fit the final model, log it to MLflow, register it and export ``model/``.

:func:`publish` is the one way a configuration becomes a served model:
``make train`` calls it for the champion (alias ``champion``), Ray Tune for
the best trial (alias ``challenger``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import numpy as np
from mlflow.tracking import MlflowClient
from sklearn.pipeline import Pipeline

from predictor.manifest import MANIFEST_FILE, Manifest
from training import files, plots, pyfunc
from training.evaluate import CVResult
from training.export import write_model_dir
from training.external import Dataset, SiteScore, score_sites
from training.pipelines import Family, build_pipeline
from training.selection import CHAMPION_RULE
from training.tracking import (
    MODEL_DESCRIPTION,
    MODEL_NAME,
    RUN_DESCRIPTION_TAG,
    cv_params,
    describe_version,
    flat_params,
    version_tags,
)


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
    train_sites: Sequence[str] = ("cleveland",),
) -> Published:
    """Fit ``result``'s configuration on all of (x, y) and publish it.

    Logs into the active MLflow run (or a new one): params, the CV protocol
    (``cv_folds``, ``cv_repeats``, ``cv_seed``: the champion rule compares
    only runs that share it), the CV metrics,
    external-validation metrics for ``external`` sites (``None`` = absent),
    ROC / calibration / confusion / importance plots under ``plots/``, the
    MLflow model (:func:`training.pyfunc.log_model`: pyfunc and sklearn
    flavours, signature, input example), registered as a new version of
    ``model_name`` with ``alias``, registry tags and descriptions
    (:func:`training.tracking.version_tags`), and ``model/`` (written to
    ``out_dir`` by :func:`write_model_dir` and uploaded as an artifact).
    ``model.json`` records ``train_sites``, ``result``'s leave-one-site-out
    scores (``loso``) and the champion rule, so the registry tags carry them.
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
        manifest = _export(
            result, pipeline, out_dir, x, run_id=run_id, model_name=model_name, sites=train_sites
        )
        version = pyfunc.log_model(pipeline, out_dir, x, model_name)
        manifest = _stamp_version(out_dir, manifest, version)
        _describe(model_name, version, alias, manifest, result)
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


def _stamp_version(out_dir: Path, manifest: Manifest, version: str) -> Manifest:
    """``model.json`` with the registry version (known once the MLflow model is registered).

    The copy inside the MLflow model keeps ``model_version`` empty: it was
    logged before the registry numbered it; the model files are the same.
    """
    stamped = dataclasses.replace(manifest, model_version=version)
    files.write_bytes_atomic(out_dir / MANIFEST_FILE, stamped.to_json().encode())
    return stamped


def _describe(
    model_name: str, version: str, alias: str, manifest: Manifest, result: CVResult
) -> None:
    """Alias, registry tags and descriptions of the new version; the run's description."""
    client = MlflowClient()
    client.set_registered_model_alias(model_name, alias, version)
    for key, value in version_tags(manifest, result.cv).items():
        client.set_model_version_tag(model_name, version, key, value)
    text = describe_version(manifest, result, alias)
    client.update_model_version(model_name, version, description=text)
    if not client.get_registered_model(model_name).description:
        client.update_registered_model(model_name, description=MODEL_DESCRIPTION)
    mlflow.set_tag(RUN_DESCRIPTION_TAG, f"Publishes {model_name} v{version}. {text}")


def _export(
    result: CVResult,
    pipeline: Pipeline,
    out_dir: Path,
    x: np.ndarray,
    *,
    run_id: str,
    model_name: str,
    sites: Sequence[str],
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
        mlflow_run_id=run_id,
        metrics=metrics,
        train_sites=list(sites),
        loso={site: held.record() for site, held in result.loso.items()},
        champion_rule=CHAMPION_RULE,
    )

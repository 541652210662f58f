"""Write a KServe-ready model directory: ``model.joblib`` + ``model.onnx`` + ``model.json``.

``model.joblib`` is the fitted Pipeline alone (KServe's stock sklearn runtime
and MLServer load it unchanged); ``model.onnx`` is the same Pipeline compiled
and parity-checked here (:mod:`training.onnx_export`), the file our predictor
serves without unpickling; ``model.json`` records both digests, the
parity evidence and the reference profile of the training rows (the
transformer's drift baseline, :mod:`transformer.profile`).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.pipeline import Pipeline

from predictor.manifest import (
    MANIFEST_FILE,
    MODEL_FILE,
    ONNX_FILE,
    Manifest,
    model_files,
    sha256_bytes,
    sha256_file,
    verify_files,
)
from training import files
from training.onnx_export import compile_pipeline, snap_thresholds
from transformer import profile
from transformer.contract import CONTRACT_HASH, FEATURE_NAMES


def write_model_dir(
    pipeline: Pipeline,
    out_dir: Path,
    threshold: float,
    *,
    data: np.ndarray | None = None,
    **fields: Any,
) -> Manifest:
    """Dump the fitted Pipeline, its ONNX compilation and the manifest into ``out_dir``.

    ``data`` (the rows the model was fitted on) joins the generated rows of
    the ONNX parity check and is profiled (``reference_profile``; none without
    it). ``fields`` fills the remaining :class:`Manifest` fields (model_family,
    metrics, mlflow_run_id, model_version, threshold_rule...). Files are
    written to temporary names first and renamed, the manifest last, so a
    crash never leaves a directory whose manifest does not describe its model.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    snap_thresholds(pipeline)  # before the dump: model.joblib and model.onnx split alike
    tmp_model = files.temp_in(out_dir)
    joblib.dump(pipeline, tmp_model)
    compiled = compile_pipeline(pipeline, float(threshold), data)
    manifest = Manifest(
        feature_order=list(FEATURE_NAMES),
        contract_hash=CONTRACT_HASH,
        sklearn_version=sklearn.__version__,
        sha256=sha256_file(tmp_model),
        threshold=float(threshold),
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        onnx_sha256=sha256_bytes(compiled.model) if compiled.model else "",
        onnx_positive_column=compiled.positive_column,
        onnx_parity=compiled.parity.record() if compiled.parity else {},
        onnx_error=compiled.error,
        reference_profile=profile.build(data) if data is not None and len(data) else {},
        **fields,
    )
    os.replace(tmp_model, out_dir / MODEL_FILE)
    if compiled.model is not None:
        files.write_bytes_atomic(out_dir / ONNX_FILE, compiled.model)
    else:
        (out_dir / ONNX_FILE).unlink(missing_ok=True)
    files.write_bytes_atomic(out_dir / MANIFEST_FILE, manifest.to_json().encode())
    return manifest


def copy_model_dir(source: Path, out_dir: Path) -> Manifest:
    """Copy a verified model directory to ``out_dir`` (the manifest last).

    Every file ``source``'s manifest names is checked against its digest
    first; nothing is unpickled.
    """
    manifest = verify_files(source)
    if not manifest.onnx_sha256:
        (out_dir / ONNX_FILE).unlink(missing_ok=True)
    for name in model_files(manifest):
        files.copy_atomic(source / name, out_dir / name)
    return manifest

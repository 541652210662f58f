"""Write a KServe-ready model directory: ``model.joblib`` + ``model.json``."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import joblib
import sklearn
from sklearn.pipeline import Pipeline

from predictor.manifest import MANIFEST_FILE, MODEL_FILE, Manifest, sha256_file, verify
from transformer.contract import CONTRACT_HASH, FEATURE_NAMES


def write_model_dir(pipeline: Pipeline, out_dir: Path, threshold: float, **fields: Any) -> Manifest:
    """Dump the fitted Pipeline alone and its manifest into ``out_dir``.

    ``fields`` fills the remaining :class:`Manifest` fields (model_family,
    metrics, mlflow_run_id, model_version, threshold_rule...). Files are
    written to temporary names first and renamed, so a crash never leaves a
    directory whose manifest does not describe its model.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp_model = _tmp_in(out_dir)
    joblib.dump(pipeline, tmp_model)
    manifest = Manifest(
        feature_order=list(FEATURE_NAMES),
        contract_hash=CONTRACT_HASH,
        sklearn_version=sklearn.__version__,
        sha256=sha256_file(tmp_model),
        threshold=float(threshold),
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **fields,
    )
    tmp_manifest = _tmp_in(out_dir)
    tmp_manifest.write_text(manifest.to_json())
    os.replace(tmp_model, out_dir / MODEL_FILE)
    os.replace(tmp_manifest, out_dir / MANIFEST_FILE)
    return manifest


def _tmp_in(folder: Path) -> Path:
    handle, name = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    os.close(handle)
    return Path(name)


def copy_model_dir(source: Path, out_dir: Path) -> Manifest:
    """Copy a verified ``model/`` (``model.joblib`` + ``model.json``) to ``out_dir``.

    ``source`` is verified first (sha256, scikit-learn version); each file is
    written under a temporary name and renamed, the manifest last, as in
    :func:`write_model_dir`. Returns the copied manifest.
    """
    manifest = verify(source, sklearn.__version__)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in (MODEL_FILE, MANIFEST_FILE):
        tmp = _tmp_in(out_dir)
        shutil.copyfile(source / name, tmp)
        os.replace(tmp, out_dir / name)
    return manifest

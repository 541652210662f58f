"""Load a verified model directory and score the feature matrix. No server needed.

The predictor's ``predict``, the batch scorer and training's behavioural
checks all call :func:`load` and :func:`predict`. Which file is loaded
depends on the *engine* (:mod:`predictor.engines`): ``onnx`` reads
``model.onnx`` and never unpickles; ``sklearn`` unpickles ``model.joblib``
after checking its digest. A directory whose export has no ``model.onnx``
is served with ``sklearn`` under ``onnx`` too, and :attr:`LoadedModel.serving`
says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from predictor import engines
from predictor.manifest import Manifest, read

logger = logging.getLogger("kserve")

#: Engine name -> what it loads. The ``--engine`` flag chooses among these keys.
ENGINES = {"onnx": engines.load_onnx, "sklearn": engines.load_sklearn}


@dataclass(frozen=True)
class Prediction:
    """``probability`` = P(disease) (float32 [N]); ``label`` = 1 when >= threshold (int32 [N])."""

    probability: np.ndarray
    label: np.ndarray


@dataclass
class LoadedModel:
    """A verified model, its manifest and its probability function.

    ``engine`` is what was asked for, ``serving`` the engine in use (they
    differ when an ``onnx`` request met a directory without ``model.onnx``).
    Pickling re-loads (and re-verifies) from ``model_dir``, so worker
    processes and Ray tasks get a working copy whatever the engine holds.
    """

    model_dir: Path
    engine: str
    manifest: Manifest
    proba: engines.ProbaFn
    serving: str

    def __reduce__(self) -> tuple[Any, ...]:
        return (load, (self.model_dir, self.engine))


def load(model_dir: Path | str, engine: str = "onnx") -> LoadedModel:
    """Read and check ``model.json``, verify the engine's file, load it.

    Raises :class:`predictor.manifest.ManifestError` on anything that cannot
    be trusted: a bad manifest, a missing file, a digest mismatch.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    path = Path(model_dir)
    manifest = read(path)
    serving = engine
    if engine == "onnx" and not manifest.onnx_sha256:
        why = manifest.onnx_error or "the export predates model.onnx"
        logger.warning("no model.onnx (%s): serving model.joblib with scikit-learn", why)
        serving = "sklearn"
    proba = ENGINES[serving](path, manifest)
    return LoadedModel(path, engine, manifest, proba, serving)


def predict(model: LoadedModel, matrix: np.ndarray) -> Prediction:
    """Score a float32 matrix [N, F] in the manifest's feature order (NaN = missing)."""
    probability = model.proba(np.asarray(matrix, dtype=np.float32))
    label = (probability >= model.manifest.threshold).astype(np.int32)
    return Prediction(probability, label)

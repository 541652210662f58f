"""Load a verified model directory and score the contract's matrix. No server needed.

The predictor's ``predict``, the CLI and the Ray batch scorer all call
:func:`load` and :func:`predict`. ``model.joblib`` is unpickled only after
:func:`predictor.manifest.verify` has checked its sha256 and scikit-learn
version against ``model.json``.

The probability function is chosen once, at load time, by *engine* name from
:data:`ENGINES` (default ``sklearn``: the Pipeline's ``predict_proba``
column 1). A faster engine registers itself with one line, e.g.
``ENGINES["onnx"] = fastpath.onnx_proba``. A factory also names the path it
actually serves with: a fast engine that fails its parity check at load time
falls back to ``sklearn`` and says so (:attr:`LoadedModel.serving`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.pipeline import Pipeline

from predictor import fastpath
from predictor.manifest import MODEL_FILE, Manifest, verify

#: P(disease) for a float32 matrix [N, 13] -> float32 [N].
ProbaFn = Callable[[np.ndarray], np.ndarray]
#: Builds the probability function from the loaded Pipeline and its (verified)
#: directory; returns it with the name of the path actually serving.
EngineFactory = Callable[[Pipeline, Path], tuple[ProbaFn, str]]


def sklearn_proba(pipeline: Pipeline, model_dir: Path) -> tuple[ProbaFn, str]:
    """The Pipeline's own ``predict_proba``, the positive class's column."""
    return fastpath.sklearn_proba(pipeline), "sklearn"


#: Engine name -> factory. The ``--engine`` flag chooses among these keys.
ENGINES: dict[str, EngineFactory] = {"sklearn": sklearn_proba, "onnx": fastpath.onnx_proba}


@dataclass(frozen=True)
class Prediction:
    """``probability`` = P(disease) (float32 [N]); ``label`` = 1 when >= threshold (int32 [N])."""

    probability: np.ndarray
    label: np.ndarray


@dataclass
class LoadedModel:
    """A verified Pipeline, its manifest and the chosen probability function.

    ``engine`` is what was asked for, ``serving`` the path in use (they
    differ when a fast engine fell back to scikit-learn).

    Pickling re-loads (and re-verifies) from ``model_dir``, so worker
    processes and Ray tasks get a working copy whatever the engine holds.
    """

    model_dir: Path
    engine: str
    manifest: Manifest
    pipeline: Pipeline
    proba: ProbaFn
    serving: str

    def __reduce__(self) -> tuple[Any, ...]:
        return (load, (self.model_dir, self.engine))


def load(model_dir: Path | str, engine: str = "sklearn") -> LoadedModel:
    """Verify ``model_dir`` then unpickle its Pipeline (raises ManifestError on mismatch)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    path = Path(model_dir)
    manifest = verify(path, sklearn.__version__)
    pipeline = joblib.load(path / MODEL_FILE)
    proba, serving = ENGINES[engine](pipeline, path)
    return LoadedModel(path, engine, manifest, pipeline, proba, serving)


def predict(model: LoadedModel, matrix: np.ndarray) -> Prediction:
    """Score a float32 matrix [N, 13] in contract order (NaN = missing)."""
    probability = model.proba(np.asarray(matrix, dtype=np.float32))
    label = (probability >= model.manifest.threshold).astype(np.int32)
    return Prediction(probability, label)

"""The two ways the predictor turns a verified model directory into P(disease).

``onnx`` (the default) runs ``model.onnx`` in ONNX Runtime: compiled from the
Pipeline by skl2onnx at export, where its parity with the Pipeline was
proven and recorded in ``model.json``. It reads the file once, checks it
against ``onnx_sha256`` and never unpickles anything.

``sklearn`` unpickles ``model.joblib`` (the plain Pipeline) after checking
its sha256 and scikit-learn version; scikit-learn and joblib are imported
only on this path. The predictor uses it with ``--engine sklearn``, or when a
directory has no ``model.onnx`` (it says so in one log line).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from predictor.manifest import MODEL_FILE, ONNX_FILE, Manifest, check_sklearn, verified_bytes

#: float32 [N, F] in the manifest's feature order -> P(disease) as float32 [N].
ProbaFn = Callable[[np.ndarray], np.ndarray]
#: Names of the compiled model's input and probability output (set at export).
ONNX_INPUT = "input"
ONNX_PROBABILITIES = "probabilities"


def onnx_session_proba(model: bytes, positive_column: int) -> ProbaFn:
    """An ONNX Runtime session on ``model``, returning column ``positive_column``.

    One intra-op and one inter-op thread with spinning off: requests are
    small, threads only add hand-off latency and burn the cores the server's
    event loop needs. Training's parity check at export runs this very
    function.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def proba(matrix: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(matrix, dtype=np.float32)
        out = session.run([ONNX_PROBABILITIES], {ONNX_INPUT: batch})[0]
        return np.asarray(out[:, positive_column], dtype=np.float32)

    return proba


def pipeline_proba(pipeline: Any) -> ProbaFn:
    """The fitted Pipeline's ``predict_proba``, the column of class 1 (disease)."""
    column = [int(c) for c in pipeline.classes_].index(1)

    def proba(matrix: np.ndarray) -> np.ndarray:
        return np.asarray(pipeline.predict_proba(matrix)[:, column], dtype=np.float32)

    return proba


def load_onnx(model_dir: Path, manifest: Manifest) -> ProbaFn:
    """``model.onnx`` checked against ``onnx_sha256``, in a session (no unpickling)."""
    model = verified_bytes(model_dir, ONNX_FILE, manifest.onnx_sha256)
    return onnx_session_proba(model, manifest.onnx_positive_column)


def load_sklearn(model_dir: Path, manifest: Manifest) -> ProbaFn:
    """``model.joblib`` checked against ``sha256`` and scikit-learn, then unpickled."""
    import joblib
    import sklearn

    check_sklearn(manifest, sklearn.__version__)
    data = verified_bytes(model_dir, MODEL_FILE, manifest.sha256)
    return pipeline_proba(joblib.load(io.BytesIO(data)))

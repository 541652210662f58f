"""The compiled fast path: the fitted Pipeline as one ONNX Runtime session.

scikit-learn pays about 5 ms of Python and validation overhead per
``predict_proba`` call of a 300-tree forest whatever the batch size, and
about 1 ms for the imputer/one-hot/scaler steps alone; the same Pipeline
compiled by skl2onnx runs in ONNX Runtime in tens of microseconds. The
predictor calls :func:`select_proba` once at load time and uses what it
returns for every request.

The compiled function must earn its place: :func:`select_proba` checks it
against the Pipeline on every Cleveland row (when a data source is given and
readable) plus 10,000 rows generated from the feature contract, requiring
identical labels at the manifest threshold and max |dp| <= 1e-5. Any
conversion error or parity failure falls back to plain scikit-learn with one
log line saying why.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.pipeline import Pipeline

from predictor.manifest import read
from transformer.contract import N_FEATURES
from transformer.synthetic import generate

logger = logging.getLogger("kserve")

#: float32 [N, 13] in contract order -> P(disease) as float32 [N].
ProbaFn = Callable[[np.ndarray], np.ndarray]

TOLERANCE = 1e-5
SYNTHETIC_ROWS = 10_000
#: Missing-value share of the generated parity rows: imputation is exercised.
SYNTHETIC_MISSING = 0.05
_INPUT = "input"
_PROBABILITIES = "probabilities"


@dataclass(frozen=True)
class Parity:
    """How a fast path compares with the Pipeline on ``rows`` rows."""

    rows: int
    max_abs_diff: float
    label_mismatches: int
    tolerance: float = TOLERANCE

    @property
    def ok(self) -> bool:
        return self.label_mismatches == 0 and self.max_abs_diff <= self.tolerance

    def __str__(self) -> str:
        return (
            f"{self.rows} rows, max |dp| {self.max_abs_diff:.2e} (tolerance {self.tolerance:.0e}),"
            f" {self.label_mismatches} label mismatches"
        )


def positive_column(pipeline: Pipeline) -> int:
    """Index of class 1 (disease) in ``predict_proba``'s columns."""
    return [int(c) for c in pipeline.classes_].index(1)


def sklearn_proba(pipeline: Pipeline) -> ProbaFn:
    """The reference path: ``Pipeline.predict_proba[:, positive]``."""
    column = positive_column(pipeline)

    def proba(matrix: np.ndarray) -> np.ndarray:
        return np.asarray(pipeline.predict_proba(matrix)[:, column], dtype=np.float32)

    return proba


def compile_onnx(pipeline: Pipeline) -> ProbaFn:
    """The Pipeline converted by skl2onnx, run by a single-threaded session.

    One intra-op and one inter-op thread with spinning off: requests are
    small, threads only add hand-off latency and burn the cores the server's
    event loop needs. Raises whatever skl2onnx raises for an unsupported step.
    """
    import onnxruntime as ort
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    model = to_onnx(
        pipeline,
        initial_types=[(_INPUT, FloatTensorType([None, N_FEATURES]))],
        options={"zipmap": False},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    session = ort.InferenceSession(
        model.SerializeToString(), _session_options(ort), providers=["CPUExecutionProvider"]
    )
    column = positive_column(pipeline)

    def proba(matrix: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(matrix, dtype=np.float32)
        out = session.run([_PROBABILITIES], {_INPUT: batch})[0]
        return np.asarray(out[:, column], dtype=np.float32)

    return proba


def _session_options(ort: object) -> object:
    options = ort.SessionOptions()  # type: ignore[attr-defined]
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL  # type: ignore[attr-defined]
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


def check_parity(
    reference: ProbaFn, candidate: ProbaFn, rows: np.ndarray, threshold: float
) -> Parity:
    """Compare ``candidate`` with ``reference`` on ``rows`` (labels at ``threshold``)."""
    expected = np.asarray(reference(rows), dtype=np.float64)
    actual = np.asarray(candidate(rows), dtype=np.float64)
    mismatches = int(np.count_nonzero((expected >= threshold) != (actual >= threshold)))
    diff = float(np.max(np.abs(expected - actual))) if len(rows) else 0.0
    return Parity(len(rows), diff if np.isfinite(diff) else float("inf"), mismatches)


def parity_rows(
    data_source: str | None = None, synthetic: int = SYNTHETIC_ROWS, cache_dir: Path | None = None
) -> np.ndarray:
    """Every Cleveland row (when ``data_source`` is readable) + generated rows."""
    generated = generate(synthetic, seed=20240917, missing_rate=SYNTHETIC_MISSING)
    cleveland = _cleveland(data_source, cache_dir or _cache_dir()) if data_source else None
    return generated if cleveland is None else np.vstack([cleveland, generated])


def _cleveland(data_source: str, cache_dir: Path) -> np.ndarray | None:
    try:
        from training.data import load_site

        return load_site("cleveland", data_source, cache_dir=cache_dir)[0]
    except (ImportError, OSError, ValueError) as exc:
        logger.warning("fast path: Cleveland rows unavailable for the parity check (%s)", exc)
        return None


def _cache_dir() -> Path:
    """A writable cache outside the server's working directory."""
    return Path(tempfile.gettempdir()) / "heart-kserve-data"


def select_proba(
    pipeline: Pipeline,
    threshold: float,
    data_source: str | None = None,
    compiler: Callable[[Pipeline], ProbaFn] = compile_onnx,
) -> tuple[ProbaFn, str]:
    """The probability function to serve with, and its name ("onnxruntime"/"sklearn").

    Call once at load time. ``data_source`` adds the Cleveland rows to the
    parity check; ``compiler`` is the fast-path builder (tests swap in a
    wrong one to see the fallback).
    """
    reference = sklearn_proba(pipeline)
    try:
        fast = compiler(pipeline)
        parity = check_parity(reference, fast, parity_rows(data_source), threshold)
    except Exception as exc:  # any conversion failure means: serve with sklearn
        logger.warning("fast path disabled, serving with scikit-learn: conversion failed: %s", exc)
        return reference, "sklearn"
    if not parity.ok:
        logger.warning("fast path disabled, serving with scikit-learn: parity failed: %s", parity)
        return reference, "sklearn"
    logger.info("fast path: onnxruntime, parity with the Pipeline proven on %s", parity)
    return fast, "onnxruntime"


def onnx_proba(pipeline: Pipeline, model_dir: Path) -> tuple[ProbaFn, str]:
    """Engine factory for :data:`predictor.inference.ENGINES` (``--engine onnx``).

    Parity uses the manifest's threshold and, when ``HEART_DATA_SOURCE`` is
    set in the server's environment (read once, here, at load time), every
    Cleveland row too.
    """
    threshold = read(model_dir).threshold
    source = os.environ.get("HEART_DATA_SOURCE") or None
    return select_proba(pipeline, threshold, source, compiler=compile_onnx)

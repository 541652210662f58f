"""Compile the fitted Pipeline to ONNX at export, and prove it answers as the Pipeline does.

scikit-learn pays about 5 ms of Python and validation overhead per
``predict_proba`` call of a 300-tree forest whatever the batch size; the
same Pipeline compiled by skl2onnx runs in ONNX Runtime in tens of
microseconds. The predictor serves ``model.onnx`` only if it is here, with
its digest and this module's evidence in ``model.json``: on the rows the
model was trained on plus generated contract rows (5% missing values, so
imputation is exercised), identical labels at the model's threshold and
max |dp| <= :data:`TOLERANCE`. The check runs the predictor's own session
code (:func:`predictor.engines.onnx_session_proba`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

from predictor.engines import ONNX_INPUT, ONNX_PROBABILITIES, onnx_session_proba, pipeline_proba
from transformer.synthetic import generate

TOLERANCE = 1e-5
SYNTHETIC_ROWS = 10_000
#: Missing-value share of the generated parity rows: imputation is exercised.
SYNTHETIC_MISSING = 0.05
_SYNTHETIC_SEED = 20240917


@dataclass(frozen=True)
class Parity:
    """How the compiled model compares with the Pipeline."""

    rows: int
    data_rows: int
    generated_rows: int
    max_abs_diff: float
    label_agreement: float
    threshold: float
    tolerance: float = TOLERANCE

    @property
    def ok(self) -> bool:
        return self.label_agreement == 1.0 and self.max_abs_diff <= self.tolerance

    def record(self) -> dict[str, float | int]:
        """What ``model.json`` keeps as ``onnx_parity``."""
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"{self.rows} rows ({self.data_rows} data, {self.generated_rows} generated),"
            f" max |dp| {self.max_abs_diff:.2e} (tolerance {self.tolerance:.0e}),"
            f" label agreement {self.label_agreement:.4f} at {self.threshold:.3f}"
        )


@dataclass(frozen=True)
class Compiled:
    """``model.onnx``'s bytes, or why there are none (``error``), and the evidence."""

    model: bytes | None
    positive_column: int
    parity: Parity | None
    error: str = ""


def positive_column(pipeline: Pipeline) -> int:
    """Index of class 1 (disease) in ``predict_proba``'s columns."""
    return [int(c) for c in pipeline.classes_].index(1)


def to_onnx(pipeline: Pipeline, n_features: int) -> bytes:
    """The Pipeline as ONNX (probabilities as a plain [N, 2] tensor, no ZipMap)."""
    from skl2onnx import to_onnx as convert
    from skl2onnx.common.data_types import FloatTensorType

    model = convert(
        pipeline,
        initial_types=[(ONNX_INPUT, FloatTensorType([None, n_features]))],
        options={"zipmap": False},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    names = [o.name for o in model.graph.output]
    if ONNX_PROBABILITIES not in names:
        raise ValueError(f"the converted model has outputs {names}, not {ONNX_PROBABILITIES!r}")
    return bytes(model.SerializeToString())


def parity_rows(data: np.ndarray | None, synthetic: int = SYNTHETIC_ROWS) -> np.ndarray:
    """``data`` (the training rows) followed by ``synthetic`` generated rows."""
    generated = generate(synthetic, seed=_SYNTHETIC_SEED, missing_rate=SYNTHETIC_MISSING)
    if data is None or not len(data):
        return generated
    return np.vstack([np.asarray(data, dtype=np.float32), generated])


def check_parity(
    pipeline: Pipeline, model: bytes, rows: np.ndarray, threshold: float, data_rows: int
) -> Parity:
    """Compare the compiled ``model`` with ``pipeline`` on ``rows``."""
    expected = np.asarray(pipeline_proba(pipeline)(rows), dtype=np.float64)
    actual = np.asarray(onnx_session_proba(model, positive_column(pipeline))(rows), np.float64)
    agree = float(np.mean((expected >= threshold) == (actual >= threshold))) if len(rows) else 1.0
    diff = float(np.max(np.abs(expected - actual))) if len(rows) else 0.0
    return Parity(
        rows=len(rows),
        data_rows=data_rows,
        generated_rows=len(rows) - data_rows,
        max_abs_diff=diff if np.isfinite(diff) else float("inf"),
        label_agreement=agree,
        threshold=float(threshold),
    )


def compile_pipeline(pipeline: Pipeline, threshold: float, data: np.ndarray | None) -> Compiled:
    """Convert, then check on ``data`` + generated rows; an error or a parity miss means
    no ``model.onnx`` (the predictor then serves ``model.joblib`` and says why).
    Gradient-boosting thresholds are snapped first (:func:`snap_thresholds`)."""
    column = positive_column(pipeline)
    rows = parity_rows(data)
    snap_thresholds(pipeline)
    try:
        model = to_onnx(pipeline, rows.shape[1])
        parity = check_parity(pipeline, model, rows, threshold, 0 if data is None else len(data))
    except Exception as exc:  # skl2onnx raises many types for unsupported steps
        return Compiled(None, column, None, f"conversion failed: {type(exc).__name__}: {exc}")
    if not parity.ok:
        return Compiled(None, column, parity, f"parity failed: {parity}")
    return Compiled(model, column, parity)


def snap_thresholds(pipeline: Pipeline) -> Pipeline:
    """Make the gradient-boosting trees of ``pipeline`` compare like ONNX does; in place.

    scikit-learn's histogram gradient boosting compares inputs with float64
    thresholds (midpoints between training values); ONNX's tree ensembles
    store them as float32, so an input equal to a training value can fall on
    the other side of a split (max |dp| 0.3 measured). Each threshold becomes
    the largest float32 not above it: for float32 inputs, which is what the
    predictor and the transformer send, ``x <= t`` is unchanged, and the
    threshold survives the cast to float32 exactly. Other models are untouched.
    """
    for boosting in _boosting_models(pipeline):
        for trees in boosting._predictors:
            for tree in trees:
                nodes = tree.nodes
                thresholds = nodes["num_threshold"]
                snapped = thresholds.astype(np.float32).astype(np.float64)
                above = snapped > thresholds
                snapped[above] = np.nextafter(
                    snapped[above].astype(np.float32), np.float32(-np.inf)
                ).astype(np.float64)
                nodes["num_threshold"] = snapped
    return pipeline


def _boosting_models(pipeline: Pipeline) -> list[HistGradientBoostingClassifier]:
    model = pipeline.steps[-1][1]
    inner = [c.estimator for c in getattr(model, "calibrated_classifiers_", [])] or [model]
    return [m for m in inner if isinstance(m, HistGradientBoostingClassifier)]

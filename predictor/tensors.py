"""v2 tensors <-> the predictor's float32 matrix and its outputs.

Input: one tensor [N, 13] in the manifest's feature order (FP32; FP64,
INT32 and INT64 are cast), or one [N] tensor per feature named as in the
manifest. Values are not range-checked here (the transformer does that);
shapes, names and datatypes are, with 400s that say what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import InferInput, InferOutput, InferRequest

from predictor.inference import Prediction

CAST_TYPES = frozenset({"FP32", "FP64", "INT32", "INT64", "FP16", "INT8", "INT16"})
OUTPUTS = ("probability", "label")


def to_matrix(request: InferRequest, feature_order: Sequence[str], max_rows: int) -> np.ndarray:
    """The float32 matrix [N, len(feature_order)] of a v2 request."""
    inputs = request.inputs
    if not inputs:
        raise InvalidInput("the request has no inputs")
    if len(inputs) == 1:
        matrix = _single(inputs[0], feature_order)
    else:
        matrix = _named(inputs, feature_order)
    if matrix.shape[0] == 0:
        raise InvalidInput("the batch is empty: send at least one row")
    if matrix.shape[0] > max_rows:
        raise InvalidInput(f"the batch has {matrix.shape[0]} rows, the limit is {max_rows}")
    return matrix


def _array(tensor: InferInput) -> np.ndarray:
    if tensor.datatype not in CAST_TYPES:
        allowed = ", ".join(sorted(CAST_TYPES))
        raise InvalidInput(
            f"input '{tensor.name}': datatype {tensor.datatype} is not allowed: use {allowed}"
        )
    try:
        return tensor.as_numpy().astype(np.float32)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            f"input '{tensor.name}': data does not match {tensor.datatype} {tensor.shape} ({exc})"
        ) from None


def _single(tensor: InferInput, order: Sequence[str]) -> np.ndarray:
    array = _array(tensor)
    if array.ndim != 2 or array.shape[1] != len(order):
        raise InvalidInput(
            f"input '{tensor.name}': shape {list(array.shape)}, expected [N, {len(order)}]"
            f" with columns {', '.join(order)}"
        )
    return array


def _named(inputs: Sequence[InferInput], order: Sequence[str]) -> np.ndarray:
    names = [t.name for t in inputs]
    if sorted(names) != sorted(order):
        missing = sorted(set(order) - set(names))
        unknown = sorted(set(names) - set(order))
        raise InvalidInput(
            f"named inputs must be exactly the {len(order)} features; missing {missing},"
            f" unknown {unknown}"
        )
    columns = {t.name: _array(t).reshape(-1) for t in inputs}
    lengths = {name: len(column) for name, column in columns.items()}
    if len(set(lengths.values())) != 1:
        raise InvalidInput(f"named inputs differ in length: {lengths}")
    return np.column_stack([columns[name] for name in order]).astype(np.float32)


def requested(request: InferRequest) -> list[str]:
    """The outputs the request asks for (all of them when it names none)."""
    names = [o.name for o in request.request_outputs or []]
    unknown = [n for n in names if n not in OUTPUTS]
    if unknown:
        raise InvalidInput(f"unknown outputs {unknown}: this model returns {list(OUTPUTS)}")
    return names or list(OUTPUTS)


def to_outputs(prediction: Prediction, names: Sequence[str]) -> list[InferOutput]:
    arrays = {"probability": prediction.probability, "label": prediction.label}
    datatypes = {"probability": "FP32", "label": "INT32"}
    outputs = []
    for name in names:
        output = InferOutput(name, [len(arrays[name])], datatypes[name])
        output.set_data_from_numpy(arrays[name], binary_data=False)
        outputs.append(output)
    return outputs

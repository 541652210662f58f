"""v2 tensors and v1 instances <-> the predictor's float32 matrix and its outputs.

Input: one tensor [N, 13] in the manifest's feature order (FP32; FP64 and
the integer datatypes are cast), or one [N] tensor per feature named as in
the manifest; v1 ``instances`` as lists of 13 numbers or objects keyed by
feature. Values are not range-checked here (the transformer does that), but
every value must be a number the float32 model input can hold: NaN (JSON
``null``) means missing, inf and |x| > 3.4e38 are refused. Every problem is
an :class:`InvalidRequestError` naming the row, the column and the value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from kserve.protocol.infer_type import InferInput, InferOutput, InferRequest

from predictor.inference import Prediction
from serving.errors import InvalidRequestError
from serving.problems import Problem
from serving.tensordata import NUMERIC_TYPES, TensorDataError, numbers

OUTPUTS = ("probability", "label")
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_FINITE = "finite numbers with |x| <= 3.4e38, or null/NaN for a missing value"


def bad_request(message: str, field: str | None = None, allowed: str = "") -> InvalidRequestError:
    return InvalidRequestError([Problem(None, field, None, message, allowed)])


def to_matrix(request: InferRequest, feature_order: Sequence[str], max_rows: int) -> np.ndarray:
    """The float32 matrix [N, len(feature_order)] of a v2 request."""
    inputs = request.inputs
    if not inputs:
        raise bad_request("the request has no inputs")
    if len(inputs) == 1:
        matrix = _single(inputs[0], feature_order)
    else:
        matrix = _named(inputs, feature_order)
    return checked(matrix, feature_order, max_rows)


def checked(matrix: np.ndarray, order: Sequence[str], max_rows: int) -> np.ndarray:
    """``matrix`` (float64) as float32 once its size and every value are acceptable."""
    if matrix.shape[0] == 0:
        raise bad_request("the batch is empty: send at least one row")
    if matrix.shape[0] > max_rows:
        raise bad_request(f"the batch has {matrix.shape[0]} rows, the limit is {max_rows}")
    rows, cols = np.nonzero(~np.isnan(matrix) & ~(np.abs(matrix) <= _FLOAT32_MAX))
    if len(rows):
        problems = [
            Problem(int(r), order[c], float(matrix[r, c]), "is not a finite float32", _FINITE)
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True)
        ]
        raise InvalidRequestError(problems, order)
    return matrix.astype(np.float32)


def _numbers(tensor: InferInput, columns: Sequence[str] | None) -> np.ndarray:
    """float64 data of ``tensor``; ``columns`` names a 2-D tensor's columns in problems."""
    if tensor.datatype not in NUMERIC_TYPES:
        allowed = ", ".join(sorted(NUMERIC_TYPES))
        message = f"input '{tensor.name}': datatype {tensor.datatype} is not numeric"
        raise bad_request(message, None, allowed)
    try:
        return numbers(tensor)
    except TensorDataError as exc:
        if not exc.bad:
            raise bad_request(f"input '{tensor.name}': {exc}") from None
        width = len(columns) if columns else 1
        problems = [
            Problem(
                b.index // width,
                columns[b.index % width] if columns else tensor.name,
                b.value,
                b.reason,
                b.allowed,
            )
            for b in exc.bad
        ]
        raise InvalidRequestError(problems, columns or ()) from None


def _single(tensor: InferInput, order: Sequence[str]) -> np.ndarray:
    shape = list(tensor.shape)
    if len(shape) != 2 or shape[1] != len(order):
        expected = f"expected [N, {len(order)}] with columns {', '.join(order)}"
        raise bad_request(f"input '{tensor.name}': shape {shape}, {expected}")
    return _numbers(tensor, order)


def _named(inputs: Sequence[InferInput], order: Sequence[str]) -> np.ndarray:
    names = [t.name for t in inputs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    missing = sorted(set(order) - set(names))
    unknown = sorted(set(names) - set(order))
    if duplicates or missing or unknown:
        raise bad_request(
            f"named inputs must be the {len(order)} features once each; missing"
            f" {missing}, unknown {unknown}, duplicated {duplicates}"
        )
    columns = {}
    for tensor in inputs:
        if len(tensor.shape) not in (1, 2) or list(tensor.shape[1:]) not in ([], [1]):
            raise bad_request(f"shape {list(tensor.shape)}: must be [N] or [N, 1]", tensor.name)
        columns[tensor.name] = _numbers(tensor, None).reshape(-1)
    lengths = {name: len(column) for name, column in columns.items()}
    if len(set(lengths.values())) != 1:
        raise bad_request(f"named inputs differ in length: {lengths}")
    return np.column_stack([columns[name] for name in order])


def v1_matrix(instances: list[object], order: Sequence[str], max_rows: int) -> np.ndarray:
    """v1 instances: lists of numbers in feature order, or objects keyed by feature."""
    if len(instances) > max_rows:
        raise bad_request(f"the batch has {len(instances)} rows, the limit is {max_rows}")
    problems: list[Problem] = []
    matrix = np.full((len(instances), len(order)), np.nan)
    for i, instance in enumerate(instances):
        matrix[i] = _v1_row(i, instance, order, problems)
    if problems:
        raise InvalidRequestError(problems, order)
    return checked(matrix, order, max_rows)


def _v1_row(i: int, instance: object, order: Sequence[str], problems: list[Problem]) -> list[float]:
    if isinstance(instance, Mapping):
        unknown = [str(k) for k in instance if k not in order]
        problems += [Problem(i, k, None, "is not a feature", ", ".join(order)) for k in unknown]
        instance = [instance.get(name) for name in order]
    if not isinstance(instance, list) or len(instance) != len(order):
        message = f"must be {len(order)} numbers or an object"
        problems.append(Problem(i, None, None, message, ", ".join(order)))
        return [np.nan] * len(order)
    nested = [j for j, value in enumerate(instance) if isinstance(value, list | Mapping)]
    if nested:
        message = "must be a number, not a list or object"
        problems += [Problem(i, order[j], None, message, _FINITE) for j in nested]
        return [np.nan] * len(order)
    tensor = InferInput("instance", [len(order)], "FP64", data=instance)
    try:
        return [float(v) for v in numbers(tensor)]
    except TensorDataError as exc:
        problems += [Problem(i, order[b.index], b.value, b.reason, b.allowed) for b in exc.bad]
        return [np.nan] * len(order)


def requested(request: InferRequest) -> list[str]:
    """The outputs the request asks for (all of them when it names none)."""
    names = [o.name for o in request.request_outputs or []]
    unknown = [n for n in names if n not in OUTPUTS]
    if unknown:
        raise bad_request(f"unknown outputs {unknown}: this model returns {list(OUTPUTS)}")
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

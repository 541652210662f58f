"""v2 tensor data -> float64 numbers, each checked against the tensor's datatype.

KServe's ``InferInput.as_numpy`` casts JSON data straight to the declared
datatype: INT32 ``[1.5]`` becomes 1, JSON ``true`` becomes 1, UINT8 ``[300]``
raises OverflowError (a 500) and FP32 ``[1e40]`` becomes inf. :func:`numbers`
reads the data as float64 first and reports every element the datatype cannot
hold exactly: text, booleans, nested objects, fractions in an integer
datatype, values outside the datatype's range. ``null`` and NaN stand for a
missing value (NaN). Binary data (gRPC raw contents, the REST binary
extension) is typed already and only checked for its size.

Shared by the transformer and the predictor; numpy and KServe's types only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from kserve.protocol.infer_type import InferInput

INTEGER_TYPES = frozenset(
    {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}
)
FLOAT_TYPES = frozenset({"FP16", "FP32", "FP64"})
NUMERIC_TYPES = INTEGER_TYPES | FLOAT_TYPES
_NUMBER_TYPES = (int, float, np.integer, np.floating)


@dataclass(frozen=True)
class BadValue:
    """One element the datatype cannot hold; ``index`` is its row-major position."""

    index: int
    value: object
    reason: str
    allowed: str


class TensorDataError(ValueError):
    """The data does not fit the tensor; ``bad`` lists the elements at fault.

    ``bad`` is empty when the tensor as a whole is wrong (its size, its datatype).
    """

    def __init__(self, message: str, bad: Sequence[BadValue] = ()) -> None:
        super().__init__(message)
        self.bad = list(bad)


def numbers(tensor: InferInput) -> np.ndarray:
    """The tensor's values as float64, in its declared shape (NaN = missing)."""
    if tensor.datatype not in NUMERIC_TYPES:
        raise TensorDataError(f"datatype {tensor.datatype} is not numeric")
    if getattr(tensor, "_raw_data", None) is not None or isinstance(tensor.data, np.ndarray):
        array = _typed(tensor)
    else:
        array = _from_list(_flatten(tensor.data or []), tensor.datatype)
    size = math.prod(tensor.shape)
    if array.size != size or min(tensor.shape, default=0) < 0:
        raise TensorDataError(f"has {array.size} values, shape {list(tensor.shape)} needs {size}")
    return array.reshape(tensor.shape)


def _typed(tensor: InferInput) -> np.ndarray:
    """Binary or numpy data: already of the datatype (cannot overflow it)."""
    try:
        return np.asarray(tensor.as_numpy(), dtype=np.float64).reshape(-1)
    except (ValueError, TypeError) as exc:
        raise TensorDataError(f"binary data does not match {tensor.datatype} ({exc})") from None


def _flatten(data: Sequence[object]) -> list[object]:
    """v2 JSON data may be nested (row-major); objects other than lists stay elements."""
    if not any(isinstance(v, list) for v in data):
        return list(data)
    flat: list[object] = []
    for value in data:
        flat.extend(_flatten(value) if isinstance(value, list) else [value])
    return flat


def _from_list(values: list[object], datatype: str) -> np.ndarray:
    if set(map(type, values)) <= {int, float}:
        try:
            array = np.asarray(values, dtype=np.float64)
        except OverflowError:  # an integer beyond float64: find it element by element
            array = None
        if array is not None:
            _check_range(array, datatype, values)
            return array
    array, bad = _elementwise(values)
    if bad:
        raise TensorDataError(f"{len(bad)} value(s) not numbers", bad)
    _check_range(array, datatype, values)
    return array


def _elementwise(values: list[object]) -> tuple[np.ndarray, list[BadValue]]:
    array = np.full(len(values), np.nan)
    bad = []
    for i, value in enumerate(values):
        reason = _not_a_number(value)
        if reason is None and value is not None:
            try:
                array[i] = float(value)  # type: ignore[arg-type]
            except OverflowError:
                reason = "is too large for any numeric datatype"
        if reason:
            bad.append(BadValue(i, value, reason, "numbers, or null for a missing value"))
    return array, bad


def _not_a_number(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return "is a boolean, not a number"
    if isinstance(value, str | bytes):
        return "is text, not a number"
    if not isinstance(value, _NUMBER_TYPES):
        return f"is a {type(value).__name__}, not a number"
    return None


def _check_range(array: np.ndarray, datatype: str, values: Sequence[object]) -> None:
    """Raise for elements the datatype cannot hold (NaN always passes: missing)."""
    if datatype in INTEGER_TYPES:
        info = np.iinfo(datatype.lower())
        allowed = f"whole numbers in [{info.min}, {info.max}] ({datatype}); FP64 for decimals"
        outside = (array < float(info.min)) | (array > float(info.max))
        fraction = ~outside & np.isfinite(array) & (array != np.trunc(array))
        reasons = [(outside, f"does not fit {datatype}"), (fraction, "is not a whole number")]
    elif datatype in ("FP16", "FP32"):
        limit = float(np.finfo(np.float16 if datatype == "FP16" else np.float32).max)
        allowed = f"|x| <= {limit:.4g} ({datatype}); FP64 for larger values"
        reasons = [(np.isfinite(array) & (np.abs(array) > limit), f"does not fit {datatype}")]
    else:
        return
    bad = [
        BadValue(int(i), values[int(i)], reason, allowed)
        for mask, reason in reasons
        for i in np.flatnonzero(mask)
    ]
    if bad:
        bad.sort(key=lambda b: b.index)
        raise TensorDataError(f"{len(bad)} value(s) not fitting {datatype}", bad)

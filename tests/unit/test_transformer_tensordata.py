"""serving.tensordata and transformer.decode: JSON tensor data read exactly, or refused."""

from __future__ import annotations

import math

import numpy as np
import pytest
from kserve.protocol.infer_type import InferInput, InferRequest

from serving.problems import ValidationError
from serving.tensordata import TensorDataError, numbers
from transformer import decode
from transformer.contract import FEATURE_NAMES

pytestmark = pytest.mark.unit

GOOD = {
    "age": 61,
    "sex": 1,
    "cp": 4,
    "trestbps": 140,
    "chol": 260,
    "fbs": 0,
    "restecg": 2,
    "thalach": 120,
    "exang": 1,
    "oldpeak": 2.5,
    "slope": 2,
    "ca": 2,
    "thal": 7,
}


def column(name: str, datatype: str, data: list, shape: list[int] | None = None) -> InferInput:
    return InferInput(name, shape or [len(data)], datatype, data=data)


def request(**overrides: tuple[str, list]) -> InferRequest:
    """One FP64 column per field with GOOD's value; ``overrides``: name -> (datatype, data)."""
    inputs = [column(n, *overrides.get(n, ("FP64", [GOOD[n]]))) for n in FEATURE_NAMES]
    return InferRequest("heart", inputs)


def problems(req: InferRequest) -> list[tuple[int | None, str | None, object]]:
    with pytest.raises(ValidationError) as info:
        decode.v2_matrix(req, 10)
    return [(p.row, p.field, p.value) for p in info.value.problems]


@pytest.mark.parametrize(
    ("datatype", "data", "expected"),
    [
        ("INT32", [1, None, 3], [1.0, math.nan, 3.0]),
        ("UINT8", [0, 255], [0.0, 255.0]),
        ("FP32", [[1.5], [2.5]], [1.5, 2.5]),  # v2 allows nested (row-major) data
        ("FP64", [1e300, math.inf], [1e300, math.inf]),  # inf is the caller's to judge
        ("INT64", [2**53], [2.0**53]),
    ],
)
def test_numbers_read_exactly(datatype: str, data: list, expected: list) -> None:
    got = numbers(column("x", datatype, data, [len(expected)]))
    np.testing.assert_array_equal(got, np.array(expected))


@pytest.mark.parametrize(
    ("datatype", "data", "bad_index", "reason"),
    [
        ("INT32", [1, 1.5], 1, "not a whole number"),
        ("UINT8", [-1, 3], 0, "does not fit UINT8"),
        ("UINT8", [300], 0, "does not fit UINT8"),
        ("INT64", [1e30], 0, "does not fit INT64"),
        ("INT8", [10**400], 0, "too large"),
        ("FP32", [1e40], 0, "does not fit FP32"),
        ("FP32", [1.0, True], 1, "boolean"),
        ("FP64", ["1.5"], 0, "text"),
        ("FP64", [{"a": 1}], 0, "not a number"),
    ],
)
def test_numbers_refuse_what_the_datatype_cannot_hold(
    datatype: str, data: list, bad_index: int, reason: str
) -> None:
    with pytest.raises(TensorDataError) as info:
        numbers(column("x", datatype, data))
    assert [b.index for b in info.value.bad] == [bad_index]
    assert reason in info.value.bad[0].reason and info.value.bad[0].allowed


def test_numbers_size_must_match_shape() -> None:
    with pytest.raises(TensorDataError, match="needs 3"):
        numbers(column("x", "FP32", [1.0, 2.0], [3]))


def test_binary_data_is_typed_already() -> None:
    tensor = InferInput("x", [3], "UINT8")
    tensor.set_data_from_numpy(np.array([0, 7, 255], dtype=np.uint8), binary_data=True)
    np.testing.assert_array_equal(numbers(tensor), [0.0, 7.0, 255.0])


def test_decimals_in_integer_columns_are_refused_not_truncated() -> None:
    # Before: ca INT32 [1.5] was scored as 1, age INT32 [17.9] reported as 17.
    assert problems(request(ca=("INT32", [1.5]))) == [(0, "ca", 1.5)]
    assert problems(request(age=("INT32", [17.9]))) == [(0, "age", 17.9)]


def test_overflow_is_a_field_problem() -> None:
    found = problems(request(chol=("UINT8", [300]), age=("UINT8", [-1]), thal=("INT64", [1e30])))
    assert found == [(0, "age", -1), (0, "chol", 300), (0, "thal", 1e30)]


def test_json_true_is_not_a_number() -> None:
    assert problems(request(fbs=("FP32", [True]))) == [(0, "fbs", True)]


def test_duplicate_inputs_are_refused() -> None:
    req = request()
    req.inputs.append(column("age", "FP64", [99]))
    found = problems(req)
    assert found == [(None, "age", None)]


def test_null_in_an_integer_column_is_missing() -> None:
    matrix = decode.v2_matrix(request(ca=("INT32", [None])), 10)
    assert math.isnan(matrix[0, FEATURE_NAMES.index("ca")])

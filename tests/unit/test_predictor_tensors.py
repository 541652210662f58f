"""predictor.tensors and transformer.decode: v2 tensors <-> matrices."""

from __future__ import annotations

import numpy as np
import pytest
from kserve.protocol.infer_type import InferInput, InferRequest, RequestedOutput

from predictor import tensors
from serving.errors import InvalidRequestError
from serving.problems import ValidationError
from transformer import decode
from transformer.contract import FEATURE_NAMES

pytestmark = pytest.mark.unit


def tensor(name: str, datatype: str, data: list, shape: list[int]) -> InferInput:
    return InferInput(name, shape, datatype, data=data)


def test_single_tensor_is_cast() -> None:
    request = InferRequest("heart", [tensor("x", "INT64", list(range(26)), [2, 13])])
    matrix = tensors.to_matrix(request, FEATURE_NAMES, 10)
    assert matrix.dtype == np.float32 and matrix.shape == (2, 13) and matrix[1, 0] == 13


def test_named_columns_follow_the_manifest_order() -> None:
    inputs = [
        tensor(n, "FP64", [float(i)], [1]) for i, n in reversed(list(enumerate(FEATURE_NAMES)))
    ]
    matrix = tensors.to_matrix(InferRequest("heart", inputs), FEATURE_NAMES, 10)
    assert matrix.tolist() == [list(map(float, range(13)))]


@pytest.mark.parametrize(
    "inputs",
    [
        [tensor("x", "FP32", [1.0] * 12, [1, 12])],
        [tensor("x", "BYTES", ["a"] * 13, [1, 13])],
        [tensor("x", "FP32", [1.0] * 13 * 3, [3, 13])],  # over the limit of 2
        [tensor("age", "FP32", [1.0], [1]), tensor("sex", "FP32", [1.0], [1])],
    ],
)
def test_bad_tensors_are_400(inputs: list[InferInput]) -> None:
    with pytest.raises(InvalidRequestError):
        tensors.to_matrix(InferRequest("heart", inputs), FEATURE_NAMES, 2)


def test_requested_outputs() -> None:
    request = InferRequest("heart", [], request_outputs=[RequestedOutput("label")])
    assert tensors.requested(request) == ["label"]
    with pytest.raises(InvalidRequestError, match="unknown outputs"):
        tensors.requested(InferRequest("heart", [], request_outputs=[RequestedOutput("risk")]))


def test_transformer_decode_reports_datatype_and_shape_together() -> None:
    inputs = [
        tensor("chol", "BYTES", ["high"], [1]),
        tensor("age", "FP32", [1.0, 2.0], [2, 2]),
        tensor("sex", "BOOL", [True], [1]),
    ]
    with pytest.raises(ValidationError) as info:
        decode.v2_matrix(InferRequest("heart", inputs), 10)
    assert [p.field for p in info.value.problems] == ["chol", "age", "sex"]


ROW = [63.0, 1, 4, 145, 233, 1, 2, 150, 0, 2, 3, 0, 6]  # whole numbers: fit every datatype


def rejected(call, *args) -> list[tuple[int | None, str | None, object]]:
    with pytest.raises(InvalidRequestError) as info:
        call(*args)
    return [(p.row, p.field, p.value) for p in info.value.problems]


@pytest.mark.parametrize(
    ("datatype", "value"),
    [
        ("UINT8", -1),
        ("UINT8", 300),
        ("INT64", 1e30),
        ("INT32", 1.5),
        ("FP32", 1e40),
        ("FP32", True),
        ("FP64", "7"),
    ],
)
def test_values_the_datatype_cannot_hold_are_named(datatype: str, value: object) -> None:
    data = [*ROW[:4], value, *ROW[5:]]  # column 4 is chol
    request = InferRequest("heart", [tensor("x", datatype, data, [1, 13])])
    assert rejected(tensors.to_matrix, request, FEATURE_NAMES, 10) == [(0, "chol", value)]


@pytest.mark.parametrize("value", [float("inf"), -float("inf"), 1e40])
def test_non_finite_float32_values_are_refused_nan_is_missing(value: float) -> None:
    data = [*ROW[:12], value, *ROW, *ROW[:12], float("nan")]
    request = InferRequest("heart", [tensor("x", "FP64", data, [3, 13])])
    assert rejected(tensors.to_matrix, request, FEATURE_NAMES, 10) == [(0, "thal", value)]
    ok = InferRequest("heart", [tensor("x", "FP64", [*ROW, *ROW[:12], None], [2, 13])])
    assert np.isnan(tensors.to_matrix(ok, FEATURE_NAMES, 10)[1, 12])


def test_duplicate_named_inputs_are_refused() -> None:
    inputs = [tensor(n, "FP32", [1.0], [1]) for n in FEATURE_NAMES]
    inputs.append(tensor("age", "FP32", [2.0], [1]))
    with pytest.raises(InvalidRequestError, match=r"duplicated \['age'\]"):
        tensors.to_matrix(InferRequest("heart", inputs), FEATURE_NAMES, 10)


def test_v1_rows_numbers_or_objects() -> None:
    record = dict(zip(FEATURE_NAMES, ROW, strict=True)) | {"ca": None}
    matrix = tensors.v1_matrix([ROW, record], FEATURE_NAMES, 10)
    assert matrix.dtype == np.float32 and matrix.shape == (2, 13) and np.isnan(matrix[1, 11])


@pytest.mark.parametrize(
    ("instance", "expected"),
    [
        ([[1]] * 13, [(0, name, None) for name in FEATURE_NAMES]),  # nested: ONNX "Invalid rank"
        ([1.0] * 12, [(0, None, None)]),
        (dict(zip(FEATURE_NAMES, ROW, strict=True)) | {"bmi": 24}, [(0, "bmi", None)]),
        ([*ROW[:12], True], [(0, "thal", True)]),
        ([*ROW[:12], float("inf")], [(0, "thal", float("inf"))]),
        ([*ROW[:12], "6"], [(0, "thal", "6")]),
    ],
)
def test_v1_bad_instances(instance: object, expected: list) -> None:
    assert rejected(tensors.v1_matrix, [ROW, instance][1:], FEATURE_NAMES, 10) == expected


def test_v1_batch_limit() -> None:
    with pytest.raises(InvalidRequestError, match="limit is 2"):
        tensors.v1_matrix([ROW] * 3, FEATURE_NAMES, 2)

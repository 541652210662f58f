"""predictor.tensors and transformer.decode: v2 tensors <-> matrices."""

from __future__ import annotations

import numpy as np
import pytest
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import InferInput, InferRequest, RequestedOutput

from predictor import tensors
from transformer import decode
from transformer.contract import FEATURE_NAMES
from transformer.validation import ValidationError

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
    with pytest.raises(InvalidInput):
        tensors.to_matrix(InferRequest("heart", inputs), FEATURE_NAMES, 2)


def test_requested_outputs() -> None:
    request = InferRequest("heart", [], request_outputs=[RequestedOutput("label")])
    assert tensors.requested(request) == ["label"]
    with pytest.raises(InvalidInput, match="unknown outputs"):
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

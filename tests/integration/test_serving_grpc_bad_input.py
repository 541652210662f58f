"""Bad input over gRPC: INVALID_ARGUMENT naming the field, and the server still serves.

Each case is followed by a health check (ModelReady) and a good request on
the same server: a bad request must never leave it broken.
"""

from __future__ import annotations

import grpc
import numpy as np
import pytest
from kserve import InferInput, InferRequest

from tests.integration.serving_fixtures import Server, grpc_infer, grpc_model_ready
from transformer.contract import FEATURE_NAMES

pytestmark = pytest.mark.integration

GOOD = dict(zip(FEATURE_NAMES, [61, 1, 4, 140, 260, 0, 2, 120, 1, 2.5, 2, 2, 7], strict=True))


def column(name: str, datatype: str, values: list) -> InferInput:
    tensor = InferInput(name, [len(values)], datatype)
    tensor.data = values
    return tensor


def patient(rows: int = 1, **changes: tuple[str, list[object]] | None) -> InferRequest:
    """FP64 columns of GOOD (``rows`` copies); ``changes``: name -> (datatype, data) or None."""
    inputs = []
    for name in FEATURE_NAMES:
        change = changes.get(name, ("FP64", [GOOD[name]] * rows))
        if change is not None:
            inputs.append(column(name, *change))
    return InferRequest(model_name="heart", infer_inputs=inputs)


def with_extra(request: InferRequest, tensor: InferInput) -> InferRequest:
    request.inputs.append(tensor)
    return request


#: Transformer requests -> words INVALID_ARGUMENT's details must contain.
TRANSFORMER_CASES = {
    "NaN in a required field": (patient(age=("FP32", [float("nan")])), ["'age'", "required"]),
    "inf": (patient(oldpeak=("FP64", [float("inf")])), ["'oldpeak'", "finite"]),
    "unknown label": (patient(sex=("BYTES", ["robot"])), ["'sex'", "1 (male)"]),
    "unknown code": (patient(cp=("INT32", [9])), ["'cp'", "4 (asymptomatic)"]),
    "UINT8 overflow (was a 500)": (patient(chol=("UINT8", [300])), ["'chol'", "UINT8", "300"]),
    "INT8 overflow (was a 500)": (patient(age=("INT8", [200])), ["'age'", "INT8"]),
    "BYTES for a numeric field": (patient(chol=("BYTES", ["high"])), ["'chol'", "datatype"]),
    "missing field": (patient(sex=None), ["'sex'", "required"]),
    "unknown field": (with_extra(patient(), column("bmi", "FP32", [24.0])), ["'bmi'"]),
    "duplicate field": (with_extra(patient(), column("age", "FP32", [50.0])), ["more than once"]),
    "mismatched lengths": (patient(age=("FP64", [50, 51])), ["differ in length"]),
    "empty batch": (patient(rows=0), ["empty"]),
    "over the size limit": (patient(rows=1025), ["limit is 1024"]),
}


@pytest.mark.parametrize("case", list(TRANSFORMER_CASES))
def test_transformer_grpc_bad_input(transformer_grpc: Server, case: str) -> None:
    request, words = TRANSFORMER_CASES[case]
    result = grpc_infer(transformer_grpc.grpc, request)
    assert result.code == grpc.StatusCode.INVALID_ARGUMENT, result.details
    for word in words:
        assert word in result.details
    assert grpc_model_ready(transformer_grpc.grpc)
    assert grpc_infer(transformer_grpc.grpc, patient()).code == grpc.StatusCode.OK


def features(matrix: np.ndarray, datatype: str = "FP32") -> InferRequest:
    tensor = InferInput("features", list(matrix.shape), datatype)
    tensor.data = matrix.ravel().tolist()  # typed gRPC contents (uint_contents for UINT8)
    return InferRequest(model_name="heart", infer_inputs=[tensor])


ROW = np.array([list(GOOD.values())])
INTEGERS = np.array([[61, 1, 4, 140, 300, 0, 2, 120, 1, 2, 2, 2, 7]])  # chol 300 > UINT8
PREDICTOR_CASES = {
    "12 columns": (features(ROW[:, :12]), ["expected [N, 13]"]),
    "inf": (features(np.where(np.arange(13) == 4, np.inf, ROW)), ["'chol'", "finite"]),
    "UINT8 overflow (was a 500)": (features(INTEGERS, "UINT8"), ["'chol'", "does not fit UINT8"]),
    "integers that fit": (features(np.minimum(INTEGERS, 255), "UINT8"), []),
    "BYTES": (features(np.array([["x"] * 13]), "BYTES"), ["not numeric"]),
}


@pytest.mark.parametrize("case", list(PREDICTOR_CASES))
def test_predictor_grpc_bad_input(predictor: Server, case: str) -> None:
    request, words = PREDICTOR_CASES[case]
    result = grpc_infer(predictor.grpc, request)
    expected = grpc.StatusCode.INVALID_ARGUMENT if words else grpc.StatusCode.OK
    assert result.code == expected, result.details
    for word in words:
        assert word in result.details
    assert grpc_model_ready(predictor.grpc)
    assert grpc_infer(predictor.grpc, features(ROW)).code == grpc.StatusCode.OK

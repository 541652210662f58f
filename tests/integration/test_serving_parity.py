"""Parity: every Cleveland row served through the transformer (REST and gRPC) and
directly by the predictor equals the in-process Pipeline's predict_proba."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import joblib
import numpy as np
import pytest
from kserve import InferenceGRPCClient, InferInput, InferRequest

from tests.integration.serving_fixtures import Server, v2_columns
from training.data import load_site
from transformer.contract import FEATURE_NAMES
from transformer.synthetic import to_records

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cleveland(data_source: str, tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    matrix, _ = load_site("cleveland", data_source, tmp_path_factory.mktemp("uci-cache"))
    return matrix


#: The default engine runs model.onnx in ONNX Runtime (predictor.engines): it sums the trees in
#: float32, a few float32 ulps (measured <= 1.8e-7) from sklearn's float64 sum.
FLOAT32_ATOL = 1e-6


def assert_parity(served: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(served, expected, rtol=0, atol=FLOAT32_ATOL)
    assert served.shape == expected.shape


@pytest.fixture(scope="module")
def expected(synthetic_model_dir: Path, cleveland: np.ndarray) -> np.ndarray:
    pipeline = joblib.load(synthetic_model_dir / "model.joblib")
    return pipeline.predict_proba(cleveland)[:, 1].astype(np.float32)


def test_cleveland_is_all_there(cleveland: np.ndarray) -> None:
    assert cleveland.shape == (303, 13)
    assert np.isnan(cleveland).any()  # missing ca/thal travel as null and are imputed


def test_parity_transformer_rest(transformer_rest: Server, cleveland, expected) -> None:
    body = json.dumps(v2_columns(to_records(cleveland)))
    response = transformer_rest.post(
        "/v2/models/heart/infer", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    risk = np.asarray(response.json()["outputs"][0]["data"], dtype=np.float32)
    assert_parity(risk, expected)


def test_parity_transformer_grpc(transformer_grpc: Server, cleveland, expected) -> None:
    request = InferRequest(model_name="heart", infer_inputs=[])
    for i, name in enumerate(FEATURE_NAMES):
        tensor = InferInput(name, [len(cleveland)], "FP32")
        tensor.set_data_from_numpy(cleveland[:, i], binary_data=False)
        request.inputs.append(tensor)

    async def call() -> np.ndarray:
        client = InferenceGRPCClient(transformer_grpc.grpc, timeout=20, retries=0)
        try:
            response = await client.infer(request)
        finally:
            await client.close()
        return response.outputs[0].as_numpy()

    assert_parity(asyncio.run(call()), expected)


def test_parity_predictor_direct(predictor: Server, cleveland, expected) -> None:
    tensor = {
        "name": "features",
        "datatype": "FP32",
        "shape": list(cleveland.shape),
        "data": [None if np.isnan(v) else float(v) for v in cleveland.ravel()],
    }
    response = predictor.post("/v2/models/heart/infer", json={"inputs": [tensor]})
    assert response.status_code == 200, response.text
    probability = np.asarray(response.json()["outputs"][0]["data"], dtype=np.float32)
    assert_parity(probability, expected)

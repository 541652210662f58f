"""End to end through real processes: transformer (REST and gRPC) -> predictor."""

from __future__ import annotations

import asyncio
from pathlib import Path

import joblib
import numpy as np
import pytest
from kserve import InferenceGRPCClient, InferInput, InferRequest

from tests.integration.serving_fixtures import Server, v2_columns
from transformer.contract import CONTRACT_HASH, FEATURE_NAMES, LABELS
from transformer.synthetic import generate, to_records

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return generate(20, seed=3, missing_rate=0.1)


@pytest.fixture(scope="module")
def expected(synthetic_model_dir: Path, rows: np.ndarray) -> np.ndarray:
    pipeline = joblib.load(synthetic_model_dir / "model.joblib")
    return pipeline.predict_proba(rows)[:, 1].astype(np.float32)


def outputs(body: dict) -> dict[str, list]:
    return {o["name"]: o["data"] for o in body["outputs"]}


def grpc_infer(address: str, request: InferRequest) -> dict[str, np.ndarray]:
    async def call() -> dict[str, np.ndarray]:
        client = InferenceGRPCClient(address, timeout=10, retries=0)
        try:
            response = await client.infer(request)
        finally:
            await client.close()
        return {o.name: o.as_numpy() for o in response.outputs} | {
            "_version": response.model_version
        }

    return asyncio.run(call())


def test_v2_rest_through_transformer(transformer_rest: Server, rows, expected) -> None:
    response = transformer_rest.post("/v2/models/heart/infer", json=v2_columns(to_records(rows)))
    assert response.status_code == 200, response.text
    body = response.json()
    got = outputs(body)
    np.testing.assert_allclose(got["risk"], expected, rtol=0, atol=1e-6)
    threshold = 0.5
    assert got["label"] == [LABELS[int(p >= threshold)] for p in expected]
    assert body["model_version"] == "1"


def test_v2_grpc_through_transformer(transformer_grpc: Server, rows, expected) -> None:
    request = InferRequest(model_name="heart", infer_inputs=[])
    for i, name in enumerate(FEATURE_NAMES):
        tensor = InferInput(name, [len(rows)], "FP32")
        tensor.set_data_from_numpy(rows[:, i], binary_data=False)
        request.inputs.append(tensor)
    got = grpc_infer(transformer_grpc.grpc, request)
    np.testing.assert_allclose(got["risk"], expected, rtol=0, atol=1e-6)
    assert [b.decode() for b in got["label"]] == [LABELS[int(p >= 0.5)] for p in expected]
    assert got["_version"] == "1"


def test_bytes_labels_equal_codes(transformer_rest: Server) -> None:
    record = {
        "age": 61,
        "sex": 1,
        "cp": 4,
        "trestbps": 140,
        "chol": 260,
        "thalach": 120,
        "exang": 1,
        "oldpeak": 2.5,
        "slope": 2,
        "ca": 2,
        "thal": 7,
    }
    by_code = outputs(
        transformer_rest.post("/v2/models/heart/infer", json=v2_columns([record])).json()
    )
    body = v2_columns([record])
    for tensor in body["inputs"]:
        if tensor["name"] in ("sex", "cp", "exang", "thal"):
            tensor["datatype"] = "BYTES"
    labels = {"sex": "male", "cp": "Asymptomatic", "exang": "yes", "thal": "reversible defect"}
    for tensor in body["inputs"]:
        if tensor["name"] in labels:
            tensor["data"] = [labels[tensor["name"]]]
    by_label = outputs(transformer_rest.post("/v2/models/heart/infer", json=body).json())
    assert by_label == by_code


def test_v1_through_transformer(transformer_rest: Server, rows, expected) -> None:
    response = transformer_rest.post(
        "/v1/models/heart:predict", json={"instances": to_records(rows)}
    )
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    np.testing.assert_allclose([p["risk"] for p in predictions], expected, atol=1e-6)
    assert response.json()["model_version"] == "1"


def test_requested_outputs_only(transformer_rest: Server, predictor: Server, rows) -> None:
    body = v2_columns(to_records(rows[:2])) | {"outputs": [{"name": "label"}]}
    assert list(outputs(transformer_rest.post("/v2/models/heart/infer", json=body).json())) == [
        "label"
    ]
    tensor = {
        "name": "features",
        "datatype": "FP32",
        "shape": [2, 13],
        "data": np.nan_to_num(rows[:2]).ravel().tolist(),
    }
    direct = {"inputs": [tensor], "outputs": [{"name": "probability"}]}
    assert list(outputs(predictor.post("/v2/models/heart/infer", json=direct).json())) == [
        "probability"
    ]


@pytest.mark.parametrize("datatype", ["FP32", "FP64", "INT32", "INT64"])
def test_direct_predictor_casts(
    predictor: Server, synthetic_model_dir: Path, datatype: str
) -> None:
    matrix = np.nan_to_num(generate(5, seed=11)).round()
    tensor = {
        "name": "features",
        "datatype": datatype,
        "shape": [5, 13],
        "data": matrix.astype(int if "INT" in datatype else float).ravel().tolist(),
    }
    response = predictor.post("/v2/models/heart/infer", json={"inputs": [tensor]})
    assert response.status_code == 200, response.text
    pipeline = joblib.load(synthetic_model_dir / "model.joblib")
    expected = pipeline.predict_proba(matrix.astype(np.float32))[:, 1]
    np.testing.assert_allclose(outputs(response.json())["probability"], expected, atol=1e-6)


def test_direct_predictor_named_columns_and_grpc(predictor: Server, rows) -> None:
    body = v2_columns(to_records(rows))
    by_name = outputs(predictor.post("/v2/models/heart/infer", json=body).json())
    tensor = InferInput("features", list(rows.shape), "FP32")
    tensor.set_data_from_numpy(rows, binary_data=False)
    got = grpc_infer(predictor.grpc, InferRequest(model_name="heart", infer_inputs=[tensor]))
    np.testing.assert_allclose(got["probability"], by_name["probability"], atol=1e-7)
    assert got["label"].tolist() == by_name["label"]


def test_predictor_v1(predictor: Server, rows) -> None:
    instances = [[None if np.isnan(v) else float(v) for v in row] for row in rows[:3]]
    response = predictor.post("/v1/models/heart:predict", json={"instances": instances})
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == 3


def test_predictor_metadata(predictor: Server) -> None:
    meta = predictor.get("/v2/models/heart").json()
    assert meta["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [-1, 13]}]
    assert [o["name"] for o in meta["outputs"]] == ["probability", "label"]
    assert meta["versions"] == ["1"]
    assert meta["parameters"]["contract_hash"] == CONTRACT_HASH
    assert meta["parameters"]["feature_order"].split(",") == list(FEATURE_NAMES)
    assert meta["parameters"]["engine"] == "onnx"  # model.onnx, parity-checked at export


def test_transformer_metadata(transformer_rest: Server) -> None:
    meta = transformer_rest.get("/v2/models/heart").json()
    assert [i["name"] for i in meta["inputs"]] == list(FEATURE_NAMES)
    assert [o["name"] for o in meta["outputs"]] == ["risk", "label"]
    assert meta["parameters"]["contract_hash"] == CONTRACT_HASH


@pytest.mark.parametrize(
    "path",
    ["/", "/v2/health/live", "/v2/health/ready", "/v2/models/heart/ready", "/v1/models/heart"],
)
def test_liveness_and_readiness(predictor: Server, transformer_rest: Server, path: str) -> None:
    assert predictor.get(path).status_code == 200
    assert transformer_rest.get(path).status_code == 200


def test_no_deprecation_warning_per_request(predictor: Server, transformer_rest: Server) -> None:
    transformer_rest.post("/v1/models/heart:predict", json={"instances": to_records(generate(2))})
    for server in (predictor, transformer_rest):
        log = server.log.read_text()
        assert "POST /v1/models/heart:predict" in log or "infer" in log
        assert "Deprecat" not in log and "deprecated" not in log

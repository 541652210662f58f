"""Failure modes with real processes: predictor down or hung, tampered model, skewed contract."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from kserve import InferenceGRPCClient, InferInput, InferRequest

from tests.conftest import free_port
from tests.integration.serving_fixtures import (
    Server,
    predictor_server,
    transformer_server,
    wait_for,
)
from transformer.synthetic import generate, to_records

pytestmark = pytest.mark.integration

FAST_CHECK = [
    "--contract_check_interval_seconds",
    "0.5",
    "--predictor_request_timeout_seconds",
    "2",
]
ONE = {"instances": to_records(generate(1, seed=5))}


def model_copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


@pytest.fixture
def started() -> Iterator[list[Server]]:
    """Servers a test starts; all stopped afterwards, whatever happens."""
    servers: list[Server] = []
    yield servers
    for server in servers:
        server.stop()


def grpc_code(address: str) -> grpc.StatusCode:
    request = InferRequest(model_name="heart", infer_inputs=[])
    for name, value in (("age", 50.0), ("sex", 1.0), ("cp", 2.0)):
        tensor = InferInput(name, [1], "FP32")
        tensor.data = [value]
        request.inputs.append(tensor)

    async def call() -> grpc.StatusCode:
        client = InferenceGRPCClient(address, timeout=10, retries=0)
        try:
            await client.infer(request)
            return grpc.StatusCode.OK
        except grpc.aio.AioRpcError as exc:
            return exc.code()
        finally:
            await client.close()

    return asyncio.run(call())


def test_predictor_down_then_back(synthetic_model_dir, serving_logs, started) -> None:
    pred = predictor_server(synthetic_model_dir, serving_logs).start()
    started.append(pred)
    pred.wait_ready()
    rest = transformer_server(f"127.0.0.1:{pred.http_port}", "v2", serving_logs, FAST_CHECK)
    grpc_t = transformer_server(pred.grpc, "grpc-v2", serving_logs, FAST_CHECK)
    started.extend([rest.start(), grpc_t.start()])
    rest.wait_ready()
    grpc_t.wait_ready()
    assert rest.post("/v1/models/heart:predict", json=ONE).status_code == 200

    pred.stop()
    began = time.monotonic()
    down = rest.post("/v1/models/heart:predict", json=ONE)
    assert down.status_code == 503
    assert "predictor" in down.json()["error"]
    assert grpc_code(grpc_t.grpc) == grpc.StatusCode.UNAVAILABLE
    assert time.monotonic() - began < 10
    assert wait_for(lambda: rest.get("/v2/models/heart/ready").status_code == 503, 5)

    pred.start().wait_ready()  # same ports: the transformers recover without a restart
    ok = lambda: rest.post("/v1/models/heart:predict", json=ONE).status_code == 200  # noqa: E731
    assert wait_for(ok, 15)
    assert wait_for(lambda: grpc_code(grpc_t.grpc) == grpc.StatusCode.OK, 15)
    assert rest.get("/v2/models/heart/ready").status_code == 200


def test_hung_predictor_gives_503_within_the_timeout(serving_logs, started) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", free_port()))
    silent.listen(16)  # accepts connections, never answers
    try:
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        extra = ["--predictor_request_timeout_seconds", "1"]
        rest = transformer_server(address, "v2", serving_logs, extra).start()
        started.append(rest)
        rest.wait_live()
        began = time.monotonic()
        response = rest.post("/v1/models/heart:predict", json=ONE)
        assert response.status_code == 503
        assert time.monotonic() - began < 6
        assert "predictor" in response.json()["error"]
    finally:
        silent.close()


def test_tampered_model_is_refused(synthetic_model_dir, tmp_path, serving_logs, started) -> None:
    model = model_copy(synthetic_model_dir, tmp_path / "model")
    with (model / "model.joblib").open("ab") as handle:
        handle.write(b"\0")
    pred = predictor_server(model, serving_logs).start()
    started.append(pred)
    pred.wait_live()
    ready = pred.get("/v2/models/heart/ready")
    assert ready.status_code == 503
    assert "sha256" in ready.json()["error"]
    assert pred.get("/v2/health/ready").status_code == 503
    body = {
        "inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 13], "data": [1] * 13}]
    }
    assert pred.post("/v2/models/heart/infer", json=body).status_code == 503
    refusals = [line for line in pred.log.read_text().splitlines() if "refusing to load" in line]
    assert len(refusals) >= 1 and "sha256" in refusals[0]


def test_sklearn_version_mismatch_is_refused(synthetic_model_dir, tmp_path, serving_logs, started):
    model = model_copy(synthetic_model_dir, tmp_path / "model")
    manifest = json.loads((model / "model.json").read_text())
    (model / "model.json").write_text(json.dumps(manifest | {"sklearn_version": "0.24.2"}))
    pred = predictor_server(model, serving_logs).start()
    started.append(pred)
    pred.wait_live()
    ready = pred.get("/v2/models/heart/ready")
    assert ready.status_code == 503 and "scikit-learn" in ready.json()["error"]


def test_contract_mismatch_makes_transformer_not_ready(
    synthetic_model_dir, tmp_path, serving_logs, started
) -> None:
    model = model_copy(synthetic_model_dir, tmp_path / "model")
    manifest = json.loads((model / "model.json").read_text())
    (model / "model.json").write_text(json.dumps(manifest | {"contract_hash": "0" * 64}))
    pred = predictor_server(model, serving_logs).start()
    started.append(pred)
    pred.wait_ready()  # the predictor itself is fine: the *pair* is skewed
    for protocol, address in (("v2", f"127.0.0.1:{pred.http_port}"), ("grpc-v2", pred.grpc)):
        t = transformer_server(address, protocol, serving_logs).start()
        started.append(t)
        t.wait_live()
        ready = t.get("/v2/models/heart/ready")
        assert ready.status_code == 503
        assert "contract hash" in ready.json()["error"]
        assert t.post("/v1/models/heart:predict", json=ONE).status_code == 503

"""One request followed through both servers' JSON request logs by its id (REST and gRPC hops).

The servers run with ``--log_requests``: one JSON line per request on
stdout, with the request's id (:mod:`serving.request_id`: the v2 body's
``id``, else ``x-request-id``, else generated), which reaches the predictor
over REST (header) and gRPC (metadata). No line holds a field value.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.serving_fixtures import (
    Server,
    predictor_server,
    transformer_server,
    v2_columns,
    wait_for,
)

pytestmark = pytest.mark.integration
KEYS = {
    "ts",
    "server",
    "request_id",
    "protocol",
    "route",
    "model_version",
    "code",
    "outcome",
    "rows",
    "latency_ms",
}
#: A value no other test sends: it must never reach a log.
CHOL = 287.25
RECORD = {
    "age": 61,
    "sex": 1,
    "cp": 4,
    "trestbps": 140,
    "chol": CHOL,
    "fbs": 0,
    "restecg": 2,
    "thalach": 138,
    "exang": 1,
    "oldpeak": 1.9,
    "slope": 2,
    "ca": 1,
    "thal": 7,
}


@pytest.fixture(scope="module")
def servers(synthetic_model_dir: Path, tmp_path_factory) -> Iterator[dict[str, Server]]:
    logs = tmp_path_factory.mktemp("request-logs")
    pred = predictor_server(synthetic_model_dir, logs, ["--log_requests"]).start()
    started = {"predictor": pred}
    try:
        pred.wait_ready()
        for protocol, address in (("v2", f"127.0.0.1:{pred.http_port}"), ("grpc-v2", pred.grpc)):
            server = transformer_server(address, protocol, logs, ["--log_requests"]).start()
            started[protocol] = server
        for name in ("v2", "grpc-v2"):
            started[name].wait_ready()
        yield started
    finally:
        for server in started.values():
            server.stop()


def lines(server: Server) -> list[dict[str, Any]]:
    found = []
    for line in server.log.read_text().splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


def line_for(server: Server, request_id: str) -> dict[str, Any]:
    def find() -> list[dict[str, Any]]:
        return [entry for entry in lines(server) if entry["request_id"] == request_id]

    assert wait_for(find, 10), f"{request_id} not in {server.log}"
    (entry,) = find()
    return entry


@pytest.mark.parametrize("hop", ["v2", "grpc-v2"])
def test_a_generated_id_follows_the_request_into_the_predictor(servers, hop: str) -> None:
    transformer, predictor = servers[hop], servers["predictor"]
    response = transformer.post("/v2/models/heart/infer", json=v2_columns([RECORD, RECORD]))
    assert response.status_code == 200, response.text
    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", request_id)
    front, back = line_for(transformer, request_id), line_for(predictor, request_id)
    assert set(front) == KEYS and set(back) == KEYS
    assert (front["server"], front["protocol"], front["outcome"]) == ("transformer", "rest", "ok")
    assert (back["server"], back["outcome"], back["rows"], front["rows"]) == (
        "predictor",
        "ok",
        2,
        2,
    )
    assert back["protocol"] == ("grpc" if hop == "grpc-v2" else "rest")
    assert front["model_version"] == back["model_version"] == "1"
    assert {"decode", "validate", "hop", "encode"} <= set(front["latency_ms"])
    assert {"decode", "model", "encode"} <= set(back["latency_ms"])
    assert front["latency_ms"]["hop"] >= back["latency_ms"]["model"]


@pytest.mark.parametrize("hop", ["v2", "grpc-v2"])
def test_the_callers_id_header_or_v2_id_is_kept(servers, hop: str) -> None:
    transformer, predictor = servers[hop], servers["predictor"]
    by_header = transformer.post(
        "/v1/models/heart:predict",
        json={"instances": [RECORD]},
        headers={"x-request-id": f"trace-{hop}-1"},
    )
    assert by_header.headers["x-request-id"] == f"trace-{hop}-1"
    body = {**v2_columns([RECORD]), "id": f"body-{hop}-2"}
    by_body = transformer.post("/v2/models/heart/infer", json=body)
    assert by_body.headers["x-request-id"] == f"body-{hop}-2"
    assert by_body.json()["id"] == f"body-{hop}-2"
    for request_id in (f"trace-{hop}-1", f"body-{hop}-2"):
        assert line_for(transformer, request_id)["outcome"] == "ok"
        assert line_for(predictor, request_id)["outcome"] == "ok"


def test_an_id_that_cannot_travel_as_a_header_is_replaced_in_the_logs(servers) -> None:
    transformer, predictor = servers["v2"], servers["predictor"]
    body = {**v2_columns([RECORD]), "id": "Müller-7"}
    response = transformer.post("/v2/models/heart/infer", json=body)
    assert response.status_code == 200
    replaced = response.headers["x-request-id"]
    assert replaced != "Müller-7"
    assert line_for(transformer, replaced)["outcome"] == "ok"
    assert line_for(predictor, replaced)["outcome"] == "ok"
    for server in (transformer, predictor):
        assert "Müller" not in server.log.read_text()


def test_grpc_callers_get_their_id_back(servers) -> None:
    from kserve import InferenceGRPCClient, InferInput, InferRequest

    transformer, predictor = servers["grpc-v2"], servers["predictor"]

    async def call() -> Any:
        client = InferenceGRPCClient(transformer.grpc, timeout=10, retries=0)
        try:
            inputs = []
            for name, value in RECORD.items():
                tensor = InferInput(name, [1], "FP64")
                tensor.set_data_from_numpy(__import__("numpy").array([value], dtype="float64"))
                inputs.append(tensor)
            request = InferRequest(model_name="heart", infer_inputs=inputs, request_id="grpc-7")
            return await client.infer(request)
        finally:
            await client.close()

    response = asyncio.run(call())
    assert response.id == "grpc-7"
    front = line_for(transformer, "grpc-7")
    assert (front["protocol"], front["route"], front["outcome"]) == ("grpc", "ModelInfer", "ok")
    assert line_for(predictor, "grpc-7")["outcome"] == "ok"


def test_a_refused_request_is_logged_without_its_values(servers) -> None:
    transformer = servers["v2"]
    bad = {**RECORD, "cp": 9, "chol": 1234.5}
    response = transformer.post(
        "/v1/models/heart:predict", json={"instances": [bad]}, headers={"x-request-id": "bad-1"}
    )
    assert response.status_code == 400
    entry = line_for(transformer, "bad-1")
    assert (entry["outcome"], entry["code"], entry["rows"]) == ("invalid", "400", 0)
    for server in servers.values():
        text = server.log.read_text()
        assert str(CHOL) not in text and "1234.5" not in text

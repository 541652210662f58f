"""One id per request: echoed, passed from the transformer to the predictor, in the logs.

The predictor's proof that it received the id is KServe's own per-request
latency line (``--enable_latency_logging``, on by default), which prints the
``x-request-id`` header or gRPC metadata the call carried
(kserve/python/kserve/kserve/model.py, ``Model.__call__``: "requestId: ...").
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conformance.conftest import Target, v2_inputs

pytestmark = pytest.mark.conformance


def wait_for_line(log: Path, text: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if text in line:
                return line
        time.sleep(0.2)
    raise AssertionError(f"no line with {text!r} in {log.name}")


@pytest.mark.parametrize(
    ("transformer", "predictor"),
    [("transformer-grpc", "predictor-onnx"), ("transformer-rest", "predictor-sklearn")],
)
@pytest.mark.parametrize("how", ["body", "header", "generated"])
def test_the_transformer_passes_the_id_to_the_predictor(
    targets: dict[str, Target], transformer: str, predictor: str, how: str
) -> None:
    body: dict = {"inputs": v2_inputs("transformer")}
    headers = {"content-type": "application/json"}
    sent = f"{how}-{uuid.uuid4()}"
    if how == "body":
        body["id"] = sent
    elif how == "header":
        headers["x-request-id"] = sent
    front = targets[transformer].server
    response = httpx.post(
        f"{front.url}/v2/models/heart/infer", content=json.dumps(body), headers=headers, timeout=30
    )
    assert response.status_code == 200, response.text
    got = response.json()["id"]
    assert got == response.headers["x-request-id"]
    if how == "generated":
        assert uuid.UUID(got).version == 4
    else:
        assert got == sent
    wait_for_line(targets[predictor].server.log, f"requestId: {got}")


@pytest.mark.parametrize("name", ["predictor-onnx", "transformer-rest"])
def test_bad_request_log_line_names_the_id(targets: dict[str, Target], name: str) -> None:
    server = targets[name].server
    inputs = v2_inputs(targets[name].kind)
    inputs[0] = {**inputs[0], "data": ["text"] * len(inputs[0]["data"])}  # FP32/FP64 text: 400
    sent = f"bad-{uuid.uuid4()}"
    response = httpx.post(
        f"{server.url}/v2/models/heart/infer",
        timeout=30,
        content=json.dumps({"id": sent, "inputs": inputs}),
    )
    assert response.status_code == 400 and response.headers["x-request-id"] == sent
    line = wait_for_line(server.log, f"[request {sent}]")
    assert "bad request" in line or "InvalidRequestError" in line

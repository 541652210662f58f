"""Plain HTTP as the Open Inference Protocol's REST text describes it, no client library.

kserve/open-inference-protocol specification/protocol/inference_rest.md:
health (``/v2/health/live``, ``/v2/health/ready``, ``.../ready``), server
metadata (``GET /v2``), model metadata (name, versions, platform, inputs,
outputs), inference with ``outputs`` selecting tensors, ``parameters`` and
``id`` echoed; the binary tensor data extension
(``inference-header-content-length``). Plus what curl users send: ``curl -d``
is ``application/x-www-form-urlencoded``.
"""

from __future__ import annotations

import json
import struct
import uuid

import httpx
import numpy as np
import pytest

from tests.conformance.conftest import ROWS, Reference, Target, check_answer, v2_inputs

pytestmark = pytest.mark.conformance


def infer(
    target: Target, body: dict, path: str = "/v2/models/heart/infer", **kwargs: object
) -> httpx.Response:
    return httpx.post(target.server.url + path, content=json.dumps(body), timeout=30, **kwargs)  # type: ignore[arg-type]


def outputs(response: httpx.Response) -> dict[str, list]:
    assert response.status_code == 200, response.text
    return {o["name"]: o["data"] for o in response.json()["outputs"]}


@pytest.mark.parametrize("path", ["/v2", "/v2/"])
def test_server_metadata(target: Target, path: str) -> None:
    body = httpx.get(target.server.url + path, timeout=10).json()
    assert (
        body["name"] and isinstance(body["version"], str) and isinstance(body["extensions"], list)
    )


def test_health_and_model_readiness(target: Target, reference: Reference) -> None:
    base = target.server.url
    for path in (
        "/v2/health/live",
        "/v2/health/ready",
        "/v2/models/heart/ready",
        f"/v2/models/heart/versions/{reference.version}/ready",
    ):
        assert httpx.get(base + path, timeout=10).status_code == 200, path
    assert httpx.get(base + "/v2/models/heart/versions/999/ready", timeout=10).status_code == 404
    assert httpx.get(base + "/v2/models/nothing/ready", timeout=10).status_code == 404


def test_model_metadata(target: Target, reference: Reference) -> None:
    for path in ("/v2/models/heart", f"/v2/models/heart/versions/{reference.version}"):
        body = httpx.get(target.server.url + path, timeout=10).json()
        assert body["name"] == "heart" and body["versions"] == [reference.version]
        assert "platform" in body and [o["name"] for o in body["outputs"]] == list(target.outputs)
        assert {i["name"] for i in body["inputs"]} >= {i["name"] for i in v2_inputs(target.kind)}


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "application/json"},
        {},
        {"content-type": "application/x-www-form-urlencoded"},
    ],
    ids=["json", "no-content-type", "curl-d"],
)
def test_infer_with_any_content_type(target: Target, reference: Reference, headers: dict) -> None:
    response = infer(target, {"inputs": v2_inputs(target.kind)}, headers=headers)
    check_answer(reference, target, outputs(response))
    assert response.json()["model_version"] == reference.version
    assert all("parameters" not in o for o in response.json()["outputs"])  # no nulls


def test_outputs_select_one_tensor(target: Target, reference: Reference) -> None:
    body = {"inputs": v2_inputs(target.kind), "outputs": [{"name": "label"}]}
    found = outputs(infer(target, body))
    assert list(found) == ["label"]
    check_answer(reference, target, {target.score: reference.probability(ROWS), **found})


def test_id_and_parameters(target: Target, reference: Reference) -> None:
    body = {"id": "plain-1", "parameters": {"note": "x", "n": 3}, "inputs": v2_inputs(target.kind)}
    response = infer(target, body)
    assert response.json()["id"] == "plain-1" and response.headers["x-request-id"] == "plain-1"
    assert response.json()["parameters"]["model_version"] == reference.version


def test_x_request_id_header_is_the_id(target: Target) -> None:
    response = infer(target, {"inputs": v2_inputs(target.kind)}, headers={"x-request-id": "hdr-9"})
    assert response.json()["id"] == "hdr-9" and response.headers["x-request-id"] == "hdr-9"
    generated = infer(target, {"inputs": v2_inputs(target.kind)})
    assert generated.json()["id"] == generated.headers["x-request-id"]
    assert uuid.UUID(generated.json()["id"]).version == 4


def test_binary_output_extension(target: Target, reference: Reference) -> None:
    """``binary_data_output``: tensors after the JSON header, sized by ``binary_data_size``."""
    body = {
        "inputs": v2_inputs(target.kind),
        "parameters": {"binary_data_output": True},
        "outputs": [
            {"name": target.score},
            {"name": "label", "parameters": {"binary_data": False}},
        ],
    }
    response = infer(target, body)
    assert response.status_code == 200, response.text
    length = int(response.headers["inference-header-content-length"])
    header = json.loads(response.content[:length])
    score, label = header["outputs"]
    assert "data" not in score and score["parameters"]["binary_data_size"] == 4 * len(ROWS)
    raw = response.content[length : length + score["parameters"]["binary_data_size"]]
    dtype = "<f4"
    found = {target.score: np.frombuffer(raw, dtype=dtype).tolist(), "label": label["data"]}
    check_answer(reference, target, found)


@pytest.mark.parametrize("name", ["transformer-grpc", "transformer-rest"])
def test_binary_bytes_output(targets: dict[str, Target], reference: Reference, name: str) -> None:
    """BYTES go as 4-byte little-endian lengths, each followed by the bytes."""
    target = targets[name]  # the transformer's label is BYTES
    body = {
        "inputs": v2_inputs(target.kind),
        "outputs": [{"name": "label", "parameters": {"binary_data": True}}],
    }
    response = infer(target, body)
    length = int(response.headers["inference-header-content-length"])
    raw, labels = response.content[length:], []
    while raw:
        (size,) = struct.unpack("<I", raw[:4])
        labels.append(raw[4 : 4 + size].decode())
        raw = raw[4 + size :]
    check_answer(reference, target, {target.score: reference.probability(ROWS), "label": labels})


def test_binary_parameter_that_is_not_boolean_is_400(target: Target) -> None:
    body = {"inputs": v2_inputs(target.kind), "parameters": {"binary_data_output": "yes"}}
    response = infer(target, body)
    assert response.status_code == 400 and "binary" in response.json()["error"]

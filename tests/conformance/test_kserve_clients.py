"""KServe's own clients (``InferenceRESTClient``, ``InferenceGRPCClient``) against every server.

As KServe documents them (kserve/python/kserve/kserve/inference_client.py;
docs "Python SDK, InferenceRESTClient / InferenceGRPCClient"): v2 REST with
JSON tensors, gRPC with the tensors KServe's ``InferRequest.to_grpc`` makes.
Answers are compared with the model's own.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from kserve import InferenceGRPCClient, InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput

from tests.conformance.conftest import Reference, Target, check_answer, v2_inputs

pytestmark = pytest.mark.conformance


def tensor(spec: dict[str, Any]) -> InferInput:
    """Data as numpy (NaN = missing): JSON over REST, raw contents over gRPC (``to_grpc``)."""
    if spec["datatype"] == "BYTES":
        array = np.array(spec["data"], dtype=np.object_)
    else:
        dtype = np.float32 if spec["datatype"] == "FP32" else np.float64
        array = np.array([np.nan if v is None else v for v in spec["data"]], dtype=dtype)
    return InferInput(
        spec["name"], spec["shape"], spec["datatype"], data=array.reshape(spec["shape"])
    )


def request(
    target: Target, outputs: list[str] | None = None, request_id: str | None = None
) -> InferRequest:
    inputs = [tensor(spec) for spec in v2_inputs(target.kind)]
    wanted = [RequestedOutput(name) for name in outputs] if outputs else None
    return InferRequest("heart", inputs, request_id=request_id, request_outputs=wanted)


async def rest_call(target: Target, infer_request: InferRequest) -> Any:
    client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=30))
    try:
        ready = await client.is_model_ready(target.server.url, "heart")
        response = await client.infer(target.server.url, infer_request, model_name="heart")
        return ready, response
    finally:
        await client.close()


async def grpc_call(target: Target, infer_request: InferRequest) -> Any:
    client = InferenceGRPCClient(target.server.grpc, timeout=30, retries=0)
    try:
        ready = await client.is_model_ready("heart")
        return ready, await client.infer(infer_request)
    finally:
        await client.close()


def values(response: Any) -> dict[str, list[Any]]:
    found = {}
    for output in response.outputs:
        array = output.as_numpy().reshape(-1)
        found[output.name] = [v.decode() if isinstance(v, bytes) else v for v in array.tolist()]
    return found


@pytest.mark.parametrize("call", [rest_call, grpc_call], ids=["rest", "grpc"])
def test_kserve_client_reads_the_model_answer(
    target: Target, reference: Reference, call: Any
) -> None:
    ready, response = asyncio.run(call(target, request(target)))
    assert ready is True
    assert [o.name for o in response.outputs] == list(target.outputs)
    check_answer(reference, target, values(response))
    if call is grpc_call:
        assert response.model_version == reference.version
    else:  # KServe's REST client reads the body with InferResponse.from_bytes: no model_version
        assert response.parameters["model_version"] == reference.version
    assert response.id  # generated: the request had none


@pytest.mark.parametrize("call", [rest_call, grpc_call], ids=["rest", "grpc"])
def test_kserve_client_one_output_and_its_id(
    target: Target, reference: Reference, call: Any
) -> None:
    _, response = asyncio.run(call(target, request(target, [target.score], "kserve-client-7")))
    assert [o.name for o in response.outputs] == [target.score]
    check_answer(reference, target, values(response))
    assert response.id == "kserve-client-7"

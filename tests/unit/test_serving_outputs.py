"""serving.outputs, serving.request_id, serving.v2json, serving.versions: encoding and ids."""

from __future__ import annotations

import contextvars
import uuid

import numpy as np
import pytest
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import InferRequest, RequestedOutput

from serving import outputs, request_id, v2json
from serving.errors import InvalidRequestError
from serving.outputs import Tensor

pytestmark = pytest.mark.unit

TENSORS = {
    "risk": Tensor("FP32", np.array([0.25, 0.75], dtype=np.float32)),
    "label": Tensor("BYTES", np.array(["no disease", "disease"])),
}


def rest_request(
    parameters: dict | None = None, wanted: list[RequestedOutput] | None = None
) -> InferRequest:
    return InferRequest("heart", [], parameters=parameters, request_outputs=wanted)


def encoded(request: InferRequest) -> tuple[dict, bytes]:
    body, length = outputs.response(
        request, TENSORS, model_name="heart", model_version="1"
    ).to_rest()
    if length is None:
        assert isinstance(body, dict)
        return body, b""
    import orjson

    assert isinstance(body, bytes)
    return orjson.loads(body[:length]), body[length:]


def test_json_by_default() -> None:
    header, raw = encoded(rest_request())
    assert [o["data"] for o in header["outputs"]] == [[0.25, 0.75], ["no disease", "disease"]]
    assert raw == b""


def test_binary_data_output_makes_every_output_binary() -> None:
    header, raw = encoded(rest_request({"binary_data_output": True}))
    sizes = [o["parameters"]["binary_data_size"] for o in header["outputs"]]
    assert sizes == [8, 4 + 10 + 4 + 7] and len(raw) == sum(sizes)
    assert np.frombuffer(raw[:8], dtype="<f4").tolist() == [0.25, 0.75]


def test_an_output_flag_overrides_the_request_flag_and_order_follows_the_request() -> None:
    wanted = [RequestedOutput("label", {"binary_data": False}), RequestedOutput("risk")]
    header, raw = encoded(rest_request({"binary_data_output": True}, wanted))
    assert [o["name"] for o in header["outputs"]] == ["label", "risk"]
    assert header["outputs"][0]["data"] == ["no disease", "disease"]
    assert header["outputs"][1]["parameters"]["binary_data_size"] == 8 == len(raw)


def test_a_flag_that_is_not_boolean_is_refused() -> None:
    with pytest.raises(InvalidInput, match="true or false"):
        encoded(rest_request({"binary_data_output": "yes"}))


def test_unknown_output_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="unknown outputs"):
        encoded(rest_request(None, [RequestedOutput("probability")]))


def test_grpc_answers_raw_contents_for_every_output() -> None:
    request = rest_request()
    request.from_grpc = True
    message = outputs.response(request, TENSORS, model_name="heart", model_version="1").to_grpc()
    assert len(message.raw_output_contents) == 2
    assert all(not o.HasField("contents") and not o.parameters for o in message.outputs)


def test_response_id_echoes_the_request_or_is_generated() -> None:
    request = InferRequest("heart", [], request_id="abc")
    assert outputs.response(request, TENSORS, model_name="heart", model_version="1").id == "abc"
    generated = outputs.response(rest_request(), TENSORS, model_name="heart", model_version="1").id
    assert uuid.UUID(generated).version == 4


@pytest.mark.parametrize(
    ("candidate", "kept"),
    [
        ("abc-1", True),
        ("", False),
        ("x" * 257, False),
        ("tab\there", False),
        ("naïve", False),
        (3, False),
    ],
)
def test_only_header_safe_ids_are_taken(candidate: object, kept: bool) -> None:
    assert (request_id.usable(candidate) == candidate) is kept


def test_a_body_id_wins_over_the_header_id() -> None:
    def serve() -> None:
        assert request_id.begin("from-header") == "from-header"
        assert request_id.adopt("from-body") == "from-body" == request_id.current()
        assert request_id.adopt("naïve") == "from-body"  # not header-safe: the id stays
        assert request_id.log_tag() == " [request from-body]"

    contextvars.copy_context().run(serve)  # as each request has its own context
    assert request_id.current() == "" and request_id.log_tag() == ""


def test_json_without_content_type_reads_as_the_json_route() -> None:
    body = (
        b'{"id": "1", "inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [NaN]}]}'
    )
    request = v2json.infer_request(body, "heart")
    assert request.id == "1" and request.inputs[0].name == "x"
    assert v2json.is_untyped_json(body, {"content-type": "text/plain"}, "v2")
    assert not v2json.is_untyped_json(body, {"inference-header-content-length": "10"}, "v2")


@pytest.mark.parametrize(
    "body", [b'{"inputs": "x"}', b"[1, 2]", b'{"inputs": [{"name": 1}]}', b"{"]
)
def test_a_body_that_is_not_v2_is_400(body: bytes) -> None:
    with pytest.raises(InvalidInput):
        v2json.infer_request(body, "heart")

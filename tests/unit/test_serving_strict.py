"""Strict JSON, tensor declarations and the binary extension's header, without a server."""

from __future__ import annotations

import json
import math
import re
import struct

import pytest
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb

from serving.errors import InvalidRequestError
from serving.httpguard import header_length
from serving.strictjson import BodyError, loads
from serving.tensorchecks import check_binary_data, check_binary_header, check_grpc

pytestmark = pytest.mark.unit


def refusal(body: bytes) -> str:
    with pytest.raises(BodyError) as info:
        loads(body)
    return str(info.value.problem)


def test_what_json_allows_is_read() -> None:
    assert loads(b'{"instances": [{"ca": NaN, "age": 5}]}')["instances"][0]["age"] == 5
    assert math.isnan(loads(b"[NaN]")[0])
    assert loads(b'"\\ud83d\\ude00"') == "\U0001f600"  # a surrogate *pair* is a character
    assert loads(b"[18446744073709551616]") == [float(2**64)]
    assert loads(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}')  # brackets in text


@pytest.mark.parametrize("nan", [b"", b', "ca": NaN'])  # orjson, then the standard library
def test_strict_refusals_name_row_and_field(nan: bytes) -> None:
    nested = b"[" * 5000 + b"]" * 5000
    cases = {
        b'{"instances": [{"age": ' + nested + nan + b"}]}": ["row 0", "'age'", "deeper than 32"],
        b'{"instances": [{"thal": "x\xff"' + nan + b"}]}": ["row 0", "'thal'", "UTF-8"],
        b'{"instances": [{"thal": "\\ud800"' + nan + b"}]}": ["row 0", "'thal'", "surrogate"],
        b'{"instances": [{"age": ' + b"9" * 400 + nan + b"}]}": ["row 0", "'age'", "float64"],
        b'{"instances": [{"age": 1e400' + nan + b"}]}": ["'age'", "float64"],
    }
    for body, words in cases.items():
        text = refusal(body)
        assert all(word in text for word in words), (body[:60], text)


def test_v2_refusals_name_the_input() -> None:
    body = {"inputs": [{"name": "sex", "datatype": "BYTES", "shape": [1], "data": ["?"]}]}
    raw = json.dumps(body).replace('"?"', '"\\udfff"').encode()
    assert "field 'sex': data[0] holds a lone surrogate" in refusal(raw)
    assert "field 'inputs[0].data" in refusal(b'{"inputs": [{"data": [' + b"[" * 40 + b"]}]}")


@pytest.mark.parametrize(
    ("value", "length", "ok"),
    [(b"10", 20, True), (b"20", 20, True), (b"21", 20, False), (b"0", 20, False),
     (b"-1", 20, False), (b"abc", 20, False), (b"1e3", 2000, False), ("\u0661".encode(), 9, False)],
)  # fmt: skip
def test_inference_header_length(value: bytes, length: int, ok: bool) -> None:
    if ok:
        assert header_length(value, length) == int(value)
    else:
        with pytest.raises(InvalidRequestError, match="Inference-Header-Content-Length"):
            header_length(value, length)


def header(**changes: object) -> dict:
    tensor = {"name": "x", "datatype": "FP32", "shape": [2], "parameters": {"binary_data_size": 8}}
    return {"inputs": [tensor | changes]}


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"datatype": None}, ["datatype"]),
        ({"name": None}, ["name"]),
        ({"shape": [-1]}, ["shape"]),
        ({"parameters": {"binary_data_size": "8"}}, ["binary_data_size"]),
        ({"parameters": {"binary_data_size": 7}}, ["binary_data_size 7", "need 8"]),
        ({"parameters": {}}, ["neither data nor"]),
        ({"data": [1, 2]}, ["both data and binary_data_size"]),
    ],
)
def test_binary_header_lies_are_named(changes: dict, words: list[str]) -> None:
    body = header(**changes)
    body["inputs"][0] = {k: v for k, v in body["inputs"][0].items() if v is not None}
    with pytest.raises(InvalidRequestError) as info:
        check_binary_header(body, 8)
    assert all(word in str(info.value) for word in words), str(info.value)


def test_binary_sizes_must_add_up_and_bytes_be_text() -> None:
    check_binary_header(header(), 8)
    with pytest.raises(InvalidRequestError, match="adds up to 8 bytes, the body has 12"):
        check_binary_header(header(), 12)
    element = struct.pack("<I", 2) + b"\xff\xfe"
    size = {"binary_data_size": len(element)}
    labels = {"name": "thal", "datatype": "BYTES", "shape": [1], "parameters": size}
    with pytest.raises(InvalidRequestError, match="not UTF-8"):
        check_binary_data({"inputs": [labels]}, element)


def grpc_request(**changes: object) -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name="heart")
    tensor = request.inputs.add(name="features", datatype="FP32", shape=[1, 13])
    tensor.contents.fp32_contents.extend([1.0] * 13)
    for key, value in changes.items():
        setattr(tensor, key, value) if key != "shape" else tensor.shape.__setitem__(0, value)
    return request


def test_grpc_tensors_are_checked_before_decoding() -> None:
    check_grpc(grpc_request())
    for request, words in (
        (grpc_request(shape=2), "has 13 values, shape [2, 13] needs 26"),
        (grpc_request(datatype="FP8"), "unknown datatype"),
        (grpc_request(name=""), "has no name"),
        (grpc_request(shape=-1), "not a list of sizes"),
    ):
        with pytest.raises(InvalidRequestError, match=re.escape(words)):
            check_grpc(request)
    raw = grpc_request()
    raw.inputs[0].ClearField("contents")
    raw.raw_input_contents.append(b"\0" * 51)
    with pytest.raises(InvalidRequestError, match="51 bytes of data, shape and FP32 need 52"):
        check_grpc(raw)

"""Hostile requests for both servers, each with what a correct server must answer.

:func:`generate` draws ``n`` cases from a seeded generator, round-robin over
every family below, so that any ``n`` covers every family and a seed
reproduces a run. A case knows its target (``transformer`` or ``predictor``,
REST or gRPC), its bytes, and ``expect``: ``invalid`` (must be refused with
a 4xx / a client gRPC status), ``valid`` (must be 200 / OK) or ``any``
(random mutations: anything but a server error). Invalid cases that carry a
value a log must never hold embed a unique ``marker``; ``names`` is a regular
expression the refusal must match (the field, input or header at fault).
"""

from __future__ import annotations

import json
import math
import random
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb

from transformer.contract import BY_NAME, FEATURE_NAMES, FEATURES
from transformer.synthetic import generate as synthetic
from transformer.synthetic import to_records

V1 = "/v1/models/heart:predict"
V2 = "/v2/models/heart/infer"
JSON = {"content-type": "application/json"}
BINARY = "application/octet-stream"
INFER = "/inference.GRPCInferenceService/ModelInfer"
GRPC_LOAD = "/inference.GRPCInferenceService/RepositoryModelLoad"
GRPC_UNLOAD = "/inference.GRPCInferenceService/RepositoryModelUnload"
#: What a predictor refusal may name: its input, or the feature (column) at fault.
PREDICTOR_NAMES = "|".join(["features", *FEATURE_NAMES])


@dataclass
class Case:
    """One request and the answer it must get."""

    family: str
    server: str  # "transformer" | "predictor"
    transport: str  # "rest" | "grpc"
    expect: str  # "invalid" | "valid" | "any"
    body: bytes = b""
    path: str = V1
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    grpc_method: str = INFER
    marker: str = ""
    names: str = ""


class Draw:
    """The seeded randomness and the value helpers the families share."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.np = np.random.default_rng(seed)
        self.count = 0

    def marker(self) -> str:
        self.count += 1
        return f"zqxm{self.rng.getrandbits(40):010x}"

    def records(self, n: int) -> list[dict[str, Any]]:
        seed = self.rng.getrandbits(31)
        return to_records(synthetic(n, seed=seed, missing_rate=0.1))

    def choice(self, items: list[Any]) -> Any:
        return self.rng.choice(items)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def _columns(records: list[dict[str, Any]], datatype: str = "FP64") -> dict[str, Any]:
    return {
        "inputs": [
            {
                "name": name,
                "datatype": datatype,
                "shape": [len(records)],
                "data": [r.get(name) for r in records],
            }
            for name in FEATURE_NAMES
        ]
    }


def _features(records: list[dict[str, Any]]) -> dict[str, Any]:
    rows = [[math.nan if r.get(n) is None else r[n] for n in FEATURE_NAMES] for r in records]
    flat = [None if math.isnan(v) else v for row in rows for v in row]
    return {
        "inputs": [{"name": "features", "datatype": "FP32", "shape": [len(rows), 13], "data": flat}]
    }


# --- field-level invalid values (transformer, v1 and v2) -----------------------------------


def _bad_value(d: Draw, name: str, marker: str) -> tuple[Any, bool]:
    """A value ``name`` must refuse; the bool says whether it carries the marker."""
    feature = BY_NAME[name]
    options: list[Callable[[], tuple[Any, bool]]] = [
        lambda: (f"{marker} label", True),
        lambda: ([1, 2], False),
        lambda: ({"v": 1}, False),
        lambda: (True, False),
        lambda: (1e6, False),
        lambda: (-1e6, False),
        lambda: (int("9" * d.rng.randint(20, 400)), False),
    ]
    if feature.kind == "categorical":
        options.append(lambda: (max(feature.codes) + d.rng.randint(1, 50), False))
    if feature.integer and feature.kind == "numeric":
        options.append(lambda: ((feature.minimum or 0) + 0.5, False))
    if not feature.nullable:
        options.append(lambda: (None, False))
    return d.choice(options)()


def v1_bad_field(d: Draw) -> Case:
    records = d.records(d.rng.randint(1, 4))
    row = d.rng.randrange(len(records))
    name = d.choice(list(FEATURE_NAMES))
    marker = d.marker()
    value, carries = _bad_value(d, name, marker)
    records[row][name] = value
    body = _dumps({"instances": records})
    return Case(
        "v1.bad_field",
        "transformer",
        "rest",
        "invalid",
        body,
        V1,
        names=name,
        marker=marker if carries else "",
    )


def v1_unknown_field(d: Draw) -> Case:
    records = d.records(1)
    marker = d.marker()
    records[0][marker] = 1
    return Case(
        "v1.unknown_field",
        "transformer",
        "rest",
        "invalid",
        _dumps({"instances": records}),
        V1,
        marker=marker,
        names=marker,
    )


def v2_bad_field(d: Draw) -> Case:
    records = d.records(d.rng.randint(1, 3))
    name = d.choice(list(FEATURE_NAMES))
    marker = d.marker()
    value, carries = _bad_value(d, name, marker)
    body = _columns(records)
    tensor = next(t for t in body["inputs"] if t["name"] == name)
    tensor["data"][0] = value
    if isinstance(value, str):
        tensor["datatype"] = "BYTES"
    return Case(
        "v2.bad_field",
        "transformer",
        "rest",
        "invalid",
        _dumps(body),
        V2,
        names=name,
        marker=marker if carries else "",
    )


# --- strict decoding: nesting, UTF-8, surrogates, numbers ----------------------------------


def deep_nesting(d: Draw) -> Case:
    depth = d.choice([33, 100, 999, 1000, 1025, 5000, 50_000])
    open_, close = (b"[", b"]") if d.rng.random() < 0.7 else (b'{"a":', b"}")
    nested = open_ * depth + b"1" + close * depth
    server = d.choice(["transformer", "predictor"])
    if d.rng.random() < 0.5:
        body = b'{"instances": [{"age": ' + nested + b"}]}"
        return Case("json.deep_nesting", server, "rest", "invalid", body, V1)
    body = b'{"inputs": [{"name": "age", "datatype": "FP32", "shape": [1], "data": '
    return Case("json.deep_nesting", server, "rest", "invalid", body + nested + b"}]}", V2)


def bad_text(d: Draw) -> Case:
    marker = d.marker()
    raw = d.choice(
        [
            marker.encode() + b"\xff",
            b"\xc3\x28" + marker.encode(),
            marker.encode() + b"\xed\xa0\x80",
            ("\\ud800" + marker).encode(),
            (marker + "\\udfff").encode(),
            ("\\ud83d" + marker).encode(),
        ]
    )
    field_name = d.choice(["thal", "sex", "cp"])
    server = d.choice(["transformer", "predictor"])
    if d.rng.random() < 0.5:
        body = b'{"instances": [{"' + field_name.encode() + b'": "' + raw + b'"}]}'
        return Case(
            "json.bad_text", server, "rest", "invalid", body, V1, marker=marker, names=field_name
        )
    body = (
        b'{"inputs": [{"name": "'
        + field_name.encode()
        + b'", "datatype": "BYTES", "shape": [1], "data": ["'
        + raw
        + b'"]}]}'
    )
    return Case(
        "json.bad_text", server, "rest", "invalid", body, V2, marker=marker, names=field_name
    )


def huge_number(d: Draw) -> Case:
    literal = d.choice(
        [
            "9" * d.rng.randint(309, 5000),
            "1e400",
            "-1e999",
            "1" + "0" * 400,
            "2e308",
            "123456789" * 60 + ".5",
        ]
    )
    server = d.choice(["transformer", "predictor"])
    nan = d.rng.random() < 0.5  # NaN sends the body through the standard library's parser
    extra = ', "ca": NaN' if nan else ""
    if d.rng.random() < 0.5:
        body = f'{{"instances": [{{"age": {literal}{extra}}}]}}'.encode()
        return Case("json.huge_number", server, "rest", "invalid", body, V1, names="age")
    data = f"[{literal}, NaN]" if nan else f"[{literal}]"
    text = f'{{"inputs": [{{"name": "age", "datatype": "FP64", "shape": [1], "data": {data}}}]}}'
    return Case("json.huge_number", server, "rest", "invalid", text.encode(), V2, names="age")


def malformed_json(d: Draw) -> Case:
    good = _dumps({"instances": d.records(1)})
    cut = d.rng.randrange(1, len(good))
    body = d.choice(
        [
            good[:cut],
            good + b"}",
            b"{" + good,
            good.replace(b":", b"=", 1),
            b"",
            b"null",
            b"[]",
            b'"x"',
            b"{}",
            b'{"instances": {}}',
            b"\x00" * 8,
        ]
    )
    server = d.choice(["transformer", "predictor"])
    path = d.choice([V1, V2])
    return Case("json.malformed", server, "rest", "invalid", body, path)


# --- v2 structure and shape lies -------------------------------------------------------------


def _v2_lie(d: Draw, body: dict[str, Any]) -> tuple[str, str]:  # noqa: PLR0912 (one branch a lie)
    tensor = d.choice(body["inputs"])
    name = tensor["name"]
    count = len(tensor["data"])
    lie = d.choice(
        [
            "shape_more",
            "shape_less",
            "shape_2d",
            "shape_neg",
            "shape_zero",
            "shape_huge",
            "shape_nested",
            "no_datatype",
            "bad_datatype",
            "no_name",
            "data_text",
            "data_object",
            "fp16_json",
            "int_fraction",
            "uint_overflow",
            "bool_data",
            "duplicate",
            "shape_float",
        ]
    )
    if lie == "shape_more":
        tensor["shape"] = [count + d.rng.randint(1, 5), *tensor["shape"][1:]]
    elif lie == "shape_less":
        tensor["shape"] = [max(0, tensor["shape"][0] - d.rng.randint(1, 3)), *tensor["shape"][1:]]
        if tensor["shape"][0] * math.prod(tensor["shape"][1:]) == count:
            tensor["shape"] = [count + 1, *tensor["shape"][1:]]
    elif lie == "shape_2d":
        tensor["shape"] = [1, count + 1] if count > 1 else [2, 1]
    elif lie == "shape_neg":
        tensor["shape"] = [-count, *tensor["shape"][1:]]
    elif lie == "shape_zero":
        tensor["shape"] = [0, *tensor["shape"][1:]]
    elif lie == "shape_huge":
        tensor["shape"] = [2**62, 2**62]
    elif lie == "shape_nested":
        tensor["shape"] = [[count]]
    elif lie == "shape_float":
        tensor["shape"] = [count + 0.5]
    elif lie == "no_datatype":
        del tensor["datatype"]
    elif lie == "bad_datatype":
        tensor["datatype"] = d.choice(["FOO", "", "FP8", "INT128", "BF16"])
    elif lie == "no_name":
        del tensor["name"]
    elif lie == "data_text":
        tensor["data"] = "1,2,3"
    elif lie == "data_object":
        tensor["data"] = {"0": 1}
    elif lie == "fp16_json":
        tensor["datatype"] = "FP16"
    elif lie == "int_fraction":
        tensor["datatype"] = "INT32"
        tensor["data"] = [0.5] * count
    elif lie == "uint_overflow":
        tensor["datatype"] = "UINT8"
        tensor["data"] = [300] * count
    elif lie == "bool_data":
        tensor["data"] = [True] * count
    elif lie == "duplicate":
        body["inputs"].append(dict(tensor))
    return (r"inputs\.\d" if lie == "no_name" else name), lie


def v2_lie(d: Draw) -> Case:
    records = d.records(d.rng.randint(1, 3))
    if d.rng.random() < 0.5:
        body = _columns(records)
        name, lie = _v2_lie(d, body)
        return Case(f"v2.lie.{lie}", "transformer", "rest", "invalid", _dumps(body), V2, names=name)
    body = _features(records)
    names, lie = _v2_lie(d, body)
    names = PREDICTOR_NAMES if lie != "no_name" else names
    return Case(f"v2.lie.{lie}", "predictor", "rest", "invalid", _dumps(body), V2, names=names)


def v2_structure(d: Draw) -> Case:
    records = d.records(1)
    body: Any = _columns(records)
    choice = d.rng.randrange(9)
    if choice == 0:
        body["inputs"] = {"age": 1}
    elif choice == 1:
        body = {"inputs": []}
    elif choice == 2:
        body["outputs"] = [{"nom": "risk"}]
    elif choice == 3:
        body["outputs"] = "risk"
    elif choice == 4:
        body["id"] = {"x": 1}
    elif choice == 5:
        body["parameters"] = [1, 2]
    elif choice == 6:
        body["inputs"][0]["name"] = 7
    elif choice == 7:
        body = [body]
    else:
        body["inputs"] = [1, 2, 3]
    server = d.choice(["transformer", "predictor"])
    return Case("v2.structure", server, "rest", "invalid", _dumps(body), V2)


# --- the binary tensor extension -------------------------------------------------------------


def _binary_request(records: list[dict[str, Any]], server: str) -> tuple[dict[str, Any], bytes]:
    if server == "predictor":
        rows = np.array(
            [[np.nan if r.get(n) is None else r[n] for n in FEATURE_NAMES] for r in records],
            dtype=np.float32,
        )
        raw = rows.tobytes()
        header = {
            "inputs": [
                {
                    "name": "features",
                    "datatype": "FP32",
                    "shape": [len(records), 13],
                    "parameters": {"binary_data_size": len(raw)},
                }
            ]
        }
        return header, raw
    inputs, chunks = [], []
    for name in FEATURE_NAMES:
        column = np.array([np.nan if r.get(name) is None else r[name] for r in records], "<f8")
        chunks.append(column.tobytes())
        inputs.append(
            {
                "name": name,
                "datatype": "FP64",
                "shape": [len(records)],
                "parameters": {"binary_data_size": len(chunks[-1])},
            }
        )
    return {"inputs": inputs}, b"".join(chunks)


def binary(d: Draw) -> Case:  # noqa: PLR0912, PLR0915 (one branch a lie)
    server = d.choice(["transformer", "predictor"])
    records = d.records(d.rng.randint(1, 3))
    header, raw = _binary_request(records, server)
    lie = d.choice(
        [
            "none",
            "none",
            "length_text",
            "length_negative",
            "length_over",
            "length_short",
            "length_zero",
            "no_datatype",
            "no_name",
            "no_shape",
            "size_text",
            "size_negative",
            "size_odd",
            "size_over",
            "size_under",
            "bytes_raw",
            "bytes_utf8",
            "data_and_size",
            "no_data",
            "output_no_name",
        ]
    )
    tensor = header["inputs"][0]
    length_value: str | None = None
    marker = ""
    name = tensor["name"]
    if lie == "no_datatype":
        del tensor["datatype"]
    elif lie == "no_name":
        del tensor["name"]
    elif lie == "no_shape":
        del tensor["shape"]
    elif lie == "size_text":
        tensor["parameters"]["binary_data_size"] = str(tensor["parameters"]["binary_data_size"])
    elif lie == "size_negative":
        tensor["parameters"]["binary_data_size"] = -4
    elif lie == "size_odd":
        tensor["parameters"]["binary_data_size"] += 1
        raw += b"\0"
    elif lie == "size_over":
        tensor["parameters"]["binary_data_size"] += 64
    elif lie == "size_under":
        tensor["parameters"]["binary_data_size"] -= 4
    elif lie in ("bytes_raw", "bytes_utf8"):
        marker = d.marker()
        text = marker.encode() + (b"\xff\xfe" if lie == "bytes_utf8" else b"")
        element = struct.pack("<I", len(text) + (3 if lie == "bytes_raw" else 0)) + text
        if server == "transformer":
            name = "thal"
            others = [t for t in header["inputs"] if t["name"] != "thal"]
            raw = b"".join(
                _binary_request(records, server)[1][
                    i * 8 * len(records) : (i + 1) * 8 * len(records)
                ]
                for i, n in enumerate(FEATURE_NAMES)
                if n != "thal"
            )
            raw += element * len(records)
            thal = {
                "name": "thal",
                "datatype": "BYTES",
                "shape": [len(records)],
                "parameters": {"binary_data_size": len(element) * len(records)},
            }
            header = {"inputs": [*others, thal]}
        else:
            header["inputs"][0].update(
                datatype="BYTES", shape=[1], parameters={"binary_data_size": len(element)}
            )
            raw = element
    elif lie == "data_and_size":
        tensor["data"] = [1.0]
    elif lie == "no_data":
        del tensor["parameters"]
    elif lie == "output_no_name":
        header["outputs"] = [{"parameters": {}}]
    text = _dumps(header)
    length = len(text)
    if lie == "length_text":
        length_value = d.choice(["abc", "1e3", "+5", "0x10", "-", "١٢"])
    elif lie == "length_negative":
        length_value = str(-length)
    elif lie == "length_over":
        length_value = str(length + len(raw) + d.rng.randint(1, 10_000))
    elif lie == "length_short":
        length_value = str(d.rng.randint(1, length - 1))
    elif lie == "length_zero":
        length_value = "0"
    headers = {
        "content-type": BINARY,
        "inference-header-content-length": length_value or str(length),
    }
    expect = "valid" if lie == "none" else "invalid"
    return Case(
        f"binary.{lie}",
        server,
        "rest",
        expect,
        text + raw,
        V2,
        headers=headers,
        marker=marker,
        names=name if lie.startswith(("size", "bytes")) else "",
    )


# --- gRPC ------------------------------------------------------------------------------------


def _grpc_columns(records: list[dict[str, Any]]) -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name="heart")
    for name in FEATURE_NAMES:
        tensor = request.inputs.add(name=name, datatype="FP64", shape=[len(records)])
        tensor.contents.fp64_contents.extend(
            [math.nan if r.get(name) is None else float(r[name]) for r in records]
        )
    return request


def _grpc_features(records: list[dict[str, Any]]) -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name="heart")
    tensor = request.inputs.add(name="features", datatype="FP32", shape=[len(records), 13])
    tensor.contents.fp32_contents.extend(
        [math.nan if r.get(n) is None else float(r[n]) for r in records for n in FEATURE_NAMES]
    )
    return request


def grpc_infer(d: Draw) -> Case:  # noqa: PLR0912, PLR0915 (one branch a lie)
    server = d.choice(["transformer", "predictor"])
    records = d.records(d.rng.randint(1, 3))
    request = _grpc_columns(records) if server == "transformer" else _grpc_features(records)
    tensor = d.choice(list(request.inputs))
    lie = d.choice(
        [
            "none",
            "none",
            "shape_more",
            "shape_less",
            "no_name",
            "no_datatype",
            "bad_datatype",
            "wrong_contents",
            "fp16_contents",
            "raw_size",
            "raw_count",
            "raw_and_contents",
            "bytes_utf8",
            "bytes_marker",
            "negative_shape",
            "huge_shape",
            "duplicate",
            "unknown_model",
            "garbage",
            "empty",
        ]
    )
    marker = ""
    index = list(request.inputs).index(tensor)
    name = tensor.name
    if lie == "shape_more":
        tensor.shape[0] += d.rng.randint(1, 4)
    elif lie == "shape_less":
        tensor.shape[0] = max(0, tensor.shape[0] - 1)
        if len(tensor.shape) == 2:
            tensor.shape[1] = 12
    elif lie == "no_name":
        tensor.name = ""
    elif lie == "no_datatype":
        tensor.datatype = ""
    elif lie == "bad_datatype":
        tensor.datatype = d.choice(["FOO", "fp32", "BF16"])
    elif lie == "wrong_contents":
        tensor.contents.int_contents.extend([1])
    elif lie == "fp16_contents":
        tensor.datatype = "FP16"
    elif lie in ("raw_size", "raw_count", "raw_and_contents"):
        for t in request.inputs:
            values = list(t.contents.fp64_contents) or list(t.contents.fp32_contents)
            dtype = "<f8" if t.datatype == "FP64" else "<f4"
            request.raw_input_contents.append(np.array(values, dtype).tobytes())
            if lie != "raw_and_contents" or t is not tensor:
                t.ClearField("contents")
        if lie == "raw_size":
            request.raw_input_contents[index] += b"\0\0\0"
        elif lie == "raw_count":
            request.raw_input_contents.append(b"\0" * 8)
    elif lie in ("bytes_utf8", "bytes_marker"):
        marker = d.marker()
        tensor.datatype = "BYTES"
        tensor.ClearField("contents")
        count = math.prod(tensor.shape)
        value = marker.encode() + (b"\xff" if lie == "bytes_utf8" else b" label")
        tensor.contents.bytes_contents.extend([value] * count)
    elif lie == "negative_shape":
        tensor.shape[0] = -1
    elif lie == "huge_shape":
        tensor.shape[0] = 2**62
    elif lie == "duplicate":
        request.inputs.append(tensor)
    elif lie == "unknown_model":
        request.model_name = "not-heart"
    payload = request.SerializeToString()
    if lie == "garbage":
        payload = d.choice(
            [
                b"\xff" * 17,
                bytes(d.rng.getrandbits(8) for _ in range(64)),
                payload[: len(payload) // 2],
            ]
        )
    elif lie == "empty":
        payload = b""
    expect = "valid" if lie == "none" else "invalid"
    if lie == "garbage":
        expect = "any"
    return Case(
        f"grpc.{lie}",
        server,
        "grpc",
        expect,
        payload,
        marker=marker,
        names=name if lie in ("shape_more", "bytes_utf8") else "",
    )


# --- routes, repository, content types, sizes, random mutations -----------------------------


def repository(d: Draw) -> Case:
    server = d.choice(["transformer", "predictor"])
    action = d.choice(["load", "unload"])
    model = d.choice(["heart", "heart", "other", "..%2f", "x" * 300])
    if d.rng.random() < 0.5:
        path = f"/v2/repository/models/{model}/{action}"
        return Case("repository.rest", server, "rest", "invalid", b"", path)
    kind = pb.RepositoryModelLoadRequest if action == "load" else pb.RepositoryModelUnloadRequest
    payload = kind(model_name=model).SerializeToString()
    method = GRPC_LOAD if action == "load" else GRPC_UNLOAD
    return Case("repository.grpc", server, "grpc", "invalid", payload, grpc_method=method)


def routes(d: Draw) -> Case:
    server = d.choice(["transformer", "predictor"])
    method, path = d.choice(
        [
            ("GET", "/v2/models/nothing"),
            ("GET", "/v2/models/heart/versions/9"),
            ("POST", "/v2/models/heart/versions/9/infer"),
            ("POST", "/v1/models/heart:explain"),
            ("POST", "/v1/models/other:predict"),
            ("POST", "/v2/models/other/infer"),
            ("DELETE", V2),
            ("PUT", V1),
            ("GET", V1 + "x"),
            ("POST", "/" + "a" * 5000),
            ("GET", "/v2/models/heart/ready?x=" + "%ff" * 50),
            ("POST", "/metrics"),
        ]
    )
    body = _dumps({"instances": d.records(1)}) if method != "GET" else b""
    return Case("routes", server, "rest", "any", body, path, method=method)


def content_types(d: Draw) -> Case:
    server = d.choice(["transformer", "predictor"])
    records = d.records(1)
    body = _dumps(
        {"instances": records}
        if server == "transformer"
        else {"instances": [[r.get(n) for n in FEATURE_NAMES] for r in records]}
    )
    content_type = d.choice(
        [
            "text/plain",
            "application/json; charset=latin-1",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded",
            "application/cloudevents+json",
            "",
            BINARY,
            "image/png",
        ]
    )
    headers = {"content-type": content_type} if content_type else {}
    if d.rng.random() < 0.3:
        headers["ce-specversion"] = "1.0"
        headers["ce-id"] = "x"
    return Case("content_type", server, "rest", "any", body, d.choice([V1, V2]), headers=headers)


def oversize(d: Draw, limit: int) -> Case:
    server = d.choice(["transformer", "predictor"])
    chunk = b'{"instances": [' + b'{"age": 61},' * ((limit // 12) + 10)
    case = Case("oversize", server, "rest", "invalid", chunk[: limit + d.rng.randint(1, 5000)])
    if d.rng.random() < 0.5:
        case.headers["transfer-encoding"] = "chunked"  # no Content-Length: read until the limit
    return case


def mutated(d: Draw) -> Case:
    """A valid body with a few random bytes changed: anything but a server error."""
    server = d.choice(["transformer", "predictor"])
    records = d.records(d.rng.randint(1, 3))
    if server == "transformer":
        body = bytearray(_dumps(d.choice([{"instances": records}, _columns(records)])))
    else:
        body = bytearray(
            _dumps(
                d.choice(
                    [
                        _features(records),
                        {"instances": [[r.get(n) for n in FEATURE_NAMES] for r in records]},
                    ]
                )
            )
        )
    path = V2 if b'"inputs"' in body else V1
    for _ in range(d.rng.randint(1, 6)):
        where = d.rng.randrange(len(body))
        op = d.rng.randrange(4)
        if op == 0:
            body[where] = d.rng.getrandbits(8)
        elif op == 1:
            del body[where]
        elif op == 2:
            body.insert(where, d.choice(list(b'[]{}",:0-eE.\\')))
        else:
            body[where:where] = d.choice(
                [b"NaN", b"Infinity", b"null", b"true", b"1e999", b'"\\ud800"', b"[[[[", b"-0"]
            )
    return Case("mutated", server, "rest", "any", bytes(body), path)


def valid(d: Draw) -> Case:
    records = d.records(d.rng.randint(1, 8))
    server = d.choice(["transformer", "predictor"])
    if server == "transformer":
        body = d.choice([{"instances": records}, _columns(records)])
    else:
        body = d.choice(
            [
                _features(records),
                {"instances": [[r.get(n) for n in FEATURE_NAMES] for r in records]},
            ]
        )
    path = V2 if "inputs" in body else V1
    return Case("valid", server, "rest", "valid", _dumps(body), path)


FAMILIES: list[Callable[[Draw], Case]] = [
    valid,
    v1_bad_field,
    v1_unknown_field,
    v2_bad_field,
    deep_nesting,
    bad_text,
    huge_number,
    malformed_json,
    v2_lie,
    v2_structure,
    binary,
    grpc_infer,
    repository,
    routes,
    content_types,
    mutated,
]


def generate(n: int, seed: int, body_limit: int) -> Iterator[Case]:
    """``n`` cases, every family in turn (oversize bodies every 100th)."""
    d = Draw(seed)
    for i in range(n):
        if i % 100 == 99:
            yield oversize(d, body_limit)
        else:
            yield FAMILIES[i % len(FAMILIES)](d)


#: Features the in-process model and the contract know (for tests' assertions).
CONTRACT_FIELDS = tuple(f.name for f in FEATURES)

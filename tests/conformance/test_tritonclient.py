"""tritonclient 2.x (HTTP and gRPC) against every server, answers checked against the model.

tritonclient is what most v2 users already have. Its HTTP client sends a
JSON-only request without a Content-Type, binary inputs with the binary
tensor extension's header, and asks for binary outputs unless told
otherwise; its gRPC ``InferResult.as_numpy`` reads only
``raw_output_contents`` for numeric outputs. The calls run in the
tritonclient virtualenv (:mod:`tests.conformance.tritonclient_driver`).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conformance.conftest import (
    ROWS,
    Reference,
    Target,
    check_answer,
    tritonclient,
    v2_inputs,
)
from transformer.contract import LABELS

pytestmark = pytest.mark.conformance

OTHER_VERSION = "999"


def calls(target: Target, version: str) -> list[dict[str, Any]]:
    """Every tritonclient call of this module, run in one subprocess per server."""
    inputs = v2_inputs(target.kind)
    json_outputs = [{"name": name, "binary": False} for name in target.outputs]
    infer = {"op": "infer", "inputs": inputs}
    found: list[dict[str, Any]] = [
        {
            **infer,
            "label": "http-json",
            "protocol": "http",
            "binary_inputs": False,
            "outputs": json_outputs,
        },
        {**infer, "label": "http-binary", "protocol": "http", "binary_inputs": True},
        {
            **infer,
            "label": "http-one-binary",
            "protocol": "http",
            "binary_inputs": False,
            "outputs": [{"name": target.score, "binary": True}],
        },
        {
            **infer,
            "label": "http-mixed",
            "protocol": "http",
            "binary_inputs": True,
            "outputs": [{"name": "label", "binary": False}, {"name": target.score, "binary": True}],
        },
        {**infer, "label": "http-id", "protocol": "http", "request_id": "conformance-42"},
        {**infer, "label": "http-version", "protocol": "http", "model_version": version},
        {
            **infer,
            "label": "http-other-version",
            "protocol": "http",
            "model_version": OTHER_VERSION,
        },
        {**infer, "label": "grpc", "protocol": "grpc"},
        {**infer, "label": "grpc-one", "protocol": "grpc", "outputs": [{"name": "label"}]},
        {**infer, "label": "grpc-id", "protocol": "grpc", "request_id": "conformance-43"},
        {**infer, "label": "grpc-version", "protocol": "grpc", "model_version": version},
        {
            **infer,
            "label": "grpc-other-version",
            "protocol": "grpc",
            "model_version": OTHER_VERSION,
        },
    ]
    for protocol in ("http", "grpc"):
        found += [
            {"label": f"{protocol}-server", "protocol": protocol, "op": "server"},
            {"label": f"{protocol}-metadata", "protocol": protocol, "op": "model_metadata"},
            {
                "label": f"{protocol}-metadata-version",
                "protocol": protocol,
                "op": "model_metadata",
                "model_version": version,
            },
            {
                "label": f"{protocol}-metadata-other",
                "protocol": protocol,
                "op": "model_metadata",
                "model_version": OTHER_VERSION,
            },
            {"label": f"{protocol}-ready", "protocol": protocol, "op": "model_ready"},
            {
                "label": f"{protocol}-ready-version",
                "protocol": protocol,
                "op": "model_ready",
                "model_version": version,
            },
            {
                "label": f"{protocol}-ready-other",
                "protocol": protocol,
                "op": "model_ready",
                "model_version": OTHER_VERSION,
            },
        ]
    return found


@pytest.fixture(scope="module")
def answers(targets: dict[str, Target], reference: Reference) -> dict[str, dict[str, Any]]:
    return {name: tritonclient(t, calls(t, reference.version)) for name, t in targets.items()}


@pytest.fixture
def answer(target: Target, answers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return answers[target.name]


def outputs_of(result: dict[str, Any]) -> dict[str, Any]:
    assert "error" not in result, result
    return dict(result["outputs"])


def encoding(result: dict[str, Any]) -> dict[str, str]:
    """name -> "binary" or "json", as the REST response's JSON part says."""
    return {
        o["name"]: "binary" if "binary_data_size" in (o.get("parameters") or {}) else "json"
        for o in result["response"]["outputs"]
    }


def test_http_json_without_content_type(target: Target, answer: dict, reference: Reference) -> None:
    result = answer["http-json"]
    check_answer(reference, target, outputs_of(result))
    assert encoding(result) == {name: "json" for name in target.outputs}


def test_http_binary_inputs_and_outputs(target: Target, answer: dict, reference: Reference) -> None:
    """tritonclient's default: binary inputs, ``binary_data_output`` true."""
    result = answer["http-binary"]
    check_answer(reference, target, outputs_of(result))
    assert encoding(result) == {name: "binary" for name in target.outputs}


def test_http_one_output_in_binary(target: Target, answer: dict, reference: Reference) -> None:
    result = answer["http-one-binary"]
    assert list(outputs_of(result)) == [target.score]
    check_answer(reference, target, outputs_of(result))
    assert encoding(result) == {target.score: "binary"}


def test_http_per_output_binary_flags(target: Target, answer: dict, reference: Reference) -> None:
    result = answer["http-mixed"]
    assert list(outputs_of(result)) == ["label", target.score]  # the request's order
    check_answer(reference, target, outputs_of(result))
    assert encoding(result) == {"label": "json", target.score: "binary"}


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_response_id_is_generated_when_absent(target: Target, answer: dict, protocol: str) -> None:
    result = answer["http-binary" if protocol == "http" else "grpc"]
    assert uuid.UUID(result["response"]["id"]).version == 4


@pytest.mark.parametrize(
    ("label", "sent"), [("http-id", "conformance-42"), ("grpc-id", "conformance-43")]
)
def test_request_id_is_echoed(target: Target, answer: dict, label: str, sent: str) -> None:
    assert answer[label]["response"]["id"] == sent


def test_grpc_infer_reads_raw_contents(target: Target, answer: dict, reference: Reference) -> None:
    result = answer["grpc"]
    check_answer(reference, target, outputs_of(result))
    assert result["raw_count"] == len(target.outputs)
    assert result["response"]["model_version"] == reference.version


def test_grpc_one_output(target: Target, answer: dict, reference: Reference) -> None:
    """``label`` alone: INT32 from the predictor, BYTES from the transformer, both raw."""
    result = answer["grpc-one"]
    assert list(outputs_of(result)) == ["label"] and result["raw_count"] == 1
    labels = outputs_of(result)["label"]
    if target.kind == "predictor":
        labels = [LABELS[int(v)] for v in labels]
    assert labels == [LABELS[v] for v in reference.labels(ROWS)]


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_the_served_version_answers(
    target: Target, answer: dict, reference: Reference, protocol: str
) -> None:
    check_answer(reference, target, outputs_of(answer[f"{protocol}-version"]))
    metadata = answer[f"{protocol}-metadata-version"]
    assert metadata["name"] == "heart" and metadata["versions"] == [reference.version]
    assert answer[f"{protocol}-ready-version"] is True


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_another_version_is_not_found(target: Target, answer: dict, protocol: str) -> None:
    for label in ("other-version", "metadata-other", "ready-other"):
        result = answer[f"{protocol}-{label}"]
        if protocol == "http" and label == "ready-other":
            assert result is False  # tritonclient's HTTP is_model_ready: False for any non-200
            continue
        assert "error" in result, (label, result)
        assert "has no version '999'" in result["error"]
        assert ("404" in result["error"]) or ("NOT_FOUND" in result["error"])


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_server_and_model_metadata(
    target: Target, answer: dict, reference: Reference, protocol: str
) -> None:
    server = answer[f"{protocol}-server"]
    assert server["live"] is True and server["ready"] is True
    assert server["metadata"]["name"] and "version" in server["metadata"]
    metadata = answer[f"{protocol}-metadata"]
    assert [o["name"] for o in metadata["outputs"]] == list(target.outputs)
    assert metadata["versions"] == [reference.version]
    assert answer[f"{protocol}-ready"] is True

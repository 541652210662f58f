"""Requests the transformer accepts -> the contract matrix; results -> responses.

Accepted: v2 named columns (one input per field, any numeric datatype, or
BYTES holding a categorical field's label) and v1 ``{"instances": [...]}``.
Numeric data is read as float64 and checked against its datatype first
(:mod:`serving.tensordata`: no silent truncation of INT32 [1.5], no
JSON true as 1); all decoding problems of a request (datatypes, shapes,
duplicate inputs) are reported together, then the contract's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import InferInput, InferOutput, InferRequest, InferResponse

from serving.jsonbody import parse_json
from serving.problems import Problem, ValidationError
from serving.tensordata import NUMERIC_TYPES, TensorDataError, numbers
from transformer.contract import BY_NAME, LABELS
from transformer.validation import columns_to_matrix, records_to_matrix

#: Name of the predictor's input tensor (FP32 [N, 13] in contract order).
FEATURES_INPUT = "features"
OUTPUTS = ("risk", "label")


def v2_matrix(request: InferRequest, max_rows: int) -> np.ndarray:
    """The matrix of a v2 request with one input per contract field."""
    columns: dict[str, list[object]] = {}
    problems: list[Problem] = []
    seen: set[str] = set()
    for tensor in request.inputs:
        if tensor.name in seen:
            problems.append(
                Problem(None, tensor.name, None, "is given more than once", "one input per field")
            )
            continue
        seen.add(tensor.name)
        values, found = _column(tensor)
        problems += found
        if not found:
            columns[tensor.name] = values
    if problems:
        raise ValidationError(problems)
    return columns_to_matrix(columns, max_rows)


def _column(tensor: InferInput) -> tuple[list[object], list[Problem]]:
    name, datatype = tensor.name, tensor.datatype
    feature = BY_NAME.get(name)
    if feature is not None and datatype not in NUMERIC_TYPES:
        allowed = "any numeric datatype" + (", or BYTES labels" if feature.codes else "")
        if datatype != "BYTES" or not feature.codes:
            return [], [Problem(None, name, datatype, "has the wrong datatype", allowed)]
    if len(tensor.shape) not in (1, 2) or (len(tensor.shape) == 2 and tensor.shape[1] != 1):
        return [], [Problem(None, name, tensor.shape, "must have shape [N] or [N, 1]")]
    try:
        array = numbers(tensor) if datatype in NUMERIC_TYPES else _labels(tensor)
    except TensorDataError as exc:
        return [], _tensor_problems(name, exc)
    return array.reshape(-1).tolist(), []


def _labels(tensor: InferInput) -> np.ndarray:
    """BYTES data (labels; numbers and null pass through to the contract's check)."""
    try:
        return np.asarray(tensor.as_numpy())
    except (ValueError, TypeError) as exc:
        raise TensorDataError(f"data does not match BYTES {tensor.shape} ({exc})") from None


def _tensor_problems(name: str, exc: TensorDataError) -> list[Problem]:
    if not exc.bad:
        return [Problem(None, name, None, str(exc))]
    return [Problem(b.index, name, b.value, b.reason, b.allowed) for b in exc.bad]


def v1_matrix(body: Any, max_rows: int) -> np.ndarray:
    """The matrix of a v1 ``{"instances": [{field: value, ...}, ...]}`` body.

    KServe hands over raw bytes when the content type is not JSON; they are
    parsed here so that a forgotten header is not an error.
    """
    if isinstance(body, bytes | str):
        body = _json(body)
    instances = body.get("instances") if isinstance(body, Mapping) else None
    if not isinstance(instances, list):
        problem = Problem(None, None, None, 'expected {"instances": [{...}, ...]} or a v2 request')
        raise ValidationError([problem])
    return records_to_matrix(instances, max_rows)


def _json(raw: bytes | str) -> Any:
    try:
        return parse_json(raw.encode() if isinstance(raw, str) else raw)
    except InvalidInput as exc:
        raise ValidationError([Problem(None, None, None, str(exc))]) from None


def features_request(matrix: np.ndarray, model_name: str, request_id: str | None) -> InferRequest:
    """The predictor's v2 request: one FP32 [N, 13] tensor in contract order."""
    tensor = InferInput(FEATURES_INPUT, list(matrix.shape), "FP32")
    tensor.set_data_from_numpy(matrix.astype(np.float32), binary_data=False)
    return InferRequest(model_name=model_name, infer_inputs=[tensor], request_id=request_id)


def risk_and_labels(response: InferResponse) -> tuple[np.ndarray, list[str]]:
    """P(disease) and the labels ("disease" / "no disease") of a predictor response."""
    outputs = {o.name: o for o in response.outputs}
    risk = outputs["probability"].as_numpy().astype(np.float32).reshape(-1)
    codes = outputs["label"].as_numpy().reshape(-1)
    return risk, [LABELS[int(code)] for code in codes]


def v2_response(
    risk: np.ndarray, labels: list[str], version: str, request: InferRequest
) -> InferResponse:
    """``risk`` FP32 [N] and ``label`` BYTES [N], limited to the request's ``outputs``."""
    risk_out = InferOutput("risk", [len(risk)], "FP32")
    risk_out.set_data_from_numpy(risk, binary_data=False)
    label_out = InferOutput("label", [len(labels)], "BYTES", data=labels)
    wanted = {o.name for o in request.request_outputs or []} or set(OUTPUTS)
    outputs = [o for o in (risk_out, label_out) if o.name in wanted]
    return InferResponse(
        response_id=request.id or "",
        model_name=request.model_name or "",
        model_version=version or None,
        infer_outputs=outputs,
        parameters={"model_version": version},
    )


def v1_response(risk: np.ndarray, labels: list[str], version: str) -> dict[str, Any]:
    predictions = [
        {"risk": round(float(r), 6), "label": label} for r, label in zip(risk, labels, strict=True)
    ]
    return {"predictions": predictions, "model_version": version}

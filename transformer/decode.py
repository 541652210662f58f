"""Requests the transformer accepts -> the contract matrix; results -> responses.

Accepted: v2 named columns (one input per field, any numeric datatype, or
BYTES holding a categorical field's label) and v1 ``{"instances": [...]}``.
Decoding problems (a wrong datatype, a shape that does not match the data)
are reported together with the contract's own problems.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson
from kserve.protocol.infer_type import InferInput, InferOutput, InferRequest, InferResponse

from transformer.contract import BY_NAME, LABELS
from transformer.validation import Problem, ValidationError, columns_to_matrix, records_to_matrix

NUMERIC_TYPES = frozenset(
    {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}
    | {"FP16", "FP32", "FP64"}
)
#: Name of the predictor's input tensor (FP32 [N, 13] in contract order).
FEATURES_INPUT = "features"
OUTPUTS = ("risk", "label")


def v2_matrix(request: InferRequest, max_rows: int) -> np.ndarray:
    """The matrix of a v2 request with one input per contract field."""
    columns: dict[str, list[object]] = {}
    problems: list[Problem] = []
    for tensor in request.inputs:
        values, problem = _column(tensor)
        if problem:
            problems.append(problem)
        else:
            columns[tensor.name] = values
    if problems:
        raise ValidationError(problems)
    return columns_to_matrix(columns, max_rows)


def _column(tensor: InferInput) -> tuple[list[object], Problem | None]:
    name, datatype = tensor.name, tensor.datatype
    feature = BY_NAME.get(name)
    if feature is not None and datatype not in NUMERIC_TYPES:
        allowed = "any numeric datatype" + (", or BYTES labels" if feature.codes else "")
        if datatype != "BYTES" or not feature.codes:
            return [], Problem(None, name, datatype, "has the wrong datatype", allowed)
    if len(tensor.shape) not in (1, 2) or (len(tensor.shape) == 2 and tensor.shape[1] != 1):
        return [], Problem(None, name, tensor.shape, "must have shape [N] or [N, 1]")
    try:
        array = tensor.as_numpy()
    except (ValueError, TypeError) as exc:
        message = f"data does not match datatype {datatype} and shape {tensor.shape}"
        return [], Problem(None, name, None, f"{message} ({exc})")
    return array.reshape(-1).tolist(), None


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
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValidationError([Problem(None, None, None, f"malformed JSON ({exc})")]) from None


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

"""A v2 inference body that arrived without ``Content-Type: application/json``.

FastAPI hands such a body to KServe as bytes, and KServe 0.21 then demands
the binary extension's ``inference-header-content-length`` header (400
otherwise). tritonclient's HTTP client sends no Content-Type for a JSON-only
request and ``curl -d`` sends ``application/x-www-form-urlencoded``: both are
JSON. The binary tensor data extension says a body whose JSON part is
not announced by that header is JSON, so it is read as the JSON route reads
it (:func:`serving.jsonbody.parse_json`, then KServe's request model).
"""

from __future__ import annotations

from typing import Any

from kserve.constants.constants import INFERENCE_CONTENT_LENGTH_HEADER
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import InferRequest
from kserve.protocol.rest.v2_datamodels import InferenceRequest
from pydantic import ValidationError

from serving.jsonbody import parse_json


def is_untyped_json(body: Any, headers: Any, protocol: str) -> bool:
    """A v2 REST body as bytes without the binary extension's header: JSON."""
    has_header = bool(headers) and INFERENCE_CONTENT_LENGTH_HEADER in headers
    return protocol == "v2" and isinstance(body, bytes) and not has_header


def infer_request(body: bytes, model_name: str | None) -> InferRequest:
    """The request of a JSON body; 400 naming the field when it is not a v2 request."""
    document = parse_json(body)
    try:
        request = InferenceRequest.model_validate(document)
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors()[:10]]
        raise InvalidInput(
            "the body is not a valid v2 inference request: " + "; ".join(problems)
        ) from None
    return InferRequest.from_inference_request(request, model_name or "")


def _describe(error: Any) -> str:
    loc = ".".join(str(part) for part in error.get("loc", ())) or "body"
    return f"{loc}: {error.get('msg', 'invalid')}"

"""JSON request bodies: parsed the way both routes should, malformed ones named.

KServe parses v1 bodies with orjson, which rejects the ``NaN`` and
``Infinity`` literals that Python's and numpy's JSON writers produce; the
v2 route accepts them. :func:`parse_json` tries orjson first (fast), then the
standard library (``NaN`` means "missing" on both routes; the contract
refuses ``Infinity``, naming the field), and answers JSON that is really
malformed with a 400 saying where.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from cloudevents.sdk.converters.util import has_binary_headers
from kserve.errors import InvalidInput
from kserve.protocol.dataplane import JSON_HEADERS


def parse_json(body: bytes) -> Any:
    """orjson first (fast); the standard library for NaN/Infinity; a 400 otherwise."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"malformed JSON: {exc}") from None


def is_json_v1(headers: Any, protocol: str) -> bool:
    """A v1 body KServe would parse as JSON (not a binary CloudEvent, not raw bytes)."""
    headers = headers or {}
    content_type = headers.get("content-type", "application/json").split(";")[0].strip()
    binary = content_type == "application/octet-stream" or has_binary_headers(headers)
    return protocol == "v1" and content_type in JSON_HEADERS and not binary

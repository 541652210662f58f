"""KServe's DataPlane, reading v1 JSON bodies the way the v2 route does.

KServe parses v1 bodies with orjson, which rejects the ``NaN`` and
``Infinity`` literals that Python's and numpy's JSON writers produce; the
client then reads "Unrecognized request format". The v2 route accepts them.
:class:`LenientDataPlane` retries such a body with the standard library's
parser, so that ``NaN`` means "missing" on both routes (and ``Infinity`` is
refused by the contract, naming the field), and answers JSON that is really
malformed with a 400 saying where.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from cloudevents.sdk.converters.util import has_binary_headers
from kserve.errors import InvalidInput
from kserve.protocol.dataplane import JSON_HEADERS, DataPlane


class LenientDataPlane(DataPlane):
    def decode(self, body: Any, headers: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(body, bytes) and _is_json_v1(headers, args, kwargs):
            body = parse_json(body)
        return super().decode(body, headers, *args, **kwargs)


def _is_json_v1(headers: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """A v1 body KServe would parse as JSON (not a binary CloudEvent, not raw bytes)."""
    headers = headers or {}
    protocol = kwargs.get("protocol_version", args[0] if args else "v1")
    content_type = headers.get("content-type", "application/json").split(";")[0].strip()
    binary = content_type == "application/octet-stream" or has_binary_headers(headers)
    return protocol == "v1" and content_type in JSON_HEADERS and not binary


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

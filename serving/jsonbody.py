"""JSON request bodies: parsed the way both routes should, malformed ones named.

KServe parses v1 bodies with orjson, which rejects the ``NaN`` and
``Infinity`` literals that Python's and numpy's JSON writers produce; the
v2 route accepts them. :func:`parse_json` reads them on both routes (``NaN``
means "missing"; the contract refuses ``Infinity``, naming the field) and
is strict about everything else (:mod:`serving.strictjson`: depth, UTF-8,
surrogates, numbers no float64 holds), answering a 400 that says where.
"""

from __future__ import annotations

from typing import Any

from cloudevents.sdk.converters.util import has_binary_headers
from kserve.protocol.dataplane import JSON_HEADERS

from serving.errors import InvalidRequestError
from serving.limits import DEFAULT_MAX_DEPTH
from serving.strictjson import BodyError, loads


def parse_json(body: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """The body's value, or :class:`InvalidRequestError` (400) naming where it is wrong."""
    try:
        return loads(body, max_depth)
    except BodyError as exc:
        raise InvalidRequestError([exc.problem]) from None


def is_json_v1(headers: Any, protocol: str) -> bool:
    """A v1 body KServe would parse as JSON (not a binary CloudEvent, not raw bytes)."""
    headers = headers or {}
    content_type = headers.get("content-type", "application/json").split(";")[0].strip()
    binary = content_type == "application/octet-stream" or has_binary_headers(headers)
    return protocol == "v1" and content_type in JSON_HEADERS and not binary

"""Predictor failures -> the transformer's errors, with reasons safe to show a client.

A predictor 4xx stays a 4xx (its message passed back), 502/503/504 and a
predictor that cannot be reached are :class:`PredictorUnavailableError`
(503 / UNAVAILABLE), anything else a bad gateway. Reasons say "the
predictor", never its internal address.
"""

from __future__ import annotations

import re
from http import HTTPStatus

import aiohttp
import grpc
import orjson
from grpc import StatusCode, aio

from serving.errors import ServingError


class PredictorUnavailableError(ServingError):
    """The predictor is down, unreachable, overloaded or too slow."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    grpc_code = StatusCode.UNAVAILABLE


class PredictorTimeoutError(PredictorUnavailableError):
    """The predictor did not answer in time (counted apart in the hop metrics)."""


class PredictorRejectedError(ServingError):
    """The predictor answered with a client error; passed back as such (not logged)."""

    grpc_code = StatusCode.INVALID_ARGUMENT

    def __init__(self, reason: str, status: int = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(reason)
        self.status = status
        if status == HTTPStatus.NOT_FOUND:
            self.grpc_code = StatusCode.NOT_FOUND

    @property
    def log_text(self) -> str:
        # Its message may quote the request's values: patient data stays out of logs.
        return f"the predictor rejected the request ({self.status})"


class PredictorFailedError(ServingError):
    """The predictor failed on a valid request (its 5xx): a bad gateway for us."""

    status = HTTPStatus.BAD_GATEWAY
    grpc_code = StatusCode.INTERNAL


#: gRPC status of the predictor -> the error the transformer raises.
GRPC_TO_ERROR: dict[StatusCode, type[ServingError]] = {
    StatusCode.UNAVAILABLE: PredictorUnavailableError,
    StatusCode.DEADLINE_EXCEEDED: PredictorUnavailableError,
    StatusCode.RESOURCE_EXHAUSTED: PredictorUnavailableError,
}

#: Addresses gRPC core writes into its messages ("ipv4:10.0.0.7:80", "dns:host:80").
_ADDRESS = re.compile(r"\b(?:ipv4|ipv6|dns|unix):[^\s,;)]+")
#: gRPC core's words for "could not reach the server" (as opposed to the server's UNAVAILABLE).
_TRANSPORT = re.compile(
    r"failed to connect|Socket closed|DNS resolution failed|Connection (?:refused|reset|timed out)"
    r"|connections to all backends failing|Broken pipe|Network is unreachable",
    re.IGNORECASE,
)


def unreachable(exc: BaseException) -> PredictorUnavailableError:
    """In words, not the HTTP client's class names (a client reads this)."""
    if isinstance(exc, TimeoutError):  # aiohttp's timeouts are TimeoutErrors too
        return PredictorTimeoutError("the predictor timed out")
    refused = isinstance(exc, aiohttp.ClientConnectorError)
    return PredictorUnavailableError(
        f"the predictor {'refused the connection' if refused else 'is unreachable'}"
    )


def from_http(status: int, content: bytes) -> ServingError:
    """The predictor's non-2xx answer, its ``error`` message passed on."""
    text = content.decode("utf-8", "replace")
    try:
        body = orjson.loads(content)
        message = str(body.get("error", text)) if isinstance(body, dict) else text
    except orjson.JSONDecodeError:
        message = text[:300]
    text = f"the predictor answered {status}: {message}"
    if status == 504:
        return PredictorTimeoutError(text)
    if status in (502, 503):
        return PredictorUnavailableError(text)
    if 400 <= status < 500:
        return PredictorRejectedError(text, status)
    return PredictorFailedError(text)


def from_grpc(exc: aio.AioRpcError, target: str) -> ServingError:
    code = exc.code()
    details = _ADDRESS.sub("the predictor", (exc.details() or "").replace(target, "the predictor"))
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return PredictorTimeoutError("the predictor timed out (DEADLINE_EXCEEDED)")
    if code == grpc.StatusCode.UNAVAILABLE and _TRANSPORT.search(details):
        return PredictorUnavailableError("the predictor is unreachable (UNAVAILABLE)")
    text = f"the predictor answered {code.name}: {details}"
    if code in GRPC_TO_ERROR:
        return GRPC_TO_ERROR[code](text)
    if code.name in ("INVALID_ARGUMENT", "NOT_FOUND", "FAILED_PRECONDITION", "OUT_OF_RANGE"):
        return PredictorRejectedError(text, 404 if code.name == "NOT_FOUND" else 400)
    return PredictorFailedError(text)

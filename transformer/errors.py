"""Errors our servers raise, each with its HTTP status and gRPC status code.

KServe maps its own exceptions to statuses; these add the cases it has no
class for (a predictor that is down, a predictor that rejected a request)
and carry a ``reason`` for both protocols, so that no path ends in a 500
with a traceback.
"""

from __future__ import annotations

from http import HTTPStatus

from grpc import StatusCode


class ServingError(Exception):
    """Base class: ``reason`` is what the client reads."""

    status: int = HTTPStatus.INTERNAL_SERVER_ERROR
    grpc_code: StatusCode = StatusCode.INTERNAL

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotReadyError(ServingError):
    """A model that cannot serve (yet); the reason says why."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    grpc_code = StatusCode.UNAVAILABLE


class PredictorUnavailableError(ServingError):
    """The predictor is down, unreachable, overloaded or too slow."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    grpc_code = StatusCode.UNAVAILABLE


class PredictorRejectedError(ServingError):
    """The predictor answered with a client error; passed back as such."""

    grpc_code = StatusCode.INVALID_ARGUMENT

    def __init__(self, reason: str, status: int = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(reason)
        self.status = status
        if status == HTTPStatus.NOT_FOUND:
            self.grpc_code = StatusCode.NOT_FOUND


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

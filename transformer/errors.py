"""Errors our servers raise, each with its HTTP status and gRPC status code.

KServe maps its own exceptions to statuses; these add the cases it has no
class for (a predictor that is down, a predictor that rejected a request)
and carry a ``reason`` for both protocols, so that no path ends in a 500
with a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from grpc import StatusCode

from transformer.validation import REPORTED_PROBLEMS as REPORTED
from transformer.validation import Problem, redacted, summarize


class ServingError(Exception):
    """Base class: ``reason`` is what the client reads, ``log_text`` what we log."""

    status: int = HTTPStatus.INTERNAL_SERVER_ERROR
    grpc_code: StatusCode = StatusCode.INTERNAL

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def log_text(self) -> str:
        return self.reason

    def body(self) -> dict[str, Any]:
        """The REST error body (KServe's ``{"error": ...}``)."""
        return {"error": self.reason}


class InvalidRequestError(ServingError):
    """A request with bad values: 400 / INVALID_ARGUMENT listing (a bounded number of) them.

    The REST body adds ``problems`` (the first ones as row, field, value,
    message, allowed) and ``problem_count``; logs get counts and field names
    only, never a value.
    """

    status = HTTPStatus.BAD_REQUEST
    grpc_code = StatusCode.INVALID_ARGUMENT

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(summarize(problems))
        self.problems = list(problems)

    @property
    def log_text(self) -> str:
        return "bad request: " + redacted(self.problems)

    def body(self) -> dict[str, Any]:
        shown = [p.to_dict() for p in self.problems[:REPORTED]]
        return {"error": self.reason, "problems": shown, "problem_count": len(self.problems)}


class NotReadyError(ServingError):
    """A model that cannot serve (yet); the reason says why."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    grpc_code = StatusCode.UNAVAILABLE


class PredictorUnavailableError(ServingError):
    """The predictor is down, unreachable, overloaded or too slow."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    grpc_code = StatusCode.UNAVAILABLE


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

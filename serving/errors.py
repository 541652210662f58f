"""Errors our servers raise, each with its HTTP status and gRPC status code.

KServe maps its own exceptions to statuses; these add the cases it has no
class for and carry a ``reason`` for both protocols, so that no path ends in
a 500 with a traceback. Component packages subclass :class:`ServingError`
for their own cases (the transformer's predictor failures, for one).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from http import HTTPStatus
from typing import Any

from grpc import StatusCode

from serving.problems import REPORTED_PROBLEMS, Problem, redacted, summarize


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
    message, allowed) and ``problem_count``; logs get counts and the names
    of the ``known`` fields only, never a value.
    """

    status = HTTPStatus.BAD_REQUEST
    grpc_code = StatusCode.INVALID_ARGUMENT

    def __init__(self, problems: Sequence[Problem], known: Collection[str] = ()) -> None:
        super().__init__(summarize(problems))
        self.problems = list(problems)
        self.known = frozenset(known)

    @property
    def log_text(self) -> str:
        return "bad request: " + redacted(self.problems, self.known)

    def body(self) -> dict[str, Any]:
        shown = [p.to_dict() for p in self.problems[:REPORTED_PROBLEMS]]
        return {"error": self.reason, "problems": shown, "problem_count": len(self.problems)}


class NotReadyError(ServingError):
    """A model that cannot serve (yet); the reason says why."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    grpc_code = StatusCode.UNAVAILABLE

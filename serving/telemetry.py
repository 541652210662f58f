"""Request metrics and request records of both servers, over REST and gRPC.

:class:`RequestMiddleware` (REST, an ASGI middleware) and
:class:`TelemetryInterceptor` (gRPC) wrap every request, inside the request
id's middleware and interceptor (:mod:`serving.request_id`): they open its
:class:`serving.trace.RequestRecord`, count it and time it, and write its
JSON log line, with the request's id, when enabled.

Every label value is bounded and chosen by the server, never sent by a
caller: ``route`` is the route *template* (``/v2/models/{model_name}/infer``)
or the gRPC method of the v2 service (``unmatched`` / ``other`` otherwise),
``code`` an HTTP status or gRPC code name, ``outcome`` one of
:data:`OUTCOMES`, ``field`` a field of the server's contract (``unknown``
for any other name, ``request`` for the request as a whole) and ``kind`` one
of :data:`PROBLEM_KINDS`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection, Iterable, MutableMapping
from typing import Any

import grpc
import numpy as np
from grpc_interceptor.server import AsyncServerInterceptor
from prometheus_client import Counter, Gauge, Histogram

from serving import request_id, trace
from serving.problems import Problem

OUTCOMES = ("ok", "invalid", "not_found", "client_error", "unavailable", "timeout", "error")
#: Problem kinds counted by name (anything else is ``other``), see serving.problems.Problem.
PROBLEM_KINDS = frozenset(
    {
        "missing",
        "out_of_range",
        "unknown_code",
        "wrong_type",
        "not_integer",
        "not_finite",
        "unknown_field",
        "shape",
        "batch",
        "body",
    }
)
#: Routes that are probed or scraped: counted, never logged.
QUIET_ROUTES = frozenset(
    {
        "/",
        "/metrics",
        "/v2/health/live",
        "/v2/health/ready",
        "/v2/models/{model_name}/ready",
        "/v1/models/{model_name}",
        "ServerLive",
        "ServerReady",
        "ModelReady",
    }
)
GRPC_METHODS = frozenset(
    {
        "ServerLive",
        "ServerReady",
        "ModelReady",
        "ServerMetadata",
        "ModelMetadata",
        "ModelInfer",
        "RepositoryModelLoad",
        "RepositoryModelUnload",
    }
)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

REQUESTS = Counter(
    "heart_requests",
    "Requests answered, by protocol, route template or gRPC method, code and outcome",
    ["protocol", "route", "code", "outcome"],
)
LATENCY = Histogram(
    "heart_request_duration_seconds",
    "Time from request to answer inside the server, by protocol and route",
    ["protocol", "route"],
    buckets=LATENCY_BUCKETS,
)
ROWS = Histogram(
    "heart_request_rows",
    "Rows (patients) per inference request that was decoded",
    ["protocol"],
    buckets=ROW_BUCKETS,
)
MODEL_READY = Gauge(
    "heart_model_ready",
    "1 while the server's model can answer (predictor: loaded; transformer: predictor checked)",
    multiprocess_mode="livemostrecent",
)
VALIDATION_FAILURES = Counter(
    "heart_validation_failures",
    "Problems found in requests, by contract field and kind (never a caller's value)",
    ["field", "kind"],
)


def http_outcome(status: int) -> str:
    if status < 400:
        return "ok"
    named = {400: "invalid", 422: "invalid", 404: "not_found", 503: "unavailable", 504: "timeout"}
    return named.get(status, "client_error" if status < 500 else "error")


def grpc_outcome(code: grpc.StatusCode) -> str:
    named = {
        grpc.StatusCode.OK: "ok",
        grpc.StatusCode.INVALID_ARGUMENT: "invalid",
        grpc.StatusCode.NOT_FOUND: "not_found",
        grpc.StatusCode.UNAVAILABLE: "unavailable",
        grpc.StatusCode.DEADLINE_EXCEEDED: "timeout",
        grpc.StatusCode.FAILED_PRECONDITION: "client_error",
        grpc.StatusCode.OUT_OF_RANGE: "client_error",
    }
    return named.get(code, "error")


def readiness(ready: bool) -> None:
    MODEL_READY.set(1 if ready else 0)


def count_problems(problems: Iterable[Problem], known: Collection[str]) -> None:
    """Count validation problems by field and kind; unknown names are never a label."""
    counts: dict[tuple[str, str], int] = {}
    for problem in problems:
        if problem.field is None:
            name = "request"
        else:
            name = problem.field if problem.field in known else "unknown"
        kind = problem.kind if problem.kind in PROBLEM_KINDS else "other"
        counts[name, kind] = counts.get((name, kind), 0) + 1
    for (name, kind), count in counts.items():
        VALIDATION_FAILURES.labels(name, kind).inc(count)


def count_bad_body() -> None:
    """A request refused as a whole (malformed JSON, not a v2 body...)."""
    VALIDATION_FAILURES.labels("request", "body").inc()


def observe_many(histogram: Histogram, values: np.ndarray) -> None:
    """``histogram.observe`` for every value, with one update per bucket.

    prometheus_client has no bulk observe; a 1024-row request would cost
    1024 calls. This adds the per-bucket counts and the sum to the child's
    values directly (``_upper_bounds``, ``_buckets``, ``_sum``: its own
    ``observe`` does the same per value; tests/unit/test_serving_telemetry.py
    checks the result equals one ``observe`` per value).
    """
    data = np.asarray(values, dtype=np.float64).reshape(-1)
    if not data.size:
        return
    bounds = np.asarray(histogram._upper_bounds, dtype=np.float64)
    index = np.searchsorted(bounds, data, side="left")
    for bucket, count in enumerate(np.bincount(index, minlength=len(bounds)).tolist()):
        if count:
            histogram._buckets[bucket].inc(count)
    histogram._sum.inc(float(data.sum()))


def finish(record: trace.RequestRecord, code: str, outcome: str, log: trace.RequestLog) -> None:
    total = time.perf_counter() - record.started
    record.request_id = request_id.current()
    REQUESTS.labels(record.protocol, record.route, code, outcome).inc()
    LATENCY.labels(record.protocol, record.route).observe(total)
    if record.rows:
        ROWS.labels(record.protocol).observe(record.rows)
    if record.route not in QUIET_ROUTES:
        log.write(record, code, outcome, total)


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class RequestMiddleware:
    """ASGI middleware: record, metrics and log line of every HTTP request."""

    def __init__(self, app: Callable[..., Awaitable[None]], server: str, log_requests: bool):
        self.app = app
        self.server = server
        self.log = trace.RequestLog(log_requests)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = trace.RequestRecord(self.server, "rest", "unmatched")
        status = 500

        async def send_status(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        token = trace.begin(record)
        try:
            await self.app(scope, receive, send_status)
        finally:
            trace.end(token)
            record.route = getattr(scope.get("route"), "path", None) or "unmatched"
            finish(record, str(status), http_outcome(status), self.log)


class TelemetryInterceptor(AsyncServerInterceptor):
    """gRPC: the same as :class:`RequestMiddleware`, per method of the v2 service."""

    def __init__(self, server: str, log_requests: bool) -> None:
        self.server = server
        self.log = trace.RequestLog(log_requests)

    async def intercept(
        self, method: Callable[..., Any], request: Any, context: Any, method_name: str
    ) -> Any:
        name = method_name.rsplit("/", 1)[-1]
        record = trace.RequestRecord(self.server, "grpc", name if name in GRPC_METHODS else "other")
        token = trace.begin(record)
        code = grpc.StatusCode.UNKNOWN
        try:
            response = await method(request, context)
            code = context.code() or grpc.StatusCode.OK
            return response
        except BaseException:
            code = context.code() or grpc.StatusCode.UNKNOWN
            raise
        finally:
            trace.end(token)
            finish(record, _code_name(code), grpc_outcome(_as_code(code)), self.log)


def _as_code(code: Any) -> grpc.StatusCode:
    if isinstance(code, grpc.StatusCode):
        return code
    for candidate in grpc.StatusCode:
        if candidate.value[0] == code:
            return candidate
    return grpc.StatusCode.UNKNOWN


def _code_name(code: Any) -> str:
    return str(_as_code(code).name)

"""The transformer's call to the predictor, counted by outcome and timed.

``heart_predictor_calls_total{protocol, outcome}`` (outcome: ``ok``, ``4xx``,
``5xx``, ``unavailable``, ``timeout``) and
``heart_predictor_call_duration_seconds{protocol}``; the time also goes to
the request's ``hop`` stage (:mod:`serving.trace`).
"""

from __future__ import annotations

import time

from kserve.protocol.infer_type import InferRequest, InferResponse
from prometheus_client import Counter, Histogram

from serving import trace
from serving.errors import ServingError
from serving.telemetry import LATENCY_BUCKETS
from transformer.client import PredictorClient
from transformer.client_errors import (
    PredictorRejectedError,
    PredictorTimeoutError,
    PredictorUnavailableError,
)

CALLS = Counter(
    "heart_predictor_calls",
    "Transformer -> predictor inference calls, by protocol and outcome",
    ["protocol", "outcome"],
)
LATENCY = Histogram(
    "heart_predictor_call_duration_seconds",
    "Time of the transformer -> predictor inference call (the hop)",
    ["protocol"],
    buckets=LATENCY_BUCKETS,
)


def outcome(exc: BaseException | None) -> str:
    if exc is None:
        return "ok"
    if isinstance(exc, PredictorTimeoutError):
        return "timeout"
    if isinstance(exc, PredictorUnavailableError):
        return "unavailable"
    if isinstance(exc, PredictorRejectedError):
        return "4xx"
    return "5xx" if isinstance(exc, ServingError) else "unavailable"


async def infer(client: PredictorClient, request: InferRequest, protocol: str) -> InferResponse:
    started = time.perf_counter()
    failure: BaseException | None = None
    try:
        with trace.stage("hop"):
            return await client.infer(request)
    except BaseException as exc:
        failure = exc
        raise
    finally:
        LATENCY.labels(protocol).observe(time.perf_counter() - started)
        CALLS.labels(protocol, outcome(failure)).inc()

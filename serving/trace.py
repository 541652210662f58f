"""One record per request: its id, stage latencies, rows, model version and outcome.

The REST middleware and the gRPC interceptor (:mod:`serving.telemetry`)
open a record when a request arrives and close it when the answer leaves;
code in between adds to it through a context variable: stage timings
(:func:`stage`: ``decode``, ``validate``, ``hop``, ``model``, ``encode``),
the row count and the model version (:func:`note`). With ``--log_requests``
the closed record is one JSON line on stdout (:class:`RequestLog`), with the
request's id (:mod:`serving.request_id`). A record never holds a field
value: the id, names and numbers only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field

STAGES = ("decode", "validate", "hop", "model", "encode")
LOGGER_NAME = "heart.requests"


@dataclass
class RequestRecord:
    """What one request did; ``request_id`` is set when it ends (:mod:`serving.request_id`)."""

    server: str
    protocol: str
    route: str
    request_id: str = ""
    started: float = field(default_factory=time.perf_counter)
    stages: dict[str, float] = field(default_factory=dict)
    rows: int = 0
    model_version: str = ""

    def as_log(self, code: str, outcome: str, total: float) -> dict[str, object]:
        latency = {
            name: round(self.stages[name] * 1000, 3) for name in STAGES if name in self.stages
        }
        return {
            "ts": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "server": self.server,
            "request_id": self.request_id,
            "protocol": self.protocol,
            "route": self.route,
            "model_version": self.model_version,
            "code": code,
            "outcome": outcome,
            "rows": self.rows,
            "latency_ms": {"total": round(total * 1000, 3), **latency},
        }


_CURRENT: ContextVar[RequestRecord | None] = ContextVar("heart_request", default=None)


def begin(record: RequestRecord) -> Token[RequestRecord | None]:
    return _CURRENT.set(record)


def end(token: Token[RequestRecord | None]) -> None:
    _CURRENT.reset(token)


def current() -> RequestRecord | None:
    return _CURRENT.get()


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the time spent in the block to stage ``name`` of the current request."""
    started = time.perf_counter()
    try:
        yield
    finally:
        record = _CURRENT.get()
        if record is not None:
            record.stages[name] = record.stages.get(name, 0.0) + time.perf_counter() - started


def note(rows: int | None = None, model_version: str | None = None) -> None:
    """Record the row count or the model version of the current request."""
    record = _CURRENT.get()
    if record is None:
        return
    if rows is not None:
        record.rows = rows
    if model_version is not None:
        record.model_version = model_version


class RequestLog:
    """One JSON line per request on stdout (logger ``heart.requests``), when enabled."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.logger = logging.getLogger(LOGGER_NAME)
        if enabled and not self.logger.handlers:
            handler = logging.StreamHandler(sys.stdout)
            handler.setFormatter(logging.Formatter("%(message)s"))
            self.logger.addHandler(handler)
            self.logger.setLevel(logging.INFO)
            self.logger.propagate = False

    def write(self, record: RequestRecord, code: str, outcome: str, total: float) -> None:
        if self.enabled:
            line = json.dumps(record.as_log(code, outcome, total), separators=(",", ":"))
            self.logger.info(line)

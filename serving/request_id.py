"""The id of the request being served: echoed, generated when absent, passed on, logged.

One id per request, from (first found) the v2 body's ``id``, the
``x-request-id`` header (gRPC: metadata), or a new UUID4, as KServe's
``get_predict_response`` generates. A client's id is taken when it can
travel as a header (printable ASCII, at most 256 characters). It is the response's ``id``, its
``x-request-id`` header (gRPC: initial metadata), the id the transformer
sends the predictor (header/metadata and v2 ``id``) and part of every log
line our servers write about the request.

:func:`current` is the id of the request being served, wherever the code
runs (a handler, a model, an error handler, a log call): a context variable
set by :class:`RequestIdMiddleware` (REST) and :class:`RequestIdInterceptor`
(gRPC), and updated by :func:`adopt` once a v2 body is decoded.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from grpc_interceptor.server import AsyncServerInterceptor

HEADER = "x-request-id"
#: Longest id taken from a client; a longer one is replaced by a new UUID.
MAX_LENGTH = 256

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]


@dataclass
class _Slot:
    """Mutable, so that a task copying the context still updates the request's id."""

    value: str


_current: ContextVar[_Slot | None] = ContextVar("heart_request_id", default=None)


def new() -> str:
    return str(uuid.uuid4())


def usable(candidate: object) -> str | None:
    """A client's id when it can travel as a header (printable ASCII, <= 256 chars), else None."""
    if not isinstance(candidate, str) or not candidate or len(candidate) > MAX_LENGTH:
        return None
    return candidate if candidate.isascii() and candidate.isprintable() else None


def current() -> str:
    """The id of the request being served ("" outside a request)."""
    slot = _current.get()
    return slot.value if slot else ""


def begin(candidate: object = None) -> str:
    """Start a request's context with ``candidate`` (a header) or a new id."""
    value = usable(candidate) or new()
    _current.set(_Slot(value))
    return value


def adopt(body_id: object) -> str:
    """The request's id once its body is read: the body's own ``id`` wins when usable.

    A body id that cannot travel as a header (non-ASCII, control characters,
    too long) is still echoed in the response body, but the headers, logs
    and the predictor call use the id from the header or a generated one.
    """
    slot = _current.get()
    if slot is None:
        return begin(body_id)
    chosen = usable(body_id)
    if chosen:
        slot.value = chosen
    return slot.value


def log_tag() -> str:
    """``" [request <id>]"`` for a log line ("" outside a request)."""
    value = current()
    return f" [request {value}]" if value else ""


class RequestIdMiddleware:
    """ASGI: every HTTP request gets an id (``x-request-id`` or new), every response the header.

    A request without the header gets it added to its scope, so that
    KServe's handlers (latency log, forwarded headers) see the same id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = dict(scope.get("headers") or [])
        given = raw.get(HEADER.encode(), b"").decode("latin-1")
        value = begin(given)
        if value != given:
            others = [(k, v) for k, v in scope.get("headers") or [] if k != HEADER.encode()]
            scope["headers"] = [*others, (HEADER.encode(), value.encode())]
        slot = _current.get()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start" and slot is not None:
                headers = [(k, v) for k, v in message.get("headers", []) if k != HEADER.encode()]
                message["headers"] = [*headers, (HEADER.encode(), slot.value.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


class RequestIdInterceptor(AsyncServerInterceptor):
    """gRPC: the request's ``id`` (ModelInfer), else ``x-request-id`` metadata, else a new one.

    The id goes back as ``x-request-id`` initial metadata; the model puts it
    in the response's ``id`` (:mod:`serving.outputs`).
    """

    async def intercept(
        self, method: Callable[..., Any], request: Any, context: Any, method_name: str
    ) -> Any:
        metadata = dict(context.invocation_metadata() or ())
        begin(metadata.get(HEADER))
        adopt(getattr(request, "id", None))
        await context.send_initial_metadata(((HEADER, current()),))
        return await method(request, context)

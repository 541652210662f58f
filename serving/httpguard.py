"""The REST side of :mod:`serving.limits`: a body guard and a request-head deadline.

Both are described in :mod:`serving.limits`; this module holds the code that
needs uvicorn and the strict JSON reader, so that settings stay light.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from serving.errors import InvalidRequestError
from serving.limits import DEFAULT_HEADER_TIMEOUT_SECONDS, Limits
from serving.problems import Problem
from serving.strictjson import BodyError, loads

logger = logging.getLogger("kserve")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
_INFERENCE_HEADER = b"inference-header-content-length"
#: On shutdown, how long an idle keep-alive connection may still bring a request.
DRAIN_SECONDS = 1.0


async def answer(send: Send, status: int, body: dict[str, Any], close: bool = False) -> None:
    """A JSON response; ``close`` ends the connection (the body may not have been read)."""
    try:
        content = orjson.dumps(body)
    except TypeError:  # text no UTF-8 encoder takes (a lone surrogate): escape it
        content = json.dumps(body, ensure_ascii=True, default=str).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(content))]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


class _RefusedError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class BodyGuard:
    """ASGI middleware applying :class:`Limits` to every request body (see the module doc)."""

    def __init__(self, app: Callable[..., Awaitable[None]], limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", ())}
        try:
            body = await self._read(headers, receive)
        except _RefusedError as exc:
            logger.warning("request refused (%d): %s", exc.status, exc)
            await answer(send, exc.status, {"error": str(exc)}, close=True)
            return
        if body is None:  # the client went away
            return
        if scope["method"] == "POST" and body:
            try:
                self._check(headers, body)
            except InvalidRequestError as exc:
                logger.warning("bad request: %s", exc.log_text)
                await answer(send, 400, exc.body())
                return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, headers: dict[bytes, bytes], receive: Receive) -> bytes | None:
        limit = self.limits.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _RefusedError(413, f"the body is {int(declared)} bytes, the limit is {limit}")
        chunks: list[bytes] = []
        size = 0
        deadline = time.monotonic() + self.limits.body_timeout_seconds
        more = True
        while more:
            try:
                message = await asyncio.wait_for(receive(), deadline - time.monotonic())
            except TimeoutError:
                seconds = self.limits.body_timeout_seconds
                raise _RefusedError(408, f"the body did not arrive within {seconds:g} s") from None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _RefusedError(413, f"the body is over the limit of {limit} bytes")
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    def _check(self, headers: dict[bytes, bytes], body: bytes) -> None:
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        json_part = body
        if _INFERENCE_HEADER in headers:  # the binary extension, whatever the Content-Type
            json_part = body[: header_length(headers[_INFERENCE_HEADER], len(body))]
        elif not _is_json(content_type):
            return
        try:
            loads(json_part, self.limits.max_json_depth)
        except BodyError as exc:
            raise InvalidRequestError([exc.problem]) from None


def _is_json(content_type: bytes) -> bool:
    """JSON as FastAPI and KServe read it: no type, ``application/json`` or ``+json``."""
    if not content_type:
        return True
    main, _, sub = content_type.partition(b"/")
    return main == b"application" and (sub == b"json" or sub.endswith(b"+json"))


def header_length(value: bytes, body_length: int) -> int:
    """``Inference-Header-Content-Length``: an integer in [1, body length] (binary extension)."""
    allowed = f"an integer in [1, {body_length}] (the JSON header's length in bytes)"
    text = value.decode("latin-1").strip()
    if not text.isdigit() or not 0 < int(text) <= body_length:
        shown = text[:20]
        message = f"is {shown!r}, not the length of a JSON header within the body"
        field = "Inference-Header-Content-Length"
        raise InvalidRequestError([Problem(None, field, None, message, allowed, "binary")])
    return int(text)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body as one message, then the client's own messages (disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class HeadTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on each request head (see the module doc).

    The deadline (``config.header_timeout_seconds``, set by
    :class:`serving.kserve_adapter.BoundRESTServer`) starts when the
    connection opens and when a later request's first byte arrives; it
    ends when the headers are complete. Idle time between requests stays
    uvicorn's ``timeout_keep_alive``. On shutdown, idle connections drain
    (:meth:`shutdown`).
    """

    _head_timer: asyncio.TimerHandle | None = None
    _drain_timer: asyncio.TimerHandle | None = None
    _draining = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_timer is None:
            self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        super().on_headers_complete()
        if self._draining and self.cycle is not None:
            if self._drain_timer is not None:
                self._drain_timer.cancel()
                self._drain_timer = None
            self.cycle.keep_alive = False  # answered with connection: close, then closed

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        if self._drain_timer is not None:
            self._drain_timer.cancel()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        """Graceful stop: an idle keep-alive connection gets :data:`DRAIN_SECONDS` first.

        uvicorn closes it at once; a request the client sent just before
        then is lost, and closing a socket with unread bytes resets it
        (the client sees ECONNRESET). Here a request that arrives within the
        drain is served with ``connection: close``; a silent connection is
        closed when the drain ends.
        """
        if self.cycle is None or self.cycle.response_complete:
            self._draining = True
            self._drain_timer = self.loop.call_later(DRAIN_SECONDS, self._end_drain)
        else:
            self.cycle.keep_alive = False

    def _end_drain(self) -> None:
        self._drain_timer = None
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a malformed request line or header, as a JSON error."""
        self._write_error(400, "invalid HTTP request: " + msg.rstrip("."))

    def _arm_head_timer(self) -> None:
        seconds = getattr(self.config, "header_timeout_seconds", DEFAULT_HEADER_TIMEOUT_SECONDS)
        self._head_timer = self.loop.call_later(seconds, self._head_timeout, seconds)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self, seconds: float) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being served: its head was complete
        self._write_error(408, f"the request head did not arrive within {seconds:g} s")

    def _write_error(self, status: int, message: str) -> None:
        content = orjson.dumps({"error": message})
        reason = {400: b"Bad Request", 408: b"Request Timeout"}[status]
        head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n" % (status, reason)
        head += b"content-length: %d\r\nconnection: close\r\n\r\n" % len(content)
        self.transport.write(head + content)
        self.transport.close()

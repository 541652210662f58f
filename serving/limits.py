"""Bounds on what one client can make a server hold: body size, read times, JSON shape.

:class:`Limits` is built from flags (:func:`add_flags`); two pieces apply it:

- :class:`BodyGuard`, an ASGI middleware in front of every REST route. It
  answers 413 from ``Content-Length`` before reading a byte, and while
  streaming a body without one as soon as it passes ``max_body_bytes``; 408
  when the body has not arrived within ``body_timeout_seconds``; 400 (naming
  where) for a POST body that is not strict JSON (:mod:`serving.strictjson`)
  or whose binary-extension header length is not an integer within the body.
  Every body is read (drained) here, so no route can leave one dribbling in.
  413 and 408 close the connection.
- :class:`HeadTimeoutProtocol`, uvicorn's httptools protocol with a deadline
  on the request head: a connection must complete its request line and
  headers within ``header_timeout_seconds`` of opening (or of the first
  byte of a later request), else it gets a 408 and is closed. uvicorn has
  ``timeout_keep_alive`` for idle connections between requests but nothing
  for a client that sends one header byte every few seconds.

gRPC uses grpc's own channel arguments (:func:`grpc_options`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson
from kserve.logging import logger
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from serving.errors import InvalidRequestError
from serving.problems import Problem
from serving.strictjson import DEFAULT_MAX_DEPTH, BodyError, loads

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Default bound on a request body: 8x the largest 1024-row v1 request with labels.
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0
DEFAULT_BODY_TIMEOUT_SECONDS = 30.0
#: gRPC: streams one connection may run at once.
DEFAULT_GRPC_MAX_STREAMS = 100
_INFERENCE_HEADER = b"inference-header-content-length"


@dataclass(frozen=True)
class Limits:
    """What one request or connection may take; see ``docs/reliability.md``.

    ``keep_alive_seconds`` is KServe's ``--timeout-keep-alive`` (uvicorn's
    own setting), also gRPC's idle-connection bound.
    """

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    header_timeout_seconds: float = DEFAULT_HEADER_TIMEOUT_SECONDS
    body_timeout_seconds: float = DEFAULT_BODY_TIMEOUT_SECONDS
    max_json_depth: int = DEFAULT_MAX_DEPTH
    keep_alive_seconds: int = 65
    grpc_max_streams: int = DEFAULT_GRPC_MAX_STREAMS

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Limits:
        limits = cls(
            max_body_bytes=args.max_body_bytes,
            header_timeout_seconds=args.header_timeout_seconds,
            body_timeout_seconds=args.body_timeout_seconds,
            max_json_depth=args.max_json_depth,
            keep_alive_seconds=args.timeout_keep_alive,
            grpc_max_streams=args.grpc_max_concurrent_streams,
        )
        bad = [name for name, value in vars(limits).items() if value <= 0]
        if bad:
            raise SystemExit(f"--{bad[0]} must be > 0")
        return limits


def add_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max_body_bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="largest REST request body (413 above it, from Content-Length or while reading)",
    )
    parser.add_argument(
        "--header_timeout_seconds",
        type=float,
        default=DEFAULT_HEADER_TIMEOUT_SECONDS,
        help="time a connection has to send a request's line and headers (REST; gRPC handshake)",
    )
    parser.add_argument(
        "--body_timeout_seconds",
        type=float,
        default=DEFAULT_BODY_TIMEOUT_SECONDS,
        help="time a REST request has to send its whole body after its headers (408 after)",
    )
    parser.add_argument(
        "--max_json_depth",
        type=int,
        default=DEFAULT_MAX_DEPTH,
        help="deepest nesting of JSON arrays and objects in a request body",
    )
    parser.add_argument(
        "--grpc_max_concurrent_streams",
        type=int,
        default=DEFAULT_GRPC_MAX_STREAMS,
        help="gRPC calls one connection may run at once",
    )


def grpc_options(limits: Limits, max_receive: int, max_send: int) -> list[tuple[str, int]]:
    """grpc's own channel arguments for the bounds above (grpc/impl/channel_arg_names.h)."""
    return [
        ("grpc.max_receive_message_length", max_receive),
        ("grpc.max_send_message_length", max_send),
        ("grpc.max_concurrent_streams", limits.grpc_max_streams),
        ("grpc.server_handshake_timeout_ms", int(limits.header_timeout_seconds * 1000)),
        ("grpc.max_connection_idle_ms", int(limits.keep_alive_seconds * 1000)),
        ("grpc.keepalive_time_ms", int(limits.keep_alive_seconds * 1000)),
        ("grpc.keepalive_timeout_ms", 20_000),
    ]


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
        if content_type == b"application/octet-stream" and _INFERENCE_HEADER in headers:
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
    uvicorn's ``timeout_keep_alive``.
    """

    _head_timer: asyncio.TimerHandle | None = None

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

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

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

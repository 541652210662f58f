"""Bounds on what one client can make a server hold: body size, read times, JSON shape.

:class:`Limits` is built from flags (:func:`add_flags`); gRPC applies it with
grpc's own channel arguments (:func:`grpc_options`), REST with two pieces of
:mod:`serving.httpguard`:

- :class:`~serving.httpguard.BodyGuard`, an ASGI middleware in front of every REST route. It
  answers 413 from ``Content-Length`` before reading a byte, and while
  streaming a body without one as soon as it passes ``max_body_bytes``; 408
  when the body has not arrived within ``body_timeout_seconds``; 400 (naming
  where) for a POST body that is not strict JSON (:mod:`serving.strictjson`)
  or whose binary-extension header length is not an integer within the body.
  Every body is read (drained) here, so no route can leave one dribbling in.
  413 and 408 close the connection.
- :class:`~serving.httpguard.HeadTimeoutProtocol`, uvicorn's httptools protocol with a deadline
  on the request head: a connection must complete its request line and
  headers within ``header_timeout_seconds`` of opening (or of the first
  byte of a later request), else it gets a 408 and is closed. uvicorn has
  ``timeout_keep_alive`` for idle connections between requests but nothing
  for a client that sends one header byte every few seconds.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

#: Default bound on a request body: 8x the largest 1024-row v1 request with labels.
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0
DEFAULT_BODY_TIMEOUT_SECONDS = 30.0
#: gRPC: streams one connection may run at once.
DEFAULT_GRPC_MAX_STREAMS = 100
#: Deepest nesting of JSON arrays and objects (v2 data [N, 1] needs 6).
DEFAULT_MAX_DEPTH = 32
#: ``--enable_model_repository`` (see :mod:`serving.repository`).
REPOSITORY_FLAG = "--enable_model_repository"


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

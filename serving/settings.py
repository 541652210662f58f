"""Typed settings of our KServe servers, built in ``main()`` from KServe's parser.

:func:`server_parser` extends ``kserve.model_server.parser`` (every KServe
flag keeps working) with ``--bind_address``, the limits of
:mod:`serving.limits` and ``--enable_model_repository``; each server adds
its own flags. Nothing here reads the environment.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from serving import limits as limits_
from serving.limits import REPOSITORY_FLAG, Limits


def server_parser(description: str, prog: str | None = None) -> argparse.ArgumentParser:
    """KServe's flags plus ``--bind_address``; ``--model_name`` defaults to ``heart``."""
    from kserve import model_server

    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        parents=[model_server.parser],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--bind_address",
        default="0.0.0.0",
        help="address the REST and gRPC servers listen on (127.0.0.1: this machine only)",
    )
    parser.add_argument(
        REPOSITORY_FLAG,
        type=_true_or_false,
        default=False,
        help="serve the v2 model repository extension (load/unload; no credentials: keep off)",
    )
    parser.add_argument(
        "--log_requests",
        action="store_true",
        help="one JSON line per request on stdout: request id, model version, outcome,"
        " latency per stage, rows (never a field value)",
    )
    parser.add_argument(
        "--no_access_log",
        dest="access_log",
        action="store_false",
        help="no uvicorn access line per REST request (uvicorn's --no-access-log);"
        " --log_requests writes our JSON line, with the request id, either way",
    )
    limits_.add_flags(parser)
    # grpc's own receive bound, as large as a REST body (KServe's default is 8 MiB).
    parser.set_defaults(
        model_name="heart", grpc_max_receive_message_length=limits_.DEFAULT_MAX_BODY_BYTES
    )
    return parser


def _true_or_false(text: str) -> bool:
    if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return text.lower() in ("true", "1", "yes")


@dataclass(frozen=True)
class ServerSettings:
    """What :class:`serving.kserve_adapter.BoundModelServer` needs (KServe flags + bind)."""

    model_name: str
    bind_address: str
    http_port: int
    grpc_port: int
    workers: int
    max_threads: int
    enable_grpc: bool
    enable_latency_logging: bool
    metrics_dir: str | None = None
    configure_logging: bool = True
    log_config_file: str | None = None
    limits: Limits = field(default_factory=Limits)
    enable_model_repository: bool = False
    grpc_max_receive_message_length: int = limits_.DEFAULT_MAX_BODY_BYTES
    grpc_max_send_message_length: int = 8 * 1024 * 1024
    #: "predictor" or "transformer": the ``server`` of request log lines.
    server_name: str = "server"
    log_requests: bool = False
    #: uvicorn's access line per REST request (``--access_log``).
    access_log: bool = True
    #: KServe's ``--event-loop``: ``auto`` (uvloop when installed), ``asyncio`` or ``uvloop``.
    event_loop: str = "auto"

    @classmethod
    def from_args(
        cls, args: argparse.Namespace, metrics_dir: str | None, server_name: str = "server"
    ) -> ServerSettings:
        if args.workers < 1:
            raise SystemExit(f"--workers must be >= 1, got {args.workers}")
        return cls(
            model_name=args.model_name,
            bind_address=args.bind_address,
            http_port=args.http_port,
            grpc_port=args.grpc_port,
            workers=args.workers,
            max_threads=args.max_threads,
            enable_grpc=args.enable_grpc,
            enable_latency_logging=args.enable_latency_logging,
            metrics_dir=metrics_dir,
            configure_logging=args.configure_logging,
            log_config_file=args.log_config_file,
            limits=Limits.from_args(args),
            enable_model_repository=args.enable_model_repository,
            grpc_max_receive_message_length=args.grpc_max_receive_message_length,
            grpc_max_send_message_length=args.grpc_max_send_message_length,
            server_name=server_name,
            log_requests=bool(args.log_requests),
            access_log=args.access_log,
            event_loop=args.event_loop,
        )

    def server_kwargs(self) -> dict[str, Any]:
        return {
            "http_port": self.http_port,
            "grpc_port": self.grpc_port,
            "workers": self.workers,
            "max_threads": self.max_threads,
            "enable_grpc": self.enable_grpc,
            "enable_latency_logging": self.enable_latency_logging,
            "bind_address": self.bind_address,
            "metrics_dir": self.metrics_dir,
            "limits": self.limits,
            "enable_model_repository": self.enable_model_repository,
            "timeout_keep_alive": self.limits.keep_alive_seconds,
            "grpc_message_lengths": (
                self.grpc_max_receive_message_length,
                self.grpc_max_send_message_length,
            ),
            "server_name": self.server_name,
            "log_requests": self.log_requests,
            "access_log": self.access_log,
            "event_loop": self.event_loop,
        }

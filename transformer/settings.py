"""Typed settings of our KServe servers, built in ``main()`` from KServe's parser.

:func:`server_parser` extends ``kserve.model_server.parser`` (every KServe
flag keeps working) with ``--bind_address``; the transformer adds its own
flags in :func:`transformer_parser`. Nothing here reads the environment.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from transformer.validation import DEFAULT_MAX_ROWS


def server_parser(description: str) -> argparse.ArgumentParser:
    """KServe's flags plus ``--bind_address``; ``--model_name`` defaults to ``heart``."""
    from kserve import model_server

    parser = argparse.ArgumentParser(
        description=description,
        parents=[model_server.parser],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--bind_address",
        default="0.0.0.0",
        help="address the REST and gRPC servers listen on (127.0.0.1: this machine only)",
    )
    parser.set_defaults(model_name="heart")
    return parser


@dataclass(frozen=True)
class ServerSettings:
    """What :class:`transformer.server.BoundModelServer` needs (KServe flags + bind)."""

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

    @classmethod
    def from_args(cls, args: argparse.Namespace, metrics_dir: str | None) -> ServerSettings:
        if args.workers < 1:
            raise SystemExit(f"--workers must be >= 1, got {args.workers}")
        return cls(
            args.model_name, args.bind_address, args.http_port, args.grpc_port, args.workers,
            args.max_threads, args.enable_grpc, args.enable_latency_logging, metrics_dir,
            args.configure_logging, args.log_config_file,
        )  # fmt: skip

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
        }


def transformer_parser() -> argparse.ArgumentParser:
    parser = server_parser("Heart-disease feature transformer (KServe, Open Inference Protocol).")
    parser.add_argument(
        "--max_batch_size", type=int, default=DEFAULT_MAX_ROWS, help="most records per request"
    )
    parser.add_argument(
        "--contract_check_interval_seconds",
        type=float,
        default=5.0,
        help="how long a predictor metadata check stays valid for readiness",
    )
    # KServe's default (600 s) would let a hung predictor hang our clients.
    parser.set_defaults(predictor_protocol="v2", predictor_request_timeout_seconds=10)
    return parser


def predictor_address(host: str, use_ssl: bool = False) -> str:
    """``host:port`` for ``--predictor_host``; port 80 (443 with TLS) when none is given.

    KServe starts a transformer with ``--predictor_host <name>.<namespace>``
    (no port): its Service listens on 80. gRPC would dial 443 for a bare
    host, so the port is made explicit for both protocols, as KServe's own
    ``InferenceGRPCClient`` does.
    """
    if "://" in host or "/" in host or not host:
        raise ValueError(f"--predictor_host must be host[:port], got {host!r}")
    try:
        port = urlsplit(f"//{host}").port
    except ValueError as exc:
        raise ValueError(f"--predictor_host {host!r}: {exc}") from None
    return host if port is not None else f"{host}:{443 if use_ssl else 80}"


@dataclass(frozen=True)
class TransformerSettings:
    """How the transformer reaches the predictor.

    ``predictor_host`` is ``host[:port]`` of the predictor's REST or gRPC
    port (port 80, or 443 with ``use_ssl``, when absent: KServe passes the
    predictor Service's name alone). ``retries`` re-dials a predictor that
    could not be reached (REST: connection errors; gRPC: UNAVAILABLE).
    """

    server: ServerSettings
    predictor_host: str
    predictor_protocol: str
    timeout_seconds: float
    retries: int
    max_batch_size: int
    contract_check_interval_seconds: float
    use_ssl: bool = False

    @classmethod
    def parse(
        cls, argv: Sequence[str] | None, metrics_dir: str | None = None
    ) -> TransformerSettings:
        parser = transformer_parser()
        args = parser.parse_args(argv)
        if not args.predictor_host:
            parser.error("--predictor_host is required (host:port of the predictor)")
        try:
            predictor_address(args.predictor_host, args.predictor_use_ssl)
        except ValueError as exc:
            parser.error(str(exc))
        if args.predictor_request_retries < 0:
            parser.error("--predictor_request_retries must be >= 0")
        if args.predictor_protocol == "v1":
            parser.error("--predictor_protocol must be v2 or grpc-v2 (the predictor speaks v2)")
        if args.max_batch_size < 1:
            parser.error("--max_batch_size must be >= 1")
        return cls(
            ServerSettings.from_args(args, metrics_dir), args.predictor_host,
            args.predictor_protocol, float(args.predictor_request_timeout_seconds),
            args.predictor_request_retries, args.max_batch_size,
            args.contract_check_interval_seconds, bool(args.predictor_use_ssl),
        )  # fmt: skip

"""Typed settings of our KServe servers, built in ``main()`` from KServe's parser.

:func:`server_parser` extends ``kserve.model_server.parser`` (every KServe
flag keeps working) with ``--bind_address``; each server adds its own flags.
Nothing here reads the environment.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any


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
    parser.set_defaults(model_name="heart")
    return parser


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

    @classmethod
    def from_args(cls, args: argparse.Namespace, metrics_dir: str | None) -> ServerSettings:
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
        }

"""The transformer's typed settings, built in ``main()`` from KServe's parser.

:func:`transformer_parser` adds the transformer's flags to
:func:`serving.settings.server_parser`. Nothing here reads the environment.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from serving.problems import DEFAULT_MAX_ROWS
from serving.settings import ServerSettings, server_parser


def transformer_parser() -> argparse.ArgumentParser:
    parser = server_parser(
        "Heart-disease feature transformer (KServe, Open Inference Protocol).",
        prog="python -m transformer",
    )
    parser.add_argument(
        "--max_batch_size", type=int, default=DEFAULT_MAX_ROWS, help="most records per request"
    )
    parser.add_argument(
        "--contract_check_interval_seconds",
        type=float,
        default=5.0,
        help="how long a predictor metadata check stays valid for readiness",
    )
    parser.add_argument(
        "--drift_window_rows",
        type=int,
        default=2000,
        help="rows in the per-feature drift window of each model version (0: no drift tracking)",
    )
    parser.add_argument(
        "--drift_update_seconds",
        type=float,
        default=5.0,
        help="how often a worker publishes its drift window to /metrics",
    )
    parser.add_argument(
        "--drift_min_rows",
        type=int,
        default=200,
        help="rows a window needs before its drift scores are exported",
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
    #: Drift window of the whole server (rows; 0 = off), publish period, rows before a score.
    drift_window_rows: int = 2000
    drift_update_seconds: float = 5.0
    drift_min_rows: int = 200

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
        if args.drift_window_rows < 0 or args.drift_min_rows < 1:
            parser.error("--drift_window_rows must be >= 0 and --drift_min_rows >= 1")
        if args.drift_update_seconds <= 0:
            parser.error("--drift_update_seconds must be > 0")
        return cls(
            server=ServerSettings.from_args(args, metrics_dir, "transformer"),
            predictor_host=args.predictor_host,
            predictor_protocol=args.predictor_protocol,
            timeout_seconds=float(args.predictor_request_timeout_seconds),
            retries=args.predictor_request_retries,
            max_batch_size=args.max_batch_size,
            contract_check_interval_seconds=args.contract_check_interval_seconds,
            use_ssl=bool(args.predictor_use_ssl),
            drift_window_rows=args.drift_window_rows,
            drift_update_seconds=args.drift_update_seconds,
            drift_min_rows=args.drift_min_rows,
        )

"""Locust plumbing: our command-line options, the request cap and the SLO gate.

The gate runs on Locust's ``quitting`` event: it reads the aggregated stats,
prints every breached SLO, writes ``<csv prefix>_slo.json`` and sets the
process exit code (0 when every SLO holds, 1 otherwise), overriding Locust's
own "any failure is exit 1" rule so that the error-rate SLO decides.
"""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path
from typing import Any

import gevent
from locust.env import Environment

from loadtest import config as load_config
from loadtest.slo import Totals, verdict

logger = logging.getLogger("loadtest")
_CONFIGS: dict[int, load_config.LoadConfig] = {}


def add_options(parser: Any) -> None:
    parser.add_argument(
        "--slo-config",
        default=str(load_config.DEFAULT_CONFIG),
        help="TOML file with the SLOs, bounds, traffic mix and stages",
    )
    parser.add_argument("--host-header", default="", help="Host header (KServe ingress)")
    parser.add_argument("--predictor-host", default="", help="predictor REST base URL")
    parser.add_argument("--grpc-host", default="", help="predictor gRPC host:port")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=0,
        help="stop after this many requests (0: the config's bound)",
    )


def config(environment: Environment) -> load_config.LoadConfig:
    """The config this run loaded (read once, in :func:`setup`)."""
    return _CONFIGS[id(environment)]


def setup(environment: Environment) -> None:
    options = environment.parsed_options
    if options is None:
        return
    cfg = load_config.load(Path(options.slo_config))
    _CONFIGS[id(environment)] = cfg
    _cap_requests(environment, options.max_requests or cfg.bounds.max_requests)
    environment.events.quitting.add_listener(lambda environment, **_: gate(environment, cfg))


def _cap_requests(environment: Environment, cap: int) -> None:
    counter = itertools.count(1)

    def count(**_: Any) -> None:
        if next(counter) == cap and environment.runner is not None:
            logger.info("request cap %d reached: stopping", cap)
            gevent.spawn(environment.runner.quit)

    environment.events.request.add_listener(count)


def totals(environment: Environment) -> Totals:
    total = environment.stats.total
    return Totals(
        requests=total.num_requests,
        failures=total.num_failures,
        p95_ms=float(total.get_response_time_percentile(0.95) or 0.0),
        p99_ms=float(total.get_response_time_percentile(0.99) or 0.0),
        rps=float(total.total_rps),
    )


def gate(environment: Environment, cfg: load_config.LoadConfig) -> None:
    result = verdict(totals(environment), cfg.slo)
    crashed = len(environment.runner.exceptions) if environment.runner else 0
    if crashed:
        result["passed"] = False
        result["breaches"] = [*result["breaches"], f"{crashed} exceptions in user code"]  # type: ignore[misc]
    for line in result["breaches"]:  # type: ignore[attr-defined]
        logger.error("SLO breached: %s", line)
    if result["passed"]:
        logger.info("every SLO holds: %s", json.dumps(result["totals"]))
    prefix = environment.parsed_options.csv_prefix if environment.parsed_options else None
    if prefix:
        Path(f"{prefix}_slo.json").write_text(json.dumps(result, indent=2) + "\n")
    environment.process_exit_code = 0 if result["passed"] else 1

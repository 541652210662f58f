"""The Ray flags of ``python -m training tune`` and ``python -m batch score``.

``--ray-address`` defaults to ``RAY_ADDRESS`` (Ray's own variable, read here,
once, when the parser is built); flags win over the variable.
"""

from __future__ import annotations

import argparse
import os

from training.clikit import at_least
from training.ray_cluster.session import RaySettings


def add_ray_flags(parser: argparse.ArgumentParser) -> None:
    address = os.environ.get("RAY_ADDRESS") or None
    group = parser.add_argument_group("Ray")
    group.add_argument(
        "--ray-address",
        default=address,
        help="Ray cluster: auto, HOST:PORT or ray://HOST:10001 (env RAY_ADDRESS;"
        f" default: {address or 'a local Ray started and stopped by the command'})",
    )
    group.add_argument(
        "--num-cpus",
        type=at_least(1),
        default=None,
        help="CPUs of the local Ray (default: every CPU of this machine)",
    )
    group.add_argument(
        "--no-ship-code",
        action="store_true",
        help="on a cluster: its image already has our packages, do not send them with the job",
    )


def ray_settings(args: argparse.Namespace) -> RaySettings:
    return RaySettings(args.ray_address, args.num_cpus, not args.no_ship_code)

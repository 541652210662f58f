"""Connect to Ray: an embedded local Ray by default, an existing cluster when asked.

``address`` comes from ``--ray-address`` or ``RAY_ADDRESS``
(:mod:`training.ray_cluster.flags`): ``auto`` joins the cluster this machine belongs to (a
KubeRay head pod, ``ray start --head``), ``ray://host:10001`` connects a Ray
Client. Without one, a private Ray is started with ``num_cpus`` (default:
every CPU) and shut down on exit, so no Ray process outlives the command.

On a cluster our packages are shipped with the job (``py_modules``) unless
the image already has them; their dependencies must be in the image.
:mod:`training.ray_cluster.reach` refuses a cluster on other machines when the job
uses resources only this machine can reach (an embedded MLflow store).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import ray

#: Our packages a training job's workers import, shipped to a cluster so
#: they run the same code (batch scoring adds ``batch``).
PACKAGES = ("training", "transformer", "predictor", "serving")


@dataclass(frozen=True)
class RaySettings:
    """``address``: None = local Ray; ``num_cpus``: local only (None = all).

    ``ship_code``: send ``packages`` to a cluster with the job.
    """

    address: str | None = None
    num_cpus: int | None = None
    ship_code: bool = True
    packages: tuple[str, ...] = PACKAGES

    @property
    def local(self) -> bool:
        return not self.address


def _folders(packages: tuple[str, ...]) -> list[str]:
    import importlib

    return [str(Path(importlib.import_module(p).__file__ or "").parent) for p in packages]


@contextlib.contextmanager
def session(settings: RaySettings) -> Iterator[str]:
    """Ray for the duration of the block; yields a one-line description of it."""
    if ray.is_initialized():  # a caller (or a test) already connected
        yield "the running Ray"
        return
    if settings.local:
        ray.init(
            address="local",
            num_cpus=settings.num_cpus,
            include_dashboard=False,
            logging_level=logging.WARNING,
        )
        where = f"local Ray ({cluster_cpus()} CPUs)"
    else:
        runtime_env = {"py_modules": _folders(settings.packages)} if settings.ship_code else None
        ray.init(address=settings.address, runtime_env=runtime_env, logging_level=logging.WARNING)
        where = f"Ray cluster at {settings.address} ({cluster_cpus()} CPUs)"
    try:
        yield where
    finally:
        ray.shutdown()


def cluster_cpus() -> int:
    """The CPUs of the connected cluster (all nodes)."""
    return int(_cluster_resources().get("CPU", 0))


def node_addresses() -> list[str]:
    """The addresses of the connected cluster's alive nodes."""
    return [str(node["NodeManagerAddress"]) for node in _nodes() if node.get("Alive")]


# Untyped in Ray (ray/_private/state.py); the types their docstrings give.
_cluster_resources = cast(Callable[[], dict[str, float]], ray.cluster_resources)
_nodes = cast(Callable[[], list[dict[str, Any]]], ray.nodes)

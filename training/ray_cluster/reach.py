"""Refuse to run on a Ray cluster whose workers cannot reach what the job writes or reads.

Trials and batch-scoring actors run wherever Ray places them. On a cluster
that spans other machines they cannot open an embedded MLflow store
(``sqlite:///...``, ``file:...``), a tracking server on ``localhost``, or a
model directory that is a local path: the job would fail on the workers
(or, worse, write to a store nobody reads). So before anything runs:

* :func:`check_address`: a cluster address naming another machine
  (``ray://head:10001``, ``head:6379``) is refused at once;
* :func:`check_nodes`: once connected (also for ``auto``), every alive node
  must be this machine (the addresses of its network interfaces);

each with a one-line :class:`UnreachableError` naming the resource and the
fix. A local Ray, or a cluster entirely on this machine (``ray start --head``
here, ``127.0.0.1:6379``, ``auto``), is fine with local paths.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

import psutil

from training.tracking import TrackingSettings

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class UnreachableError(ValueError):
    """A cluster elsewhere cannot reach a resource that exists only on this machine."""


def this_machine() -> frozenset[str]:
    """Names and addresses that mean this machine (every interface's IP)."""
    addresses = {a.address.split("%")[0] for nic in psutil.net_if_addrs().values() for a in nic}
    return frozenset(addresses | LOOPBACK_NAMES | {socket.gethostname()})


def local_only(tracking: TrackingSettings) -> dict[str, str]:
    """The tracking store when only this machine can reach it (else nothing)."""
    uri = tracking.tracking_uri
    if tracking.embedded:
        return {"the embedded MLflow store": uri}
    if (urlsplit(uri).hostname or "") in LOOPBACK_NAMES:
        return {"the MLflow server on this machine's loopback": uri}
    return {}


def address_host(address: str) -> str | None:
    """The machine a Ray address names (None for ``auto``/``local``: found on connect)."""
    if address in ("auto", "local"):
        return None
    host = urlsplit(address if "://" in address else f"ray-gcs://{address}").hostname
    return host or None


def check_address(address: str | None, resources: Mapping[str, str]) -> None:
    """Refuse an address on another machine when ``resources`` exist only here."""
    host = address_host(address) if address else None
    if host is not None and resources and host not in this_machine():
        raise UnreachableError(_message(f"the Ray cluster at {address}", resources))


def check_nodes(where: str, node_addresses: Iterable[str], resources: Mapping[str, str]) -> None:
    """Refuse a connected cluster with nodes on other machines."""
    elsewhere = sorted(set(node_addresses) - this_machine())
    if elsewhere and resources:
        nodes = f"{where} (nodes on {', '.join(elsewhere)})"
        raise UnreachableError(_message(nodes, resources))


def _message(cluster: str, resources: Mapping[str, str]) -> str:
    what = "; ".join(f"{name} {value}" for name, value in resources.items())
    return (
        f"{cluster} runs work on other machines, which cannot reach {what}: set"
        " MLFLOW_TRACKING_URI to a tracking server they can reach and use shared storage"
        " (s3://...) for model directories, or run without RAY_ADDRESS for a local Ray"
    )

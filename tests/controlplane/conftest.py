"""The control-plane tier: a real kube-apiserver with KServe's own webhooks and
controller (tests/controlplane/cluster.py), Knative played by
tests/controlplane/knative.py. Built by ``make controlplane``."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.controlplane import cluster
from tests.controlplane.knative import KnativePlayer
from tests.controlplane.kubelet import KubeletPlayer

_counter = itertools.count()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.controlplane)


@pytest.fixture(scope="session")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster.ControlPlane]:
    yield from cluster.start(tmp_path_factory.mktemp("controlplane"))


@pytest.fixture(scope="session")
def custom_api(plane: cluster.ControlPlane) -> Any:
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(plane.kubeconfig))
    return client.CustomObjectsApi(api_client)


@pytest.fixture(scope="session")
def knative(custom_api: Any) -> Iterator[KnativePlayer]:
    player = KnativePlayer(custom_api).start()
    yield player
    player.stop()


@pytest.fixture(scope="session")
def kubelet(plane: cluster.ControlPlane) -> Iterator[KubeletPlayer]:
    """kube-controller-manager (Deployments, ReplicaSets) and the kubelet played."""
    from kubernetes import client, config

    plane.start_controller_manager()
    api_client = config.new_client_from_config(config_file=str(plane.kubeconfig))
    player = KubeletPlayer(client.CoreV1Api(api_client)).start()
    yield player
    player.stop()


@pytest.fixture
def namespace(plane: cluster.ControlPlane, knative: KnativePlayer) -> Iterator[str]:
    """A fresh namespace per test; Knative playing resets to its defaults."""
    name = f"t{next(_counter)}-heart"
    plane.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}])
    knative.failing.clear()
    knative.route_first = False
    yield name
    errors, knative.errors = knative.errors, []
    assert not errors, errors
    plane.kubectl("delete", "namespace", name, "--wait=false", check=False)


def canary_cli(
    plane: cluster.ControlPlane,
    namespace: str,
    *args: str,
    timeout: float = 60,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m delivery.canary`` as a user runs it, against this cluster."""
    return subprocess.run(
        [sys.executable, "-m", "delivery.canary", "-n", namespace, "--timeout", str(timeout),
         *args],
        capture_output=True, text=True, env=env or plane.env(), timeout=timeout + 60, check=False,
        cwd=cluster.REPO,
    )  # fmt: skip

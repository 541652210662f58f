"""The canary CLI in Standard mode (``spec.canary[]``) against KServe's controller.

kube-controller-manager turns KServe's Deployments into ReplicaSets and pods
(through KServe's pod webhook); tests/controlplane/kubelet.py reports the
pods' states. KServe v0.20.0 reconciles ``spec.canary[]`` into a canary
Deployment and reports ``canaryStatuses`` and ``CanaryPredictorReady``, but
its HTTPRoute does not yet weight the canary (kserve/kserve#5912, v0.21.0):
these tests check admission, Deployments and status, not traffic shares.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.controlplane.cluster import ControlPlane
from tests.controlplane.conftest import canary_cli
from tests.controlplane.knative import SOURCE_URI
from tests.controlplane.kubelet import KubeletPlayer
from tests.controlplane.manifests import OVERLAYS, get, isvc_condition, render, wait_until

STABLE, V2 = "s3://heart-models/heart/v1", "s3://heart-models/heart/v2"
#: No kserve-controller-manager Deployment runs here (the manager is a process), so
#: the CLI cannot read KServe's version and only warns (see the last test).
START = ("start", "--percent", "20", "--bypass-transformer")


@pytest.fixture
def standard(plane: ControlPlane, kubelet: KubeletPlayer, namespace: str) -> dict[str, Any]:
    """overlays/cloud (Standard mode, HPA, transformer), Ready."""
    kubelet.failing.clear()
    plane.apply(render(plane, OVERLAYS / "cloud", namespace))
    return wait_until(
        "Standard InferenceService Ready",
        lambda: (
            (isvc := get(plane, "isvc", "heart", namespace))
            and isvc_condition(isvc, "Ready") == "True"
            and isvc
        ),
        timeout=90,
    )


def _deployment(plane: ControlPlane, namespace: str, name: str) -> dict[str, Any] | None:
    return get(plane, "deployment", name, namespace)


def test_start_is_admitted_and_the_canary_gets_its_own_deployment(
    plane: ControlPlane, namespace: str, standard: dict[str, Any]
) -> None:
    """Item 2: the start patch passes KServe's validation (no maxReplicas,
    scaleMetric or scaleTarget copied into the canary), and the stable
    Deployment keeps its HPA bounds."""
    done = canary_cli(plane, namespace, *START, "--model-uri", V2)
    assert done.returncode == 0, done.stderr
    assert "canary rolling" in done.stdout and "20%  v2 [canary]" in done.stdout
    canary = _deployment(plane, namespace, "heart-v2-predictor")
    assert canary is not None
    annotations = canary["spec"]["template"]["metadata"]["annotations"]
    assert annotations[SOURCE_URI] == V2
    # KServe's share of the stable minReplicas (2): ceil(2 x 20 %) = 1 canary replica
    assert canary["spec"]["replicas"] == 1
    isvc = get(plane, "isvc", "heart", namespace) or {}
    assert isvc["spec"]["predictor"]["maxReplicas"] == 6
    assert [c["predictor"]["name"] for c in isvc["spec"]["canary"]] == ["v2"]


def test_promote_makes_the_canary_the_predictor(
    plane: ControlPlane, namespace: str, standard: dict[str, Any]
) -> None:
    assert canary_cli(plane, namespace, *START, "--model-uri", V2).returncode == 0
    done = canary_cli(plane, namespace, "promote")
    assert done.returncode == 0, done.stderr
    isvc = get(plane, "isvc", "heart", namespace) or {}
    assert isvc["spec"]["predictor"]["name"] == "v2"
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == V2
    assert not isvc["spec"].get("canary")


def test_a_crash_looping_canary_fails_without_waiting_for_the_timeout(
    plane: ControlPlane, kubelet: KubeletPlayer, namespace: str, standard: dict[str, Any]
) -> None:
    """Item 7: KServe reports only CanariesNotReady; the CLI reads the canary's
    pods and fails (exit 5) with the container's reason instead of timing out."""
    kubelet.failing[V2] = "model.json: sha256 mismatch, refusing to load"
    done = canary_cli(plane, namespace, *START, "--model-uri", V2, timeout=120)
    assert done.returncode == 5, (done.returncode, done.stderr)
    assert "CrashLoopBackOff" in done.stderr and "sha256 mismatch" in done.stderr
    rolled_back = canary_cli(plane, namespace, "rollback")
    assert rolled_back.returncode == 0, rolled_back.stderr
    isvc = get(plane, "isvc", "heart", namespace) or {}
    assert not isvc["spec"].get("canary")


def test_kserve_older_than_0_21_is_refused(
    plane: ControlPlane, namespace: str, standard: dict[str, Any]
) -> None:
    """Item 10: the Standard canary needs KServe v0.21.0 (HTTPRoute weights);
    the controller Deployment's image tells which KServe runs."""
    docs = yaml.safe_load_all((plane.builds.kserve / "kserve.yaml").read_text())
    controller = next(d for d in docs if d and d["kind"] == "Deployment"
                      and d["metadata"]["name"] == "kserve-controller-manager")  # fmt: skip
    controller["metadata"]["namespace"] = f"{namespace}-kserve"
    controller["spec"]["replicas"] = 0
    plane.apply([{"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": f"{namespace}-kserve"}}, controller])  # fmt: skip
    where = ("--kserve-namespace", f"{namespace}-kserve")
    done = canary_cli(plane, namespace, *where, *START, "--model-uri", V2)
    assert done.returncode == 3, done.stderr
    assert "v0.20.0" in done.stderr and "v0.21.0" in done.stderr
    isvc = get(plane, "isvc", "heart", namespace) or {}
    assert not isvc["spec"].get("canary")

"""``python -m delivery.deploy`` (run by make deploy before kubectl apply -k)
against InferenceServices that KServe's own controller reconciled."""

from __future__ import annotations

import subprocess
import sys

from tests.controlplane.cluster import REPO, ControlPlane
from tests.controlplane.conftest import canary_cli
from tests.controlplane.knative import KnativePlayer
from tests.controlplane.manifests import OVERLAYS, deploy, render, routed_models

V1, V2 = "s3://models/heart/v1", "s3://models/heart/v2"


def guard(
    plane: ControlPlane, namespace: str, overlay: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "delivery.deploy", str(OVERLAYS / overlay), "-n", namespace, *extra],
        capture_output=True, text=True, env=plane.env(), timeout=120, check=False, cwd=REPO,
    )  # fmt: skip


def test_a_canary_overlay_on_a_new_service_is_refused(
    plane: ControlPlane, knative: KnativePlayer, namespace: str
) -> None:
    done = guard(plane, namespace, "kind-canary")
    assert done.returncode == 3 and "does not exist" in done.stderr
    assert guard(plane, namespace, "kind").returncode == 0


def test_redeploying_does_not_undo_a_promotion(
    plane: ControlPlane, knative: KnativePlayer, namespace: str
) -> None:
    """Item 11: after promote, make deploy would put storageUri v1 back."""
    deploy(plane, namespace)
    assert guard(plane, namespace, "kind").returncode == 0
    assert (
        canary_cli(plane, namespace, "start", "--model-uri", V2, "--percent", "10").returncode == 0
    )
    assert guard(plane, namespace, "kind-canary").returncode == 0  # the same canary, re-applied
    assert canary_cli(plane, namespace, "promote").returncode == 0
    done = guard(plane, namespace, "kind")
    assert done.returncode == 3, done.stderr
    assert f"serves {V2}" in done.stderr and f"roll it back to {V1}" in done.stderr
    assert guard(plane, namespace, "kind", "--force").returncode == 0
    assert routed_models(plane, namespace) == {V2: 100}


def test_switching_the_deployment_mode_is_refused_before_kserve_denies_it(
    plane: ControlPlane, knative: KnativePlayer, namespace: str
) -> None:
    plane.apply(render(plane, OVERLAYS / "cloud", namespace))
    done = guard(plane, namespace, "cloud-knative")
    assert done.returncode == 3 and "runs in Standard mode" in done.stderr
    knative_docs = _yaml(render(plane, OVERLAYS / "cloud-knative", namespace))
    denied = plane.kubectl("apply", "--server-side", "-f", "-", check=False, stdin=knative_docs)
    assert denied.returncode != 0 and "denied the request" in denied.stderr


def _yaml(docs: list[dict[str, object]]) -> str:
    import yaml

    return yaml.safe_dump_all(docs)

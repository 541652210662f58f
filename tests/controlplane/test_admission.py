"""Every overlay goes through KServe's own defaulting and validating webhooks
and its controller, as ``kubectl apply -k`` on a cluster."""

from __future__ import annotations

import pytest
import yaml

from delivery.isvc import deployment_mode
from tests.controlplane.cluster import ControlPlane
from tests.controlplane.knative import KnativePlayer
from tests.controlplane.manifests import (
    OVERLAYS,
    get,
    isvc_condition,
    isvc_of,
    render,
    routed_models,
    wait_until,
)

ALL_OVERLAYS = sorted(p.name for p in OVERLAYS.iterdir() if (p / "kustomization.yaml").exists())


@pytest.mark.parametrize("overlay", ALL_OVERLAYS)
def test_overlay_is_admitted_and_reconciled(
    plane: ControlPlane, knative: KnativePlayer, namespace: str, overlay: str
) -> None:
    """Server-side apply passes KServe's webhooks, and KServe's controller
    makes the predictor's workload for the overlay's deployment mode."""
    docs = render(plane, OVERLAYS / overlay, namespace)
    plane.apply(docs)
    isvc = isvc_of(docs)
    live = get(plane, "inferenceservice", isvc["metadata"]["name"], namespace)
    assert live is not None
    mode = (isvc["metadata"].get("annotations") or {}).get("serving.kserve.io/deploymentMode")
    if mode == "Standard":
        wait_until(f"{overlay}: Deployment heart-predictor",
                   lambda: get(plane, "deployment", "heart-predictor", namespace))  # fmt: skip
    else:
        wait_until(f"{overlay}: Knative Service heart-predictor",
                   lambda: get(plane, "ksvc", "heart-predictor", namespace))  # fmt: skip
        wait_until(
            f"{overlay}: InferenceService Ready",
            lambda: isvc_condition(get(plane, "isvc", "heart", namespace), "Ready") == "True",
        )


KNATIVE_CANARY_OVERLAYS = ["kind-canary", "cloud-canary"]


@pytest.mark.parametrize("overlay", KNATIVE_CANARY_OVERLAYS)
def test_canary_overlay_over_its_running_base_splits_traffic(
    plane: ControlPlane, knative: KnativePlayer, namespace: str, overlay: str
) -> None:
    """Item 4: a canary overlay is applied over the service of the overlay it
    builds on (its first resource), once that one is rolled out; KServe's
    webhook admits the update and the new model gets the canary's share."""
    kustomization = yaml.safe_load((OVERLAYS / overlay / "kustomization.yaml").read_text())
    base = (OVERLAYS / overlay / kustomization["resources"][0]).resolve()
    base_docs = render(plane, base, namespace)
    plane.apply(base_docs)
    stable = isvc_of(base_docs)["spec"]["predictor"]["model"]["storageUri"]
    if deployment_mode(isvc_of(base_docs)) == "Knative":
        rolled_out = {stable: 100}
        wait_until(f"{base.name} rolled out", lambda: routed_models(plane, namespace) == rolled_out)
    docs = render(plane, OVERLAYS / overlay, namespace)
    plane.apply(docs)  # raises with the webhook's denial
    predictor = isvc_of(docs)["spec"]["predictor"]
    canary, percent = predictor["model"]["storageUri"], predictor["canaryTrafficPercent"]
    wait_until(
        f"{overlay}: {percent} % to {canary}",
        lambda: routed_models(plane, namespace) == {canary: percent, stable: 100 - percent},
    )

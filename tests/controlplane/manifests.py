"""Overlays rendered with the control plane's kubectl, moved to a test namespace."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from delivery.render import RENDER_ENV
from tests.controlplane.cluster import REPO, ControlPlane
from tests.controlplane.knative import SOURCE_URI

OVERLAYS = REPO / "manifests" / "overlays"
APP_NAMESPACE = "heart"


def render(plane: ControlPlane, path: Path, namespace: str) -> list[dict[str, Any]]:
    """``kubectl kustomize path`` with the app's namespace renamed to ``namespace``
    (its Namespace object dropped); other namespaces (minio) are kept."""
    env = {k: v for k, v in RENDER_ENV.items() if k not in os.environ}
    out = plane.kubectl("kustomize", str(path), env=env).stdout
    docs = []
    for doc in yaml.safe_load_all(out):
        if not doc:
            continue
        meta = doc["metadata"]
        if doc["kind"] == "Namespace" and meta["name"] == APP_NAMESPACE:
            continue
        if meta.get("namespace") == APP_NAMESPACE:
            meta["namespace"] = namespace
        docs.append(doc)
    return docs


def isvc_of(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == "InferenceService")


def get(plane: ControlPlane, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
    result = plane.kubectl("get", kind, name, "-n", namespace, "-o", "yaml", check=False)
    return yaml.safe_load(result.stdout) if result.returncode == 0 else None


def wait_until(
    what: str, probe: Callable[[], Any], timeout: float = 60, interval: float = 0.3
) -> Any:
    """Poll ``probe`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not true after {timeout:.0f}s (last: {last!r})")


def isvc_condition(isvc: dict[str, Any] | None, kind: str) -> str | None:
    for cond in ((isvc or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return str(cond.get("status"))
    return None


def deploy(plane: ControlPlane, namespace: str, overlay: str = "kind") -> dict[str, Any]:
    """``kubectl apply -k`` of an overlay, then wait for Ready as make deploy does."""
    plane.apply(render(plane, OVERLAYS / overlay, namespace))
    return wait_until(
        "InferenceService Ready",
        lambda: _ready(get(plane, "isvc", "heart", namespace)),
    )


def _ready(isvc: dict[str, Any] | None) -> dict[str, Any] | None:
    return isvc if isvc_condition(isvc, "Ready") == "True" else None


def routed_models(plane: ControlPlane, namespace: str) -> dict[str, int]:
    """model URI -> percent, from the predictor's traffic (KServe's status) and
    the model each Knative Revision serves."""
    isvc = get(plane, "isvc", "heart", namespace) or {}
    predictor = (isvc.get("status") or {}).get("components", {}).get("predictor") or {}
    traffic = predictor.get("traffic") or []
    shares: dict[str, int] = {}
    for target in traffic:
        revision = get(plane, "revision", target["revisionName"], namespace) or {}
        uri = revision["metadata"]["annotations"][SOURCE_URI]
        shares[uri] = shares.get(uri, 0) + int(target.get("percent", 0))
    return {uri: percent for uri, percent in shares.items() if percent}

"""End to end on a cluster with KServe: create -> wait Ready -> predict -> delete.

Skipped unless a cluster is configured: HEART_E2E_INGRESS (host:port of the
ingress, e.g. 127.0.0.1:8080 on kind) and HEART_E2E_MODEL_URI (a model/ in
the cluster's object store, e.g. s3://models/heart/v1 after
`make upload-model`). Runs in namespace heart-e2e with the kind overlay's
runtime, ServiceAccount and Secret (the e2e-kind workflow sets this up).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from delivery import render
from delivery.kube import GROUP, PLURAL, VERSION
from delivery.smoke import grpc_infer, hosts_from_status, rest_infer, v2_named_columns
from delivery.smoke_checks import PREDICTOR_OUTPUTS, TRANSFORMER_OUTPUTS, check, v2_outputs

pytestmark = pytest.mark.e2e
INGRESS = os.environ.get("HEART_E2E_INGRESS")
MODEL_URI = os.environ.get("HEART_E2E_MODEL_URI")
NAMESPACE = "heart-e2e"
REPO = Path(__file__).resolve().parents[2]

if not (INGRESS and MODEL_URI):
    pytest.skip(
        "no cluster configured: set HEART_E2E_INGRESS and HEART_E2E_MODEL_URI",
        allow_module_level=True,
    )


def _app_objects() -> list[dict[str, Any]]:
    """The kind overlay's app, moved to the e2e namespace, pointing at MODEL_URI."""
    objects = list(render.documents(render.render(REPO / "manifests/overlays/kind/app", env={})))
    for obj in objects:
        if obj["kind"] == "Namespace":
            obj["metadata"]["name"] = NAMESPACE
        else:
            obj["metadata"]["namespace"] = NAMESPACE
        if obj["kind"] == "InferenceService":
            obj["spec"]["predictor"]["model"]["storageUri"] = MODEL_URI
    return objects


@pytest.fixture(scope="module")
def isvc() -> Any:
    import yaml
    from kubernetes import client, config

    config.load_kube_config()
    text = yaml.safe_dump_all(_app_objects())
    subprocess.run(["kubectl", "apply", "-f", "-"], input=text, text=True, check=True)
    api = client.CustomObjectsApi()
    yield api
    api.delete_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, "heart")


def _wait_ready(api: Any, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        obj = api.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, "heart")
        conditions = obj.get("status", {}).get("conditions", [])
        if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
            return dict(obj)
        time.sleep(5)
    pytest.fail(f"heart in {NAMESPACE} not Ready after {timeout}s")


def test_create_ready_predict_delete(isvc: Any) -> None:
    obj = _wait_ready(isvc)
    hosts = hosts_from_status(obj)
    reply = rest_infer(INGRESS or "", hosts.transformer, "heart", v2_named_columns(4))
    check(v2_outputs(reply), 4, TRANSFORMER_OUTPUTS, "REST")
    outputs = grpc_infer(INGRESS or "", hosts.predictor, "heart", 4)
    check(outputs, 4, PREDICTOR_OUTPUTS, "gRPC")

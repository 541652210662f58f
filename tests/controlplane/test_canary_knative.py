"""The canary CLI in Knative mode against KServe's own controller and webhooks.

Every patch the CLI sends goes through KServe's defaulting and validating
webhooks; KServe's controller turns the InferenceService into the predictor's
Knative Service and fills the InferenceService status from what Knative
reports (played by tests/controlplane/knative.py). Nothing here writes
InferenceService status.
"""

from __future__ import annotations

import pytest

from tests.controlplane.cluster import ControlPlane
from tests.controlplane.conftest import canary_cli
from tests.controlplane.knative import KnativePlayer
from tests.controlplane.manifests import deploy, get, routed_models

V1, V2, V3 = (f"s3://models/heart/{v}" for v in ("v1", "v2", "v3"))


def cli_ok(plane: ControlPlane, namespace: str, *args: str) -> str:
    done = canary_cli(plane, namespace, *args)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_start_promote_and_a_second_canary_rolled_back(
    plane: ControlPlane, knative: KnativePlayer, namespace: str
) -> None:
    deploy(plane, namespace)
    assert routed_models(plane, namespace) == {V1: 100}

    out = cli_ok(plane, namespace, "start", "--model-uri", V2, "--percent", "10")
    assert "canary rolling" in out
    assert routed_models(plane, namespace) == {V2: 10, V1: 90}

    cli_ok(plane, namespace, "promote")
    assert routed_models(plane, namespace) == {V2: 100}

    cli_ok(plane, namespace, "start", "--model-uri", V3, "--percent", "20")
    assert routed_models(plane, namespace) == {V3: 20, V2: 80}
    cli_ok(plane, namespace, "rollback")
    assert routed_models(plane, namespace) == {V2: 100}
    assert "canary stable" in cli_ok(plane, namespace, "status")


def test_promote_then_second_canary_keeps_the_promoted_model_as_stable(
    plane: ControlPlane, knative: KnativePlayer, namespace: str
) -> None:
    """Item 5: after a promote, the Route may show the second canary's split
    before the Configuration has created its revision (Knative service.go
    propagates them separately). KServe then moves latestRolledoutRevision
    back to the revision before the promotion and routes the stable share
    there. The CLI must not call that a canary, and rollback must restore the
    promoted model, not the one before it."""
    deploy(plane, namespace)
    cli_ok(plane, namespace, "start", "--model-uri", V2, "--percent", "10")
    cli_ok(plane, namespace, "promote")
    assert routed_models(plane, namespace) == {V2: 100}

    knative.route_first = True
    done = canary_cli(plane, namespace, "start", "--model-uri", V3, "--percent", "10")
    # KServe now routes the stable share to v1: the CLI says so instead of "rolling"
    assert done.returncode == 5, (done.stdout, done.stderr)
    assert "moved latestRolledoutRevision" in done.stderr and "rollback" in done.stderr

    cli_ok(plane, namespace, "rollback")
    assert routed_models(plane, namespace) == {V2: 100}


def test_a_failing_canary_fails_and_rolls_back(
    plane: ControlPlane, knative: KnativePlayer, namespace: str
) -> None:
    deploy(plane, namespace)
    knative.failing[V2] = "container heart-predictor exited: refusing to load the model"
    done = canary_cli(plane, namespace, "start", "--model-uri", V2, "--percent", "10")
    assert done.returncode == 5, done.stderr
    assert "rollout failed" in done.stderr and "refusing to load" in done.stderr
    assert routed_models(plane, namespace) == {V1: 100}

    status = cli_ok(plane, namespace, "status")
    assert "canary failed" in status
    refused = canary_cli(plane, namespace, "promote")
    assert refused.returncode == 3 and "not ready" in refused.stderr

    cli_ok(plane, namespace, "rollback")
    assert routed_models(plane, namespace) == {V1: 100}
    assert "canary stable" in cli_ok(plane, namespace, "status")


def test_canary_overlay_on_a_fresh_service_is_not_a_canary(
    plane: ControlPlane, knative: KnativePlayer, namespace: str
) -> None:
    """Item 4: kind-canary applied to a new service gives v2 all traffic, since
    KServe splits only against a rolled-out revision; the CLI reads that as
    stable (not a canary pending forever) and promote clears the percent."""
    deploy(plane, namespace, "kind-canary")
    assert routed_models(plane, namespace) == {V2: 100}
    status = cli_ok(plane, namespace, "status")
    assert "canary stable" in status and "first revision" in status
    cli_ok(plane, namespace, "promote")
    isvc = get(plane, "isvc", "heart", namespace) or {}
    assert "canaryTrafficPercent" not in isvc["spec"]["predictor"]
    assert routed_models(plane, namespace) == {V2: 100}


@pytest.mark.parametrize("percent", ["101", "-1"])
def test_a_bad_percent_is_refused_before_any_patch(
    plane: ControlPlane, knative: KnativePlayer, namespace: str, percent: str
) -> None:
    deploy(plane, namespace)
    done = canary_cli(plane, namespace, "start", "--model-uri", V2, "--percent", percent)
    assert done.returncode == 3 and "outside 0..100" in done.stderr
    assert routed_models(plane, namespace) == {V1: 100}


def test_a_denied_patch_exits_7_with_the_servers_message(
    plane: ControlPlane, knative: KnativePlayer, namespace: str
) -> None:
    """Item 8: a user who may read but not patch the InferenceService gets the
    API server's own message and exit 7, not "cannot reach the cluster"."""
    deploy(plane, namespace)
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "canary-reader", "namespace": namespace},
            "rules": [{"apiGroups": ["serving.kserve.io", "serving.knative.dev"],
                       "resources": ["inferenceservices", "revisions"],
                       "verbs": ["get", "list"]}]}  # fmt: skip
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "canary-reader", "namespace": namespace},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                           "name": "canary-reader"},
               "subjects": [{"kind": "User", "name": "viewer"}]}  # fmt: skip
    plane.apply([role, binding])
    env = {**plane.env(), "KUBECONFIG": str(plane.viewer_kubeconfig)}
    assert "canary stable" in canary_cli(plane, namespace, "status", env=env).stdout
    done = canary_cli(plane, namespace, "start", "--model-uri", V2, "--percent", "10", env=env)
    assert done.returncode == 7, done.stderr
    assert done.stderr.startswith("denied: ")
    assert 'User "viewer" cannot patch resource "inferenceservices"' in done.stderr

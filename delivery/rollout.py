"""When has a patch taken effect? The predictor's status, read against the patch.

After a patch the CLI waits until the predictor component reports what was
asked for: in Knative mode a ready latest revision (a new one when the patch
changed the predictor's template) and the requested traffic split; in
Standard mode the named canary ready with its weight, or no canary at all.
The InferenceService's ``observedGeneration`` cannot tell (see
:mod:`delivery.isvc`), and its Ready condition alone is still True from the
previous spec right after a patch.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from delivery.isvc import (
    Phase,
    condition,
    deployment_mode,
    expected_latest_percent,
    is_true,
    latest_traffic,
    predictor_status,
)
from delivery.state import interpret


@dataclass(frozen=True)
class Target:
    """What the status must show once a patch has been rolled out."""

    mode: str  # "Knative" or "Standard"
    percent: int | None  # the canary's share; None = no canary
    canary: str | None = None  # Standard: the spec.canary[] predictor name
    replaced_revision: str | None = None  # Knative: latestCreatedRevision the patch supersedes
    #: Knative: the revision that must keep the stable share (latestRolledoutRevision
    #: read before patching; KServe can move it back, see :func:`failure`).
    stable_revision: str | None = None


def merge_patch(document: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (what the API server applies for a dict body)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(document) if isinstance(document, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def target_for(isvc: dict[str, Any], patch: dict[str, Any]) -> Target:
    """The Target of applying ``patch`` to ``isvc``."""
    after = merge_patch(isvc, patch)
    if deployment_mode(after) == "Standard":
        canaries = after.get("spec", {}).get("canary") or []
        if not canaries:
            return Target("Standard", None)
        canary = canaries[0]
        return Target("Standard", canary.get("trafficPercent"), canary["predictor"].get("name"))
    before_spec, after_spec = (_template(x) for x in (isvc, after))
    replaced = None
    if before_spec != after_spec:
        replaced = predictor_status(isvc).get("latestCreatedRevision") or ""
    percent = after.get("spec", {}).get("predictor", {}).get("canaryTrafficPercent")
    stable = None
    if percent is not None and percent < 100:
        stable = predictor_status(isvc).get("latestRolledoutRevision") or None
    return Target("Knative", percent, replaced_revision=replaced, stable_revision=stable)


def _template(isvc: dict[str, Any]) -> dict[str, Any]:
    """The predictor spec that makes a Knative revision (all but the percent)."""
    predictor = dict(isvc.get("spec", {}).get("predictor") or {})
    predictor.pop("canaryTrafficPercent", None)
    return predictor


def settled(isvc: dict[str, Any], target: Target) -> bool:
    if not (is_true(isvc, "Ready") and is_true(isvc, "PredictorReady")):
        return False
    if target.mode == "Standard":
        return _standard_settled(isvc, target)
    return _knative_settled(isvc, target)


def _knative_settled(isvc: dict[str, Any], target: Target) -> bool:
    predictor = predictor_status(isvc)
    created, ready = predictor.get("latestCreatedRevision"), predictor.get("latestReadyRevision")
    if not ready or created != ready or created == target.replaced_revision:
        return False
    latest = latest_traffic(predictor)
    traffic = predictor.get("traffic") or []
    return (
        all(t.get("revisionName") == ready for t in latest)
        and sum(int(t.get("percent", 0)) for t in latest)
        == expected_latest_percent(predictor, target.percent)
        and sum(int(t.get("percent", 0)) for t in traffic) == 100
        and _stable_share_kept(traffic, target)
    )


def _stable_share_kept(traffic: list[dict[str, Any]], target: Target) -> bool:
    """The non-latest (``prev``) route serves the revision recorded before the patch."""
    if not target.stable_revision or (target.percent or 0) >= 100:
        return True
    previous = [t for t in traffic if not t.get("latestRevision") and int(t.get("percent", 0))]
    return bool(previous) and all(t.get("revisionName") == target.stable_revision for t in previous)


def moved_stable(isvc: dict[str, Any], target: Target) -> str | None:
    """KServe moved ``latestRolledoutRevision`` off the revision recorded before
    the patch. Its status propagation does so when the Route shows the new split
    over the old revision before the Configuration has created the new one
    (kserve v0.20.0 inference_service_status.go ``PropagateStatus``, the
    "rolled back" branch; Knative service.go propagates Route and Configuration
    status separately), and then routes the stable share to the revision rolled
    out before that one: the model before the last promotion."""
    if not target.stable_revision:
        return None
    predictor = predictor_status(isvc)
    now = predictor.get("latestRolledoutRevision")
    if now and now != target.stable_revision:
        return (
            f"KServe moved latestRolledoutRevision from {target.stable_revision} to {now}, so "
            f"the stable share goes to {now}, not to {target.stable_revision} which served all "
            "traffic before the canary; run `rollback`: it restores the model of "
            f"{target.stable_revision}"
        )
    return None


def _standard_settled(isvc: dict[str, Any], target: Target) -> bool:
    statuses = isvc.get("status", {}).get("canaryStatuses") or []
    if target.canary is None:
        cond = condition(isvc, "CanaryPredictorReady") or {}
        return not statuses and cond.get("status") != "False"
    mine = [s for s in statuses if s.get("name") == target.canary]
    return (
        len(mine) == 1
        and bool(mine[0].get("ready"))
        and mine[0].get("trafficPercent") == target.percent
        and is_true(isvc, "CanaryPredictorReady")
    )


def failure(isvc: dict[str, Any], target: Target) -> str | None:
    """Why the rollout cannot succeed, or None while it may still."""
    if target.replaced_revision is not None:
        created = predictor_status(isvc).get("latestCreatedRevision")
        if created in (None, target.replaced_revision):
            return None  # the new revision does not exist yet: old failures are not ours
    moved = moved_stable(isvc, target)
    if moved:
        return moved
    if target.mode == "Standard" and target.canary is None:
        return None
    state = interpret(isvc)
    if state.phase is Phase.FAILED:
        return state.reason or "the canary failed"
    return None


#: Pod container states that waiting does not cure (kubelet reasons).
STUCK_REASONS = {
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
}


def workload_failure(deployment: dict[str, Any] | None, pods: list[dict[str, Any]]) -> str | None:
    """Standard mode: why the canary's Deployment cannot become available.

    KServe v0.20.0 reports a canary only as ``ready`` true/false with the
    ``CanaryPredictorReady`` reasons AllCanariesReady, CanariesNotReady and
    Stopped (components/predictor.go ``reconcileCanaryDeployments``), so a
    crash-looping canary looks like one still starting. The Deployment and its
    pods say it: a ProgressDeadlineExceeded or ReplicaFailure condition, a
    container stuck in a state above, or the storage initializer (an init
    container) terminated with an error, which KServe itself reads as
    FailedToLoad for the stable predictor (inference_service_status.go
    ``PropagateModelStatus``).
    """
    for cond in ((deployment or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return f"Deployment {cond.get('reason')}: {cond.get('message', '')}".strip()
        if cond.get("type") == "ReplicaFailure" and cond.get("status") == "True":
            return f"Deployment {cond.get('reason', 'ReplicaFailure')}: {cond.get('message', '')}"
    for pod in pods:
        reason = _stuck_container(pod.get("status") or {})
        if reason:
            return f"pod {pod.get('metadata', {}).get('name', '')}: {reason}"
    return None


def _stuck_container(status: dict[str, Any]) -> str | None:
    for kind in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(kind) or []:
            state = cs.get("state") or {}
            waiting, terminated = state.get("waiting") or {}, state.get("terminated") or {}
            last = (cs.get("lastState") or {}).get("terminated") or {}
            if waiting.get("reason") in STUCK_REASONS:
                detail = last.get("message") or waiting.get("message") or ""
                return f"container {cs.get('name')} {waiting['reason']} {detail}".strip()
            if kind == "initContainerStatuses" and terminated.get("exitCode", 0) != 0:
                detail = terminated.get("message") or terminated.get("reason") or ""
                return f"init container {cs.get('name')} failed: {detail}".strip()
    return None

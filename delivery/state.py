"""The canary phase of an InferenceService: stable, rolling, pending or failed.

Knative mode reads the predictor component's revisions and traffic split,
Standard mode ``spec.canary[]`` with ``status.canaryStatuses`` and the
``CanaryPredictorReady`` condition (field shapes in :mod:`delivery.isvc`).
"""

from __future__ import annotations

from typing import Any

from delivery.isvc import (
    REVISION_FIELDS,
    CanaryState,
    Phase,
    Split,
    condition,
    deployment_mode,
    expected_latest_percent,
    failure_reason,
    is_true,
    latest_traffic,
    predictor_status,
)

#: Standard-mode reasons that mean the canary Deployment will not become ready
#: by waiting (a Deployment's Progressing/ReplicaFailure condition reasons).
STANDARD_FAILURES = {"ProgressDeadlineExceeded", "FailedCreate", "BlockedByFailedLoad"}


def interpret(isvc: dict[str, Any]) -> CanaryState:
    if deployment_mode(isvc) == "Standard":
        return _standard(isvc)
    return _knative(isvc)


def _knative(isvc: dict[str, Any]) -> CanaryState:
    predictor = predictor_status(isvc)
    splits = [
        Split(
            t.get("revisionName", ""),
            int(t.get("percent", 0)),
            t.get("tag", ""),
            bool(t.get("latestRevision")),
        )
        for t in predictor.get("traffic", []) or []
    ]
    revisions = {k: predictor[k] for k in REVISION_FIELDS if predictor.get(k)}
    percent = isvc.get("spec", {}).get("predictor", {}).get("canaryTrafficPercent")
    reason = failure_reason(isvc, "PredictorReady", "PredictorConfigurationReady", "Ready")
    if first_rollout_took_all(predictor, percent):
        reason = (
            f"canaryTrafficPercent {percent} is set, but {predictor.get('latestReadyRevision')} "
            "is the first revision rolled out, so it took all traffic (KServe splits only "
            "against a revision rolled out before): nothing to promote or roll back; "
            "`promote` clears the field"
        )
    phase = _knative_phase(isvc, predictor, percent)
    return CanaryState("Knative", phase, is_true(isvc, "Ready"), percent, splits, revisions, reason)


def first_rollout_took_all(predictor: dict[str, Any], percent: int | None) -> bool:
    """A canary percent on a service whose only rolled-out revision is the latest:
    KServe's Knative reconciler splits traffic only when a revision was rolled
    out before (ksvc_reconciler.go ``lastRolledoutRevision != ""``), so a canary
    overlay applied to a fresh service gives the new model 100 %, and KServe then
    splits that revision with itself (its ``prev`` route names the latest one)."""
    if percent is None or percent >= 100 or predictor.get("previousRolledoutRevision"):
        return False
    created, ready = predictor.get("latestCreatedRevision"), predictor.get("latestReadyRevision")
    traffic = predictor.get("traffic") or []
    return (
        bool(created)
        and created == ready == predictor.get("latestRolledoutRevision")
        and any(not t.get("latestRevision") for t in traffic)
        and all(t.get("revisionName") == created for t in traffic)
    )


def _knative_phase(isvc: dict[str, Any], predictor: dict[str, Any], percent: int | None) -> Phase:
    created, ready = predictor.get("latestCreatedRevision"), predictor.get("latestReadyRevision")
    failed = condition(isvc, "PredictorReady") or {}
    if created and created != ready and failed.get("status") == "False":
        return Phase.FAILED
    target = isvc.get("status", {}).get("modelStatus", {}).get("states", {})
    if target.get("targetModelState") == "FailedToLoad":
        return Phase.FAILED
    if percent is None or percent >= 100:
        return Phase.STABLE if created == ready else Phase.PENDING
    if first_rollout_took_all(predictor, percent):
        return Phase.STABLE
    return Phase.ROLLING if _canary_routed(predictor, percent) else Phase.PENDING


def _canary_routed(predictor: dict[str, Any], percent: int) -> bool:
    """The latest revision is ready, is not the stable one, and has its share."""
    created, ready = predictor.get("latestCreatedRevision"), predictor.get("latestReadyRevision")
    latest = latest_traffic(predictor)
    traffic = predictor.get("traffic") or []
    previous = [t.get("revisionName") for t in traffic if not t.get("latestRevision")]
    return (
        bool(ready)
        and created == ready
        and ready not in previous
        and all(t.get("revisionName") == ready for t in latest)
        and sum(int(t.get("percent", 0)) for t in latest)
        == expected_latest_percent(predictor, percent)
    )


def _standard(isvc: dict[str, Any]) -> CanaryState:
    canaries = isvc.get("spec", {}).get("canary") or []
    statuses = isvc.get("status", {}).get("canaryStatuses") or []
    total = sum(int(c.get("trafficPercent", 0)) for c in canaries)
    splits = [Split(s.get("name", ""), int(s.get("trafficPercent", 0)), "canary") for s in statuses]
    splits.insert(0, Split("stable", 100 - total, "stable"))
    reason = failure_reason(isvc, "CanaryPredictorReady", "PredictorReady")
    phase = _standard_phase(isvc, canaries, statuses)
    percent = total if canaries else None
    return CanaryState("Standard", phase, is_true(isvc, "Ready"), percent, splits, {}, reason)


def _standard_phase(isvc: dict[str, Any], canaries: list[Any], statuses: list[Any]) -> Phase:
    """A canary Deployment that is still starting reports CanaryPredictorReady
    False (MinimumReplicasUnavailable): only reasons that waiting cannot cure
    count as failed."""
    if not canaries:
        return Phase.STABLE
    cond = condition(isvc, "CanaryPredictorReady") or {}
    model_states = [(s.get("modelStatus") or {}) for s in statuses]
    if cond.get("reason") in STANDARD_FAILURES or any(
        m.get("transitionStatus") == "BlockedByFailedLoad" for m in model_states
    ):
        return Phase.FAILED
    ready = bool(statuses) and all(s.get("ready") for s in statuses)
    return Phase.ROLLING if ready and cond.get("status") == "True" else Phase.PENDING

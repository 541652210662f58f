"""Reading an InferenceService: deployment mode, canary state, revisions.

Pure functions over the object as the API returns it (a dict), so the CLI
and its tests share them. Shapes follow KServe's e2e tests: Knative mode
reports ``status.components.predictor.traffic`` and the revision fields;
Standard mode (``spec.canary[]``) reports ``status.canaryStatuses`` and the
``CanaryPredictorReady`` condition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

KNATIVE_MODES = {"Knative", "Serverless"}
STANDARD_MODES = {"Standard", "RawDeployment"}
MODE_ANNOTATION = "serving.kserve.io/deploymentMode"


class Phase(StrEnum):
    STABLE = "stable"  # no canary: all traffic on one model
    ROLLING = "rolling"  # a canary is ready and takes its share
    PENDING = "pending"  # a canary was requested and is not ready yet
    FAILED = "failed"  # the canary cannot become ready


@dataclass(frozen=True)
class Split:
    revision: str
    percent: int
    tag: str = ""
    latest: bool = False


@dataclass(frozen=True)
class CanaryState:
    mode: str  # "Knative" or "Standard"
    phase: Phase
    ready: bool  # the InferenceService's Ready condition
    canary_percent: int | None
    splits: list[Split] = field(default_factory=list)
    revisions: dict[str, str] = field(default_factory=dict)
    reason: str = ""


def deployment_mode(isvc: dict[str, Any]) -> str:
    """ "Knative" or "Standard" (annotation first, then what status reports)."""
    mode = isvc.get("metadata", {}).get("annotations", {}).get(MODE_ANNOTATION)
    mode = mode or isvc.get("status", {}).get("deploymentMode") or "Knative"
    return "Standard" if mode in STANDARD_MODES else "Knative"


def condition(isvc: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for cond in isvc.get("status", {}).get("conditions", []) or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


def is_true(isvc: dict[str, Any], kind: str) -> bool:
    cond = condition(isvc, kind)
    return bool(cond and cond.get("status") == "True")


def is_current(isvc: dict[str, Any]) -> bool:
    """The controller has seen the latest spec (observedGeneration)."""
    observed = isvc.get("status", {}).get("observedGeneration")
    return observed is not None and observed >= isvc.get("metadata", {}).get("generation", 0)


def interpret(isvc: dict[str, Any]) -> CanaryState:
    if deployment_mode(isvc) == "Standard":
        return _standard(isvc)
    return _knative(isvc)


def _failure_reason(isvc: dict[str, Any], *kinds: str) -> str:
    for kind in kinds:
        cond = condition(isvc, kind)
        if cond and cond.get("status") == "False":
            return f"{kind}: {cond.get('reason', '')} {cond.get('message', '')}".strip()
    info = isvc.get("status", {}).get("modelStatus", {}).get("lastFailureInfo") or {}
    return f"{info.get('reason', '')}: {info.get('message', '')}" if info else ""


def _knative(isvc: dict[str, Any]) -> CanaryState:
    predictor = isvc.get("status", {}).get("components", {}).get("predictor", {}) or {}
    splits = [
        Split(
            t.get("revisionName", ""),
            int(t.get("percent", 0)),
            t.get("tag", ""),
            bool(t.get("latestRevision")),
        )
        for t in predictor.get("traffic", []) or []
    ]
    revisions = {
        k: predictor[k]
        for k in (
            "latestCreatedRevision",
            "latestReadyRevision",
            "latestRolledoutRevision",
            "previousRolledoutRevision",
        )
        if predictor.get(k)
    }
    percent = isvc.get("spec", {}).get("predictor", {}).get("canaryTrafficPercent")
    return CanaryState(
        "Knative",
        _knative_phase(isvc, revisions, percent),
        is_true(isvc, "Ready"),
        percent,
        splits,
        revisions,
        _failure_reason(isvc, "PredictorReady", "PredictorConfigurationReady", "Ready"),
    )


def _knative_phase(isvc: dict[str, Any], revisions: dict[str, str], percent: int | None) -> Phase:
    created, ready = revisions.get("latestCreatedRevision"), revisions.get("latestReadyRevision")
    failed = condition(isvc, "PredictorReady") or {}
    if created and created != ready and failed.get("status") == "False":
        return Phase.FAILED
    target = isvc.get("status", {}).get("modelStatus", {}).get("states", {})
    if target.get("targetModelState") == "FailedToLoad":
        return Phase.FAILED
    if percent is None or percent == 100:
        return Phase.STABLE if created == ready else Phase.PENDING
    return Phase.ROLLING if created == ready and is_current(isvc) else Phase.PENDING


def _standard(isvc: dict[str, Any]) -> CanaryState:
    canaries = isvc.get("spec", {}).get("canary") or []
    statuses = isvc.get("status", {}).get("canaryStatuses") or []
    total = sum(int(c.get("trafficPercent", 0)) for c in canaries)
    splits = [Split(s.get("name", ""), int(s.get("trafficPercent", 0)), "canary") for s in statuses]
    splits.insert(0, Split("stable", 100 - total, "stable"))
    reason = _failure_reason(isvc, "CanaryPredictorReady", "PredictorReady")
    phase = _standard_phase(isvc, canaries, statuses)
    percent = total if canaries else None
    return CanaryState("Standard", phase, is_true(isvc, "Ready"), percent, splits, {}, reason)


def _standard_phase(isvc: dict[str, Any], canaries: list[Any], statuses: list[Any]) -> Phase:
    if not canaries:
        return Phase.STABLE
    cond = condition(isvc, "CanaryPredictorReady") or {}
    if cond.get("status") == "False" and cond.get("reason") not in (None, "", "Progressing"):
        return Phase.FAILED
    ready = bool(statuses) and all(s.get("ready") for s in statuses)
    return Phase.ROLLING if ready and cond.get("status") == "True" else Phase.PENDING


def canary_name(isvc: dict[str, Any]) -> str | None:
    """Standard mode: the name of the canary predictor, if any."""
    canaries = isvc.get("spec", {}).get("canary") or []
    return canaries[0].get("predictor", {}).get("name") if canaries else None


def storage_uri(predictor: dict[str, Any]) -> str | None:
    return (predictor.get("model") or {}).get("storageUri")

"""Reading an InferenceService: deployment mode, conditions, revisions, traffic.

Pure functions over the object as the API returns it (a dict), so the CLI
and its tests share them. Shapes follow KServe's status types and e2e tests:
Knative mode reports ``status.components.predictor`` (revision names and the
``traffic`` split that KServe copies from the predictor's Knative Service);
Standard mode (``spec.canary[]``) reports ``status.canaryStatuses`` and the
``CanaryPredictorReady`` condition.

``status.observedGeneration`` is never used: KServe copies it from whichever
child object it reconciled last (the transformer's Knative Service here), so
it does not track the InferenceService's ``metadata.generation``
(kserve/kserve#6081).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

KNATIVE_MODES = {"Knative", "Serverless"}
STANDARD_MODES = {"Standard", "RawDeployment"}
MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
REVISION_FIELDS = (
    "latestCreatedRevision",
    "latestReadyRevision",
    "latestRolledoutRevision",
    "previousRolledoutRevision",
)


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
    mode = (isvc.get("metadata", {}).get("annotations") or {}).get(MODE_ANNOTATION)
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


def predictor_status(isvc: dict[str, Any]) -> dict[str, Any]:
    """``status.components.predictor`` (Knative mode), or {}."""
    return dict(isvc.get("status", {}).get("components", {}).get("predictor") or {})


def latest_traffic(predictor: dict[str, Any]) -> list[dict[str, Any]]:
    """The traffic entries that follow the latest ready revision (the canary's)."""
    return [t for t in predictor.get("traffic") or [] if t.get("latestRevision")]


def expected_latest_percent(predictor: dict[str, Any], percent: int | None) -> int:
    """The share KServe gives the latest revision for ``canaryTrafficPercent``:
    all of it without a percent, or before any revision was rolled out."""
    if percent is None or percent >= 100 or not predictor.get("latestRolledoutRevision"):
        return 100
    return percent


def stable_revision(isvc: dict[str, Any]) -> str | None:
    """Knative: the revision serving the stable share (KServe's ``prev`` target,
    else the last revision rolled out to 100 %)."""
    predictor = predictor_status(isvc)
    previous = [t for t in predictor.get("traffic") or [] if not t.get("latestRevision")]
    if previous and previous[0].get("revisionName"):
        return str(previous[0]["revisionName"])
    return predictor.get("latestRolledoutRevision")


def failure_reason(isvc: dict[str, Any], *kinds: str) -> str:
    for kind in kinds:
        cond = condition(isvc, kind)
        if cond and cond.get("status") == "False":
            return f"{kind}: {cond.get('reason', '')} {cond.get('message', '')}".strip()
    info = isvc.get("status", {}).get("modelStatus", {}).get("lastFailureInfo") or {}
    return f"{info.get('reason', '')}: {info.get('message', '')}" if info else ""


def canary_spec(isvc: dict[str, Any]) -> dict[str, Any] | None:
    """Standard mode: the running ``spec.canary[0]``, if any."""
    canaries = isvc.get("spec", {}).get("canary") or []
    return dict(canaries[0]) if canaries else None


def storage_uri(predictor: dict[str, Any]) -> str | None:
    return (predictor.get("model") or {}).get("storageUri")

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
    return Target("Knative", percent, replaced_revision=replaced)


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
    )


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
    if target.mode == "Standard" and target.canary is None:
        return None
    state = interpret(isvc)
    if state.phase is Phase.FAILED:
        return state.reason or "the canary failed"
    return None

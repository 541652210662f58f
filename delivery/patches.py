"""The canary transitions as merge patches, and the rules that refuse unsafe ones.

Each ``plan_*`` function reads the current InferenceService and returns the
merge patches to apply in order (a rollback in Knative mode takes two), or
raises :class:`UnsafeTransitionError` saying why it will not.
"""

from __future__ import annotations

import copy
from typing import Any

from delivery.isvc import Phase, canary_name, interpret, storage_uri

Patch = dict[str, Any]
#: Where the CLI remembers the stable model while a canary runs.
STABLE_URI_ANNOTATION = "heart-kserve.io/stable-storage-uri"


class UnsafeTransitionError(Exception):
    """The requested step would hurt the service; the message says why."""


def check_percent(percent: int) -> None:
    if not 0 <= percent <= 100:
        raise UnsafeTransitionError(
            f"--percent {percent} is outside 0..100: it is the share of requests the "
            "canary receives (0 = deployed without traffic, 100 = all traffic)"
        )


def plan_start(
    isvc: dict[str, Any],
    model_uri: str,
    percent: int,
    *,
    bypass_transformer: bool = False,
    name: str = "canary",
) -> list[Patch]:
    """Start a canary with ``model_uri`` at ``percent``, or re-weight the
    running canary when it already serves ``model_uri``."""
    check_percent(percent)
    state = interpret(isvc)
    stable = _stable_uri(isvc)
    running = _canary_uri(isvc)
    if state.phase is not Phase.STABLE and running != model_uri:
        raise UnsafeTransitionError(
            f"a canary is already running ({running}, phase {state.phase.value}): "
            "promote or roll it back before starting another"
        )
    if state.phase is Phase.STABLE and model_uri == stable:
        raise UnsafeTransitionError(f"{model_uri} is already the stable model: nothing to roll out")
    if state.phase is Phase.STABLE and not state.ready:
        raise UnsafeTransitionError(
            "the InferenceService is not Ready: fix the stable version before adding a canary "
            f"({state.reason or 'see kubectl describe isvc'})"
        )
    if state.mode == "Standard":
        return [_standard_start(isvc, model_uri, percent, bypass_transformer, name)]
    return [_knative_start(stable, model_uri, percent)]


def _knative_start(stable: str | None, model_uri: str, percent: int) -> Patch:
    return {
        "metadata": {"annotations": {STABLE_URI_ANNOTATION: stable}},
        "spec": {
            "predictor": {"canaryTrafficPercent": percent, "model": {"storageUri": model_uri}}
        },
    }


def _standard_start(
    isvc: dict[str, Any], model_uri: str, percent: int, bypass_transformer: bool, name: str
) -> Patch:
    if isvc.get("spec", {}).get("transformer") and not bypass_transformer:
        raise UnsafeTransitionError(
            "Standard mode sends spec.canary[] traffic from the gateway straight to the canary "
            "predictor, skipping the transformer (no validation, raw tensors expected). Use "
            "Knative mode, or pass --bypass-transformer if clients call the predictor directly"
        )
    predictor = copy.deepcopy(isvc["spec"]["predictor"])
    predictor["name"] = canary_name(isvc) or name
    predictor.setdefault("model", {})["storageUri"] = model_uri
    predictor.pop("canaryTrafficPercent", None)
    return {"spec": {"canary": [{"trafficPercent": percent, "predictor": predictor}]}}


def plan_promote(isvc: dict[str, Any]) -> list[Patch]:
    """Send all traffic to the canary and make it the stable version."""
    state = interpret(isvc)
    if state.phase is Phase.STABLE:
        raise UnsafeTransitionError("no canary is running: nothing to promote")
    if state.phase is not Phase.ROLLING:
        raise UnsafeTransitionError(
            f"the canary is not ready (phase {state.phase.value}"
            f"{': ' + state.reason if state.reason else ''}): promoting it would send all "
            "traffic to a model that cannot serve; wait or roll back"
        )
    clear = {"metadata": {"annotations": {STABLE_URI_ANNOTATION: None}}}
    if state.mode == "Standard":
        promoted = copy.deepcopy(isvc["spec"]["canary"][0]["predictor"])
        return [{**clear, "spec": {"predictor": promoted, "canary": []}}]
    return [{**clear, "spec": {"predictor": {"canaryTrafficPercent": None}}}]


def plan_rollback(isvc: dict[str, Any]) -> list[Patch]:
    """Take all traffic off the canary and restore the stable model.

    Knative: first 0 % to the canary with the stable URI restored (a new
    revision of the old model, still without traffic), then drop the canary
    field so that revision takes over once ready. The bad model never gets
    traffic again.
    """
    state = interpret(isvc)
    if state.phase is Phase.STABLE:
        raise UnsafeTransitionError("no canary is running: nothing to roll back")
    clear = {"metadata": {"annotations": {STABLE_URI_ANNOTATION: None}}}
    if state.mode == "Standard":
        return [{**clear, "spec": {"canary": []}}]
    stable = _stable_uri(isvc)
    if not stable:
        raise UnsafeTransitionError(
            f"the stable model URI is unknown (annotation {STABLE_URI_ANNOTATION} missing): set "
            "spec.predictor.canaryTrafficPercent to 0 and restore storageUri by hand"
        )
    zero = {"spec": {"predictor": {"canaryTrafficPercent": 0, "model": {"storageUri": stable}}}}
    return [zero, {**clear, "spec": {"predictor": {"canaryTrafficPercent": None}}}]


def _stable_uri(isvc: dict[str, Any]) -> str | None:
    annotations = isvc.get("metadata", {}).get("annotations", {}) or {}
    if STABLE_URI_ANNOTATION in annotations:
        return str(annotations[STABLE_URI_ANNOTATION])
    return storage_uri(isvc.get("spec", {}).get("predictor", {}))


def _canary_uri(isvc: dict[str, Any]) -> str | None:
    canaries = isvc.get("spec", {}).get("canary") or []
    if canaries:
        return storage_uri(canaries[0].get("predictor", {}))
    return storage_uri(isvc.get("spec", {}).get("predictor", {}))

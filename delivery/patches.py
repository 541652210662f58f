"""The canary transitions as merge patches, and the rules that refuse unsafe ones.

Each ``plan_*`` function reads the current InferenceService and returns the
merge patches to apply in order (a rollback in Knative mode takes two), or
raises :class:`UnsafeTransitionError` saying why it will not.

The patches touch ``spec.predictor`` (or ``spec.canary``) only. Nothing is
written to ``metadata``: KServe copies the InferenceService's annotations into
every component's revision template, so an annotation change would roll the
transformer too. A Knative rollback finds the stable model where KServe
already records it, on the stable revision (:func:`stable_uri_of`).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from delivery.isvc import Phase, canary_spec, storage_uri
from delivery.state import interpret

Patch = dict[str, Any]
#: KServe's annotation on every predictor revision: the model it downloads.
SOURCE_URI_ANNOTATION = "internal.serving.kserve.io/storage-initializer-sourceuri"


class UnsafeTransitionError(Exception):
    """The requested step would hurt the service; the message says why."""


def check_percent(percent: int) -> None:
    if not 0 <= percent <= 100:
        raise UnsafeTransitionError(
            f"--percent {percent} is outside 0..100: it is the share of requests the "
            "canary receives (0 = deployed without traffic, 100 = all traffic)"
        )


def plan_start(
    isvc: dict[str, Any], model_uri: str, percent: int, *, bypass_transformer: bool = False
) -> list[Patch]:
    """Start a canary with ``model_uri`` at ``percent``, or re-weight the
    running canary when it already serves ``model_uri``. Knative: 100 % is a
    full rollout (no canary remains to promote or roll back)."""
    check_percent(percent)
    state = interpret(isvc)
    if state.phase is not Phase.STABLE:
        return _reweight(isvc, state.mode, model_uri, percent, bypass_transformer)
    current = storage_uri(isvc.get("spec", {}).get("predictor", {}))
    if model_uri == current:
        raise UnsafeTransitionError(f"{model_uri} is already the stable model: nothing to roll out")
    if not state.ready:
        raise UnsafeTransitionError(
            "the InferenceService is not Ready: fix the stable version before adding a canary "
            f"({state.reason or 'see kubectl describe isvc'})"
        )
    if state.mode == "Standard":
        return [_standard_start(isvc, model_uri, percent, bypass_transformer)]
    share = None if percent == 100 else percent
    predictor = {"canaryTrafficPercent": share, "model": {"storageUri": model_uri}}
    return [{"spec": {"predictor": predictor}}]


def _reweight(
    isvc: dict[str, Any], mode: str, model_uri: str, percent: int, bypass: bool
) -> list[Patch]:
    running = _canary_uri(isvc, mode)
    phase = interpret(isvc).phase
    if running != model_uri:
        raise UnsafeTransitionError(
            f"a canary is already running ({running}, phase {phase.value}): "
            "promote or roll it back before starting another"
        )
    if mode == "Knative":
        if percent == 100:
            return plan_promote(isvc)
        return [{"spec": {"predictor": {"canaryTrafficPercent": percent}}}]
    _refuse_transformer_bypass(isvc, bypass)
    canary = copy.deepcopy(canary_spec(isvc) or {})
    return [{"spec": {"canary": [{**canary, "trafficPercent": percent}]}}]


def _refuse_transformer_bypass(isvc: dict[str, Any], bypass: bool) -> None:
    if isvc.get("spec", {}).get("transformer") and not bypass:
        raise UnsafeTransitionError(
            "Standard mode sends spec.canary[] traffic from the gateway straight to the canary "
            "predictor, skipping the transformer (no validation, raw tensors expected). Use "
            "Knative mode, or pass --bypass-transformer if clients call the predictor directly"
        )


#: The stable predictor's fields a Standard canary may carry. KServe builds the
#: canary Deployment from a copy of the stable predictor with these merged over
#: it (components/predictor.go ``buildCanaryPredictor``), and its validator
#: refuses a canary that sets maxReplicas, scaleMetric, scaleTarget,
#: autoScaling or workerSpec (inference_service_validation.go
#: ``validateCanarySpecs``). minReplicas is left out too: KServe then gives the
#: canary ceil(stable minReplicas x percent) replicas and takes as many from the
#: stable Deployment (predictor.go ``canaryReplicaCount``); a copied minReplicas
#: would take them all.
CANARY_PREDICTOR_FIELDS = ("serviceAccountName",)


def _standard_start(isvc: dict[str, Any], model_uri: str, percent: int, bypass: bool) -> Patch:
    _refuse_transformer_bypass(isvc, bypass)
    stable = isvc["spec"]["predictor"]
    predictor: dict[str, Any] = {"name": canary_name(isvc, model_uri)}
    predictor.update({k: copy.deepcopy(stable[k]) for k in CANARY_PREDICTOR_FIELDS if k in stable})
    predictor["model"] = {**copy.deepcopy(stable.get("model") or {}), "storageUri": model_uri}
    return {"spec": {"canary": [{"trafficPercent": percent, "predictor": predictor}]}}


def canary_name(isvc: dict[str, Any], model_uri: str) -> str:
    """A name for the canary predictor (its Deployment is <isvc>-<name>-predictor):
    the model's last path segment as a DNS label, never the current
    predictor's name (after a promote the predictor carries the old canary's)."""
    limit = 63 - len(isvc["metadata"]["name"]) - len("--predictor")
    segment = model_uri.rstrip("/").rsplit("/", 1)[-1].lower()
    base = re.sub(r"[^a-z0-9-]+", "-", segment).strip("-")[: max(limit - 3, 1)] or "canary"
    current = isvc["spec"]["predictor"].get("name")
    name, suffix = base, 2
    while name == current:
        name, suffix = f"{base}-{suffix}", suffix + 1
    return name


def plan_promote(isvc: dict[str, Any]) -> list[Patch]:
    """Send all traffic to the canary and make it the stable version."""
    state = interpret(isvc)
    percent = isvc.get("spec", {}).get("predictor", {}).get("canaryTrafficPercent")
    if state.phase is Phase.STABLE and state.mode == "Knative" and percent is not None:
        return [{"spec": {"predictor": {"canaryTrafficPercent": None}}}]  # a stale percent
    if state.phase is Phase.STABLE:
        raise UnsafeTransitionError("no canary is running: nothing to promote")
    if state.phase is not Phase.ROLLING:
        raise UnsafeTransitionError(
            f"the canary is not ready (phase {state.phase.value}"
            f"{': ' + state.reason if state.reason else ''}): promoting it would send all "
            "traffic to a model that cannot serve; wait or roll back"
        )
    if state.mode == "Standard":
        promoted = copy.deepcopy((canary_spec(isvc) or {})["predictor"])
        return [{"spec": {"predictor": promoted, "canary": []}}]
    return [{"spec": {"predictor": {"canaryTrafficPercent": None}}}]


def plan_rollback(isvc: dict[str, Any], stable_uri: str | None = None) -> list[Patch]:
    """Take all traffic off the canary and restore the stable model.

    Knative: first 0 % to the canary with ``stable_uri`` (read from the stable
    revision by the caller) restored, a new revision of the old model still
    without traffic; then drop the canary field so that revision takes over
    once ready. The bad model never gets traffic again.
    """
    state = interpret(isvc)
    if state.phase is Phase.STABLE:
        raise UnsafeTransitionError("no canary is running: nothing to roll back")
    if state.mode == "Standard":
        return [{"spec": {"canary": []}}]
    if not stable_uri:
        raise UnsafeTransitionError(
            "the stable model URI is unknown (the stable revision does not carry "
            f"{SOURCE_URI_ANNOTATION}): set spec.predictor.canaryTrafficPercent to 0 and "
            "restore storageUri by hand"
        )
    zero = {"spec": {"predictor": {"canaryTrafficPercent": 0, "model": {"storageUri": stable_uri}}}}
    return [zero, {"spec": {"predictor": {"canaryTrafficPercent": None}}}]


def stable_uri_of(revision: dict[str, Any]) -> str | None:
    """The model a Knative Revision of the predictor serves."""
    annotations = revision.get("metadata", {}).get("annotations") or {}
    return annotations.get(SOURCE_URI_ANNOTATION)


def _canary_uri(isvc: dict[str, Any], mode: str) -> str | None:
    if mode == "Standard":
        return storage_uri((canary_spec(isvc) or {}).get("predictor", {}))
    return storage_uri(isvc.get("spec", {}).get("predictor", {}))

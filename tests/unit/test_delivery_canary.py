"""The canary CLI's status interpretation, patches and waiting, against
InferenceService objects shaped as KServe reports them.

Shapes: KServe's ComponentStatusSpec and PropagateStatus (revision names and
the traffic KServe copies from the predictor's Knative Service: the latest
revision untagged unless tag routing is on, the stable one tagged ``prev``),
the canary docs' ``kubectl get isvc``, and the Standard-mode e2e tests
(test_canary_deployment.py: canaryStatuses, CanaryPredictorReady
AllCanariesReady). ``status.observedGeneration`` stays at the transformer's
Knative Service generation while ``metadata.generation`` grows, as KServe
reports it (kserve/kserve#6081).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from delivery.canary import EXIT_OK, Settings, build_parser, format_state, run
from delivery.isvc import Phase
from delivery.kube import IsvcClient, RolloutFailedError, WaitTimeoutError
from delivery.patches import (
    SOURCE_URI_ANNOTATION,
    UnsafeTransitionError,
    canary_name,
    plan_promote,
    plan_rollback,
    plan_start,
)
from delivery.rollout import Target, failure, settled, target_for
from delivery.state import interpret

pytestmark = pytest.mark.unit

V1, V2, V3 = "s3://models/heart/v1", "s3://models/heart/v2", "s3://models/heart/v3"
REV = "heart-predictor-0000{}".format


def _cond(kind: str, status: str = "True", reason: str = "", message: str = "") -> dict[str, Any]:
    cond = {"type": kind, "status": status, "lastTransitionTime": "2026-11-29T01:00:00Z"}
    return cond | ({"reason": reason, "message": message} if reason else {})


def _ready_conditions() -> list[dict[str, Any]]:
    kinds = ["IngressReady", "LatestDeploymentReady", "PredictorConfigurationReady"]
    kinds += ["PredictorReady", "PredictorRouteReady", "Ready", "RoutesReady"]
    kinds += ["TransformerConfigurationReady", "TransformerReady", "TransformerRouteReady"]
    return [_cond(kind) for kind in kinds]


def _set(isvc: dict[str, Any], kind: str, status: str, reason: str = "", msg: str = "") -> None:
    conditions = [c for c in isvc["status"]["conditions"] if c["type"] != kind]
    isvc["status"]["conditions"] = [*conditions, _cond(kind, status, reason, msg)]


def _latest(rev: str, percent: int) -> dict[str, Any]:
    return {"revisionName": rev, "percent": percent, "latestRevision": True}


def _prev(rev: str, percent: int) -> dict[str, Any]:
    return {
        "revisionName": rev,
        "percent": percent,
        "latestRevision": False,
        "tag": "prev",
        "url": "http://prev-heart-predictor.heart.example.com",
    }


def _predictor(created: int, ready: int, rolled: int, *traffic: dict[str, Any]) -> dict[str, Any]:
    status = {
        "latestCreatedRevision": REV(created),
        "latestReadyRevision": REV(ready),
        "latestRolledoutRevision": REV(rolled),
        "traffic": list(traffic),
        "url": "http://heart-predictor.heart.example.com",
        "address": {"url": "http://heart-predictor.heart.svc.cluster.local"},
    }
    return status


def knative_stable() -> dict[str, Any]:
    """Ready, revision 1 of v1 with all traffic (after the first deploy)."""
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "heart",
            "namespace": "heart",
            "generation": 1,
            "annotations": {"serving.kserve.io/deploymentMode": "Knative"},
        },
        "spec": {
            "predictor": {
                "minReplicas": 1,
                "model": {
                    "modelFormat": {"name": "sklearn"},
                    "runtime": "heart-sklearn",
                    "protocolVersion": "v2",
                    "storageUri": V1,
                },
            },
            "transformer": {
                "containers": [{"name": "kserve-container", "image": "heart-transformer:dev"}]
            },
        },
        "status": {
            "observedGeneration": 1,
            "deploymentMode": "Knative",
            "url": "http://heart.heart.example.com",
            "components": {
                "predictor": _predictor(1, 1, 1, _latest(REV(1), 100)),
                "transformer": {
                    "latestCreatedRevision": "heart-transformer-00001",
                    "latestReadyRevision": "heart-transformer-00001",
                    "latestRolledoutRevision": "heart-transformer-00001",
                    "traffic": [_latest("heart-transformer-00001", 100)],
                    "url": "http://heart-transformer.heart.example.com",
                },
            },
            "conditions": _ready_conditions(),
            "modelStatus": {
                "states": {"activeModelState": "Loaded", "targetModelState": "Loaded"},
                "transitionStatus": "UpToDate",
                "copies": {"failedCopies": 0, "totalCopies": 1},
            },
        },
    }


def knative_requested(percent: int = 10, uri: str = V2) -> dict[str, Any]:
    """Right after the start patch: the spec asks for a canary, the status is
    still the stable one (KServe has not reconciled yet)."""
    isvc = knative_stable()
    isvc["metadata"]["generation"] = 2
    isvc["spec"]["predictor"]["canaryTrafficPercent"] = percent
    isvc["spec"]["predictor"]["model"]["storageUri"] = uri
    return isvc


def knative_creating(percent: int = 10) -> dict[str, Any]:
    """Revision 2 exists and is not ready: Knative keeps routing to revision 1."""
    isvc = knative_requested(percent)
    isvc["status"]["components"]["predictor"] = _predictor(
        2, 1, 1, _latest(REV(1), percent), _prev(REV(1), 100 - percent)
    )
    for kind in ("PredictorReady", "PredictorConfigurationReady", "Ready"):
        _set(isvc, kind, "Unknown", "RevisionMissing", "Configuration is waiting for a Revision")
    isvc["status"]["modelStatus"]["states"]["targetModelState"] = "Loading"
    isvc["status"]["modelStatus"]["transitionStatus"] = "InProgress"
    return isvc


def knative_rolling(percent: int = 10) -> dict[str, Any]:
    """Revision 2 (v2) ready with `percent`, revision 1 (tag prev) the rest."""
    isvc = knative_requested(percent)
    isvc["status"]["components"]["predictor"] = _predictor(
        2, 2, 1, _latest(REV(2), percent), _prev(REV(1), 100 - percent)
    )
    return isvc


def knative_failed() -> dict[str, Any]:
    """Revision 2 cannot load its model: revision 1 keeps all traffic."""
    isvc = knative_creating()
    message = 'Revision "heart-predictor-00002" failed with message: Container failed.'
    for kind in ("PredictorReady", "PredictorConfigurationReady", "Ready"):
        _set(isvc, kind, "False", "RevisionFailed", message)
    isvc["status"]["modelStatus"] = {
        "states": {"activeModelState": "Loaded", "targetModelState": "FailedToLoad"},
        "transitionStatus": "BlockedByFailedLoad",
        "lastFailureInfo": {"reason": "ModelLoadFailed", "message": "sha256 mismatch"},
    }
    return isvc


def knative_promoted() -> dict[str, Any]:
    """After promote: revision 2 rolled out with all traffic."""
    isvc = knative_rolling()
    isvc["metadata"]["generation"] = 3
    del isvc["spec"]["predictor"]["canaryTrafficPercent"]
    predictor = _predictor(2, 2, 2, _latest(REV(2), 100))
    predictor["previousRolledoutRevision"] = REV(1)
    isvc["status"]["components"]["predictor"] = predictor
    return isvc


def knative_rollback_zero(ready: bool = True) -> dict[str, Any]:
    """Rollback step 1: revision 3 (v1 again) without traffic, revision 1 all of it."""
    isvc = knative_rolling()
    isvc["metadata"]["generation"] = 3
    isvc["spec"]["predictor"]["canaryTrafficPercent"] = 0
    isvc["spec"]["predictor"]["model"]["storageUri"] = V1
    isvc["status"]["components"]["predictor"] = _predictor(
        3, 3 if ready else 2, 1, _latest(REV(3 if ready else 2), 0), _prev(REV(1), 100)
    )
    return isvc


def knative_rolled_back() -> dict[str, Any]:
    """Rollback step 2: revision 3 (v1) rolled out with all traffic."""
    isvc = knative_rollback_zero()
    isvc["metadata"]["generation"] = 4
    del isvc["spec"]["predictor"]["canaryTrafficPercent"]
    predictor = _predictor(3, 3, 3, _latest(REV(3), 100))
    predictor["previousRolledoutRevision"] = REV(1)
    isvc["status"]["components"]["predictor"] = predictor
    return isvc


def revision(number: int, uri: str) -> dict[str, Any]:
    """A Knative Revision of the predictor as KServe's template makes it."""
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Revision",
        "metadata": {
            "name": REV(number),
            "namespace": "heart",
            "annotations": {
                "autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev",
                "autoscaling.knative.dev/min-scale": "1",
                SOURCE_URI_ANNOTATION: uri,
                "serving.kserve.io/deploymentMode": "Knative",
            },
            "labels": {
                "serving.knative.dev/configuration": "heart-predictor",
                "serving.knative.dev/service": "heart-predictor",
                "serving.knative.dev/configurationGeneration": str(number),
            },
        },
        "status": {"conditions": [_cond("Ready")]},
    }


def broken_stable() -> dict[str, Any]:
    """No canary, but the stable predictor is down."""
    isvc = knative_stable()
    _set(isvc, "PredictorReady", "False", "RevisionMissing")
    _set(isvc, "Ready", "False", "RevisionMissing")
    return isvc


def standard(canary: str | None, transformer: bool = False, name: str = "v2") -> dict[str, Any]:
    """Standard mode; canary: None (no spec.canary), "ready", "starting", "failed"."""
    isvc = knative_stable()
    isvc["metadata"]["annotations"] = {"serving.kserve.io/deploymentMode": "Standard"}
    if not transformer:
        del isvc["spec"]["transformer"]
    isvc["status"]["deploymentMode"] = "Standard"
    isvc["status"]["components"] = {"predictor": {"url": "http://heart-predictor-heart.example"}}
    if canary is None:
        return isvc
    predictor = copy.deepcopy(isvc["spec"]["predictor"]) | {"name": name}
    predictor["model"]["storageUri"] = V2
    isvc["spec"]["canary"] = [{"trafficPercent": 20, "predictor": predictor}]
    status: dict[str, Any] = {"name": name, "ready": canary == "ready", "trafficPercent": 20}
    cond = {
        "ready": ("True", "AllCanariesReady"),
        "starting": ("False", "MinimumReplicasUnavailable"),
        "failed": ("False", "ProgressDeadlineExceeded"),
    }[canary]
    _set(isvc, "CanaryPredictorReady", *cond, f"canary {name}: {cond[1]}")
    if canary == "failed":
        status["modelStatus"] = {"transitionStatus": "BlockedByFailedLoad"}
    isvc["status"]["canaryStatuses"] = [status]
    return isvc


# --- interpretation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("isvc", "phase", "percent"),
    [
        (knative_stable(), Phase.STABLE, None),
        (knative_requested(), Phase.PENDING, 10),
        (knative_creating(), Phase.PENDING, 10),
        (knative_rolling(), Phase.ROLLING, 10),
        (knative_failed(), Phase.FAILED, 10),
        (knative_promoted(), Phase.STABLE, None),
        (knative_rollback_zero(), Phase.ROLLING, 0),
        (knative_rollback_zero(ready=False), Phase.PENDING, 0),
        (knative_rolled_back(), Phase.STABLE, None),
        (standard(None), Phase.STABLE, None),
        (standard("ready"), Phase.ROLLING, 20),
        (standard("starting"), Phase.PENDING, 20),
        (standard("failed"), Phase.FAILED, 20),
    ],
    ids=[
        "kn-ready",
        "kn-requested",
        "kn-creating",
        "kn-rolling",
        "kn-failed",
        "kn-promoted",
        "kn-rollback-zero",
        "kn-rollback-zero-creating",
        "kn-rolled-back",
        "std-ready",
        "std-rolling",
        "std-starting",
        "std-failed",
    ],
)
def test_interpret_reads_phase_and_split(isvc: dict[str, Any], phase: Phase, percent: int) -> None:
    state = interpret(isvc)
    assert state.phase is phase
    assert state.canary_percent == percent
    assert sum(s.percent for s in state.splits) == 100


def test_observed_generation_is_not_what_rolling_depends_on() -> None:
    isvc = knative_rolling()
    assert isvc["status"]["observedGeneration"] < isvc["metadata"]["generation"]
    assert interpret(isvc).phase is Phase.ROLLING


def test_rolling_status_prints_revisions_and_split() -> None:
    text = format_state("heart", interpret(knative_rolling()))
    assert "canary rolling" in text
    assert " 10%  heart-predictor-00002 (latest)" in text
    assert " 90%  heart-predictor-00001 [prev]" in text
    assert "latestRolledoutRevision" in text


def test_failed_status_explains_the_failure() -> None:
    state = interpret(knative_failed())
    assert "RevisionFailed" in state.reason
    assert "failed" in format_state("heart", state)


# --- when a patch has rolled out ------------------------------------------------


def test_start_target_expects_a_new_revision_and_the_split() -> None:
    [patch] = plan_start(knative_stable(), V2, 10)
    target = target_for(knative_stable(), patch)
    assert target == Target("Knative", 10, replaced_revision=REV(1), stable_revision=REV(1))
    # the old status right after the patch is Ready, but not the rollout asked for
    assert not settled(knative_requested(), target)
    assert not settled(knative_creating(), target)
    assert settled(knative_rolling(), target)


def test_reweight_waits_for_the_new_split() -> None:
    [patch] = plan_start(knative_rolling(10), V2, 50)
    target = target_for(knative_rolling(10), patch)
    assert target == Target("Knative", 50, stable_revision=REV(1))
    assert not settled(knative_rolling(10), target)
    assert settled(knative_rolling(50), target)


def test_rollback_step_one_waits_for_the_restored_revision() -> None:
    first, second = plan_rollback(knative_rolling(), V1)
    target = target_for(knative_rolling(), first)
    assert target == Target("Knative", 0, replaced_revision=REV(2), stable_revision=REV(1))
    assert not settled(knative_rolling(), target)
    assert not settled(knative_rollback_zero(ready=False), target)
    assert settled(knative_rollback_zero(), target)
    final = target_for(knative_rollback_zero(), second)
    assert not settled(knative_rollback_zero(), final)
    assert settled(knative_rolled_back(), final)


def test_an_old_failure_is_not_the_new_revisions() -> None:
    first, _ = plan_rollback(knative_failed(), V1)
    target = target_for(knative_failed(), first)
    assert failure(knative_failed(), target) is None  # revision 3 not created yet
    assert "RevisionFailed" in (failure(knative_failed(), Target("Knative", 10)) or "")


def test_standard_targets_name_the_canary() -> None:
    [patch] = plan_start(standard(None), V2, 20)
    target = target_for(standard(None), patch)
    assert target == Target("Standard", 20, "v2")
    assert not settled(standard(None), target)
    assert not settled(standard("starting"), target)
    assert failure(standard("starting"), target) is None
    assert settled(standard("ready"), target)
    assert "ProgressDeadlineExceeded" in (failure(standard("failed"), target) or "")
    [promote] = plan_promote(standard("ready"))
    assert target_for(standard("ready"), promote) == Target("Standard", None)
    assert not settled(standard("ready"), Target("Standard", None))
    assert settled(standard(None), Target("Standard", None))


# --- patches -------------------------------------------------------------------


def _all_patches() -> list[dict[str, Any]]:
    return [
        *plan_start(knative_stable(), V2, 10),
        *plan_start(knative_stable(), V2, 100),
        *plan_start(knative_rolling(), V2, 40),
        *plan_promote(knative_rolling()),
        *plan_rollback(knative_rolling(), V1),
        *plan_start(standard(None), V2, 20),
        *plan_promote(standard("ready")),
        *plan_rollback(standard("ready")),
    ]


def test_patches_never_touch_metadata() -> None:
    """KServe copies InferenceService annotations into the transformer's
    revision template too: a canary step must not restart the transformer."""
    for patch in _all_patches():
        assert set(patch) == {"spec"}, patch
        assert "transformer" not in patch["spec"]


def test_start_patches_uri_and_percent() -> None:
    [patch] = plan_start(knative_stable(), V2, 10)
    predictor = {"canaryTrafficPercent": 10, "model": {"storageUri": V2}}
    assert patch == {"spec": {"predictor": predictor}}


def test_start_again_with_the_same_model_reweights() -> None:
    [patch] = plan_start(knative_rolling(10), V2, 50)
    assert patch == {"spec": {"predictor": {"canaryTrafficPercent": 50}}}


def test_full_rollout_at_100_percent_leaves_no_canary() -> None:
    [patch] = plan_start(knative_stable(), V2, 100)
    assert patch["spec"]["predictor"] == {"canaryTrafficPercent": None, "model": {"storageUri": V2}}
    assert plan_start(knative_rolling(), V2, 100) == plan_promote(knative_rolling())


def test_the_stable_model_is_the_spec_when_no_canary_runs() -> None:
    """A leftover annotation from an older CLI names no model any more."""
    isvc = knative_promoted()
    isvc["metadata"]["annotations"]["heart-kserve.io/stable-storage-uri"] = V1
    with pytest.raises(UnsafeTransitionError, match="already the stable model"):
        plan_start(isvc, V2, 10)
    [patch] = plan_start(isvc, V1, 10)
    assert patch["spec"]["predictor"]["model"]["storageUri"] == V1


@pytest.mark.parametrize(
    ("isvc", "uri", "percent", "why"),
    [
        (knative_rolling(), V3, 10, "already running"),
        (knative_failed(), V3, 10, "already running"),
        (knative_stable(), V2, 101, "outside 0..100"),
        (knative_stable(), V2, -1, "outside 0..100"),
        (knative_stable(), V1, 10, "already the stable model"),
        (broken_stable(), V2, 10, "not Ready"),
        (standard(None, transformer=True), V2, 10, "skipping the transformer"),
        (knative_failed(), V2, 100, "not ready"),
    ],
)
def test_start_refuses_unsafe_transitions(
    isvc: dict[str, Any], uri: str, percent: int, why: str
) -> None:
    with pytest.raises(UnsafeTransitionError, match=why):
        plan_start(isvc, uri, percent)


def test_standard_start_copies_the_model_with_the_new_uri_only() -> None:
    """KServe merges the canary over a copy of the stable predictor and refuses
    a canary that sets maxReplicas, scaleMetric, scaleTarget or autoScaling; a
    copied minReplicas would take the stable Deployment's replicas."""
    stable = standard(None)
    stable["spec"]["predictor"] |= {"maxReplicas": 6, "scaleMetric": "cpu", "scaleTarget": 70}
    stable["spec"]["predictor"]["serviceAccountName"] = "heart-models"
    [patch] = plan_start(stable, V2, 20)
    [canary] = patch["spec"]["canary"]
    assert canary["trafficPercent"] == 20
    assert canary["predictor"] == {
        "name": "v2",
        "serviceAccountName": "heart-models",
        "model": {
            "modelFormat": {"name": "sklearn"},
            "runtime": "heart-sklearn",
            "protocolVersion": "v2",
            "storageUri": V2,
        },
    }


def test_standard_canary_after_a_promote_gets_its_own_deployment() -> None:
    """After promote spec.predictor carries the canary's name; reusing it would
    point stable and canary at the same <isvc>-<name>-predictor Deployment."""
    [promote] = plan_promote(standard("ready"))
    promoted = standard(None)
    promoted["spec"]["predictor"] = promote["spec"]["predictor"]
    assert promoted["spec"]["predictor"]["name"] == "v2"
    [patch] = plan_start(promoted, V3, 10)
    assert patch["spec"]["canary"][0]["predictor"]["name"] == "v3"
    [again] = plan_start(promoted, "s3://other-bucket/heart/v2", 10)
    assert again["spec"]["canary"][0]["predictor"]["name"] == "v2-2"


def test_canary_names_are_dns_labels() -> None:
    isvc = standard(None)
    assert canary_name(isvc, "s3://models/heart/Model_V4.1/") == "model-v4-1"
    assert canary_name(isvc, "s3://models/___") == "canary"
    long = canary_name(isvc, "s3://m/" + "x" * 80)
    assert len(f"heart-{long}-predictor") <= 63 - 3


def test_standard_reweight_keeps_the_canary() -> None:
    [patch] = plan_start(standard("ready"), V2, 50)
    [canary] = patch["spec"]["canary"]
    assert canary["trafficPercent"] == 50
    assert canary["predictor"]["name"] == "v2"


def test_standard_with_transformer_only_with_explicit_bypass() -> None:
    [patch] = plan_start(standard(None, transformer=True), V2, 5, bypass_transformer=True)
    assert patch["spec"]["canary"][0]["trafficPercent"] == 5


def test_promote_drops_the_canary_percent() -> None:
    [patch] = plan_promote(knative_rolling())
    assert patch == {"spec": {"predictor": {"canaryTrafficPercent": None}}}


def test_standard_promote_moves_the_canary_into_the_predictor() -> None:
    [patch] = plan_promote(standard("ready"))
    assert patch["spec"]["canary"] == []
    assert patch["spec"]["predictor"]["model"]["storageUri"] == V2
    assert patch["spec"]["predictor"]["name"] == "v2"


@pytest.mark.parametrize(
    ("isvc", "why"),
    [
        (knative_failed(), "not ready"),
        (knative_creating(), "not ready"),
        (standard("failed"), "not ready"),
        (standard("starting"), "not ready"),
        (knative_stable(), "nothing to promote"),
        (knative_promoted(), "nothing to promote"),
    ],
)
def test_promote_refuses(isvc: dict[str, Any], why: str) -> None:
    with pytest.raises(UnsafeTransitionError, match=why):
        plan_promote(isvc)


def test_knative_rollback_restores_stable_without_traffic_first() -> None:
    first, second = plan_rollback(knative_failed(), V1)
    assert first["spec"]["predictor"] == {"canaryTrafficPercent": 0, "model": {"storageUri": V1}}
    assert second["spec"]["predictor"] == {"canaryTrafficPercent": None}


def test_standard_rollback_removes_the_canary() -> None:
    [patch] = plan_rollback(standard("ready"))
    assert patch["spec"]["canary"] == []


def test_rollback_refuses_without_canary_or_stable_uri() -> None:
    with pytest.raises(UnsafeTransitionError, match="nothing to roll back"):
        plan_rollback(knative_stable(), V1)
    with pytest.raises(UnsafeTransitionError, match="stable model URI is unknown"):
        plan_rollback(knative_rolling(), None)


# --- the CLI against a scripted API --------------------------------------------


class ScriptedApi:
    """A CustomObjectsApi stand-in: the InferenceService states a controller
    would report one after another, the predictor's revisions; it records
    every patch. (No KServe can run here; the e2e-kind workflow runs the same
    CLI against a real one.)"""

    def __init__(self, states: list[dict[str, Any]], revisions: dict[str, Any] | None = None):
        self.states, self.revisions = states, revisions or {}
        self.patches: list[dict[str, Any]] = []
        self.gets = 0

    def get_namespaced_custom_object(self, *args: Any) -> dict[str, Any]:
        _group, _version, _namespace, plural, name = args
        if plural == "revisions":
            return dict(self.revisions[name])
        self.gets += 1
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]

    def list_namespaced_custom_object(self, *args: Any, **_kw: Any) -> dict[str, Any]:
        return {"items": list(self.revisions.values())}

    def patch_namespaced_custom_object(self, *args: Any) -> dict[str, Any]:
        self.patches.append(args[-1])
        return {}


def _run(argv: list[str], api: ScriptedApi, timeout: float = 0.2) -> int:
    client = IsvcClient("heart", "heart", api, sleep=lambda _s: None, poll_seconds=0)
    return run(build_parser().parse_args(argv), Settings("heart", "heart", timeout, None), client)


def test_cli_start_waits_until_the_canary_takes_traffic(capsys: pytest.CaptureFixture[str]) -> None:
    states = [knative_stable(), knative_requested(), knative_creating(), knative_rolling()]
    api = ScriptedApi(states)
    assert _run(["start", "--model-uri", V2, "--percent", "10"], api) == EXIT_OK
    assert api.gets == 4
    assert api.patches[0]["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert "10%  heart-predictor-00002" in capsys.readouterr().out


def test_cli_rollback_restores_the_model_of_the_stable_revision() -> None:
    states = [knative_rolling(), knative_rollback_zero(ready=False), knative_rollback_zero()]
    states += [knative_rollback_zero(), knative_rolled_back()]
    api = ScriptedApi(states, {REV(1): revision(1, V1), REV(2): revision(2, V2)})
    assert _run(["rollback"], api) == EXIT_OK
    first, second = api.patches
    assert first["spec"]["predictor"]["model"]["storageUri"] == V1
    assert second == {"spec": {"predictor": {"canaryTrafficPercent": None}}}


def test_cli_promote_and_reweight_settle_without_generation_tracking() -> None:
    api = ScriptedApi([knative_rolling(), knative_rolling(), knative_promoted()])
    assert _run(["promote"], api) == EXIT_OK
    api = ScriptedApi([knative_rolling(10), knative_rolling(10), knative_rolling(50)])
    assert _run(["start", "--model-uri", V2, "--percent", "50"], api) == EXIT_OK


def test_cli_wait_stops_on_a_failed_canary() -> None:
    api = ScriptedApi([knative_stable(), knative_requested(), knative_failed()])
    with pytest.raises(RolloutFailedError, match="RevisionFailed"):
        _run(["start", "--model-uri", V2, "--percent", "10"], api)


def test_cli_wait_times_out_while_the_revision_is_created() -> None:
    api = ScriptedApi([knative_stable(), knative_creating()])
    with pytest.raises(WaitTimeoutError, match="not rolled out after"):
        _run(["start", "--model-uri", V2, "--percent", "10"], api, timeout=0.05)


@pytest.mark.parametrize(
    ("error", "prefix", "code"),
    [
        ("UnsafeTransitionError", "refused", 3),
        ("WaitTimeoutError", "timeout", 4),
        ("RolloutFailedError", "rollout failed", 5),
        ("KubeError", "cluster", 6),
        ("DeniedError", "denied", 7),
    ],
)
def test_main_maps_each_failure_to_its_documented_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], error, prefix, code
) -> None:
    from delivery import canary, kube, patches

    kind = getattr(kube, error, None) or getattr(patches, error)

    def fail(*args: object, **kwargs: object) -> int:
        raise kind("the reason")

    monkeypatch.setattr(IsvcClient, "connect", staticmethod(lambda *a: object()))
    monkeypatch.setattr(canary, "run", fail)
    assert canary.main(["status"]) == code
    assert capsys.readouterr().err.strip() == f"{prefix}: the reason"


# --- KServe moving the stable share (item 5) --------------------------------------


def test_start_records_the_rolled_out_revision_and_fails_when_kserve_moves_it() -> None:
    promoted = knative_promoted()  # revision 2 (v2) rolled out, revision 1 before it
    [patch] = plan_start(promoted, V3, 10)
    target = target_for(promoted, patch)
    assert target.stable_revision == REV(2)
    moved = knative_requested(10, V3)
    predictor = _predictor(3, 3, 1, _latest(REV(3), 10), _prev(REV(1), 90))
    moved["status"]["components"]["predictor"] = predictor | {"previousRolledoutRevision": REV(1)}
    assert not settled(moved, target)  # the stable share is not on revision 2
    reason = failure(moved, target) or ""
    assert "from heart-predictor-00002 to heart-predictor-00001" in reason and "rollback" in reason


def test_rollback_restores_the_revision_before_the_canary_not_the_prev_route(
    capsys: pytest.CaptureFixture[str],
) -> None:
    moved = knative_requested(10, V3)
    predictor = _predictor(3, 3, 1, _latest(REV(3), 10), _prev(REV(1), 90))
    moved["status"]["components"]["predictor"] = predictor | {"previousRolledoutRevision": REV(1)}
    revisions = {REV(n): revision(n, uri) for n, uri in ((1, V1), (2, V2), (3, V3))}
    api = ScriptedApi([moved], revisions)
    with pytest.raises(WaitTimeoutError):  # only the first patch matters here
        _run(["rollback"], api, timeout=0.01)
    assert api.patches[0]["spec"]["predictor"]["model"]["storageUri"] == V2
    assert "served all traffic before the canary" in capsys.readouterr().err


# --- a canary overlay on a fresh service (item 4) ----------------------------------


def test_a_canary_percent_on_the_first_revision_reads_stable_and_promote_clears_it() -> None:
    fresh = knative_requested(10, V2)
    fresh["status"]["components"]["predictor"] = _predictor(
        1, 1, 1, _latest(REV(1), 10), _prev(REV(1), 90)
    )
    state = interpret(fresh)
    assert state.phase is Phase.STABLE and "first revision" in state.reason
    assert plan_promote(fresh) == [{"spec": {"predictor": {"canaryTrafficPercent": None}}}]


# --- Standard-mode failures (item 7) --------------------------------------------


def _pod(waiting: str | None = None, init_exit: int = 0) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "kserve-container", "state": {"running": {}}}
    if waiting:
        container = {
            "name": "kserve-container",
            "state": {"waiting": {"reason": waiting}},
            "lastState": {"terminated": {"exitCode": 1, "message": "sha256 mismatch"}},
        }
    terminated = {"exitCode": init_exit, "message": "403 Forbidden"}
    init = {"name": "storage-initializer", "state": {"terminated": terminated}}
    status = {"initContainerStatuses": [init], "containerStatuses": [container]}
    return {"metadata": {"name": "heart-v2-predictor-abc"}, "status": status}


def test_standard_workload_failures_are_read_from_the_deployment_and_pods() -> None:
    from delivery.rollout import workload_failure

    assert workload_failure({"status": {}}, [_pod()]) is None
    assert workload_failure(None, []) is None
    crash = workload_failure({"status": {}}, [_pod("CrashLoopBackOff")]) or ""
    assert "CrashLoopBackOff" in crash and "sha256 mismatch" in crash
    assert "403 Forbidden" in (workload_failure({"status": {}}, [_pod(init_exit=1)]) or "")
    deadline = {"status": {"conditions": [{"type": "Progressing", "status": "False",
                "reason": "ProgressDeadlineExceeded", "message": "took too long"}]}}  # fmt: skip
    assert "ProgressDeadlineExceeded" in (workload_failure(deadline, []) or "")
    assert workload_failure({"status": {}}, [_pod("ContainerCreating")]) is None


# --- the Standard canary's KServe release (item 10) ------------------------------


def test_standard_canary_needs_kserve_0_21(capsys: pytest.CaptureFixture[str]) -> None:
    from delivery.canary import check_standard_canary_support

    with pytest.raises(UnsafeTransitionError, match=r"v0\.20\.0.*v0\.21\.0"):
        check_standard_canary_support("kserve/kserve-controller:v0.20.0")
    check_standard_canary_support("kserve/kserve-controller:v0.21.0")
    check_standard_canary_support("registry/kserve-controller:v0.22.1-rc0")
    check_standard_canary_support(None)
    assert "cannot tell KServe's version" in capsys.readouterr().err


# --- API errors (item 8) ---------------------------------------------------------------


def test_an_admission_denial_keeps_the_webhooks_message() -> None:
    from kubernetes.client.exceptions import ApiException

    from delivery.kube import DeniedError, KubeError, _api_error

    denial = ApiException(status=400, reason="Bad Request")
    denial.body = (
        '{"kind":"Status","message":"admission webhook \\"inferenceservice.kserve-webhook-server'
        '.validator\\" denied the request: canary \\"v2\\" must not set maxReplicas"}'
    )
    error = _api_error("inferenceservices heart/heart", denial)
    assert isinstance(error, DeniedError)
    assert "must not set maxReplicas" in str(error) and "400" in str(error)
    unavailable = ApiException(status=503, reason="Service Unavailable")
    assert isinstance(_api_error("x", unavailable), KubeError)

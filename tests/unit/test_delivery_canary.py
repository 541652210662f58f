"""The canary CLI's status interpretation and patches, against InferenceService
objects shaped as KServe reports them (its e2e tests test_canary.py and
test_canary_deployment.py, and the canary docs' `kubectl get isvc -o yaml`)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from delivery.canary import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_TIMEOUT,
    Settings,
    build_parser,
    format_state,
    run,
)
from delivery.isvc import Phase, interpret
from delivery.kube import IsvcClient, RolloutFailedError, WaitTimeoutError
from delivery.patches import (
    STABLE_URI_ANNOTATION,
    UnsafeTransitionError,
    plan_promote,
    plan_rollback,
    plan_start,
)

pytestmark = pytest.mark.unit

V1, V2 = "s3://models/heart/v1", "s3://models/heart/v2"


def _cond(kind: str, status: str = "True", reason: str = "", message: str = "") -> dict[str, Any]:
    cond = {"type": kind, "status": status, "lastTransitionTime": "2026-11-29T01:00:00Z"}
    return cond | ({"reason": reason, "message": message} if reason else {})


def _traffic(rev: str, percent: int, latest: bool, tag: str) -> dict[str, Any]:
    return {
        "revisionName": rev,
        "percent": percent,
        "latestRevision": latest,
        "tag": tag,
        "url": f"http://{tag}-heart-predictor.heart.example.com",
    }


def knative_stable() -> dict[str, Any]:
    """Ready, one revision with all traffic (after the first deploy)."""
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
                "model": {
                    "modelFormat": {"name": "sklearn"},
                    "runtime": "heart-sklearn",
                    "storageUri": V1,
                }
            },
            "transformer": {
                "containers": [{"name": "kserve-container", "image": "heart-transformer:dev"}]
            },
        },
        "status": {
            "observedGeneration": 1,
            "url": "http://heart-transformer.heart.example.com",
            "components": {
                "predictor": {
                    "latestCreatedRevision": "heart-predictor-00001",
                    "latestReadyRevision": "heart-predictor-00001",
                    "latestRolledoutRevision": "heart-predictor-00001",
                    "traffic": [
                        {
                            "revisionName": "heart-predictor-00001",
                            "percent": 100,
                            "latestRevision": True,
                        }
                    ],
                    "url": "http://heart-predictor.heart.example.com",
                },
                "transformer": {"latestReadyRevision": "heart-transformer-00001"},
            },
            "conditions": [
                _cond("IngressReady"),
                _cond("PredictorReady"),
                _cond("TransformerReady"),
                _cond("Ready"),
            ],
            "modelStatus": {
                "states": {"activeModelState": "Loaded", "targetModelState": "Loaded"},
                "transitionStatus": "UpToDate",
            },
        },
    }


def knative_rolling(percent: int = 10) -> dict[str, Any]:
    """10 % on revision 2 (tag latest), 90 % on the rolled-out revision 1 (tag prev)."""
    isvc = knative_stable()
    isvc["metadata"]["generation"] = 2
    isvc["metadata"]["annotations"][STABLE_URI_ANNOTATION] = V1
    isvc["spec"]["predictor"]["canaryTrafficPercent"] = percent
    isvc["spec"]["predictor"]["model"]["storageUri"] = V2
    predictor = isvc["status"]["components"]["predictor"]
    predictor.update(
        latestCreatedRevision="heart-predictor-00002",
        latestReadyRevision="heart-predictor-00002",
        previousRolledoutRevision="heart-predictor-00001",
        traffic=[
            _traffic("heart-predictor-00002", percent, True, "latest"),
            _traffic("heart-predictor-00001", 100 - percent, False, "prev"),
        ],
    )
    isvc["status"]["observedGeneration"] = 2
    return isvc


def knative_failed() -> dict[str, Any]:
    """Revision 2 cannot load its model: stable keeps 100 %, the ISVC not Ready."""
    isvc = knative_rolling()
    predictor = isvc["status"]["components"]["predictor"]
    predictor["latestReadyRevision"] = "heart-predictor-00001"
    predictor["traffic"] = [_traffic("heart-predictor-00001", 100, False, "prev")]
    isvc["status"]["conditions"] = [
        _cond("IngressReady"),
        _cond("TransformerReady"),
        _cond(
            "PredictorReady",
            "False",
            "RevisionFailed",
            'Revision "heart-predictor-00002" failed with message: Container failed.',
        ),
        _cond("Ready", "False", "RevisionFailed"),
    ]
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
    del isvc["metadata"]["annotations"][STABLE_URI_ANNOTATION]
    del isvc["spec"]["predictor"]["canaryTrafficPercent"]
    predictor = isvc["status"]["components"]["predictor"]
    predictor["latestRolledoutRevision"] = "heart-predictor-00002"
    predictor["traffic"] = [
        {"revisionName": "heart-predictor-00002", "percent": 100, "latestRevision": True}
    ]
    isvc["status"]["observedGeneration"] = 3
    return isvc


def broken_stable() -> dict[str, Any]:
    """No canary, but the stable predictor is down."""
    isvc = knative_stable()
    isvc["status"]["conditions"] = [
        _cond("PredictorReady", "False", "RevisionMissing"),
        _cond("Ready", "False", "RevisionMissing"),
    ]
    return isvc


def standard(canary_ready: bool | None, transformer: bool = False) -> dict[str, Any]:
    """Standard mode; canary_ready None = no spec.canary."""
    isvc = knative_stable()
    isvc["metadata"]["annotations"] = {"serving.kserve.io/deploymentMode": "Standard"}
    if not transformer:
        del isvc["spec"]["transformer"]
    isvc["status"].pop("components")
    isvc["status"]["deploymentMode"] = "Standard"
    if canary_ready is None:
        return isvc
    canary = copy.deepcopy(isvc["spec"]["predictor"])
    canary["name"] = "v2"
    canary["model"]["storageUri"] = V2
    isvc["spec"]["canary"] = [{"trafficPercent": 20, "predictor": canary}]
    isvc["status"]["canaryStatuses"] = [{"name": "v2", "ready": canary_ready, "trafficPercent": 20}]
    cond = (
        _cond("CanaryPredictorReady")
        if canary_ready
        else _cond(
            "CanaryPredictorReady", "False", "MinimumReplicasUnavailable", "no ready replicas"
        )
    )
    isvc["status"]["conditions"].append(cond)
    return isvc


@pytest.mark.parametrize(
    ("isvc", "phase", "percent"),
    [
        (knative_stable(), Phase.STABLE, None),
        (knative_rolling(), Phase.ROLLING, 10),
        (knative_failed(), Phase.FAILED, 10),
        (knative_promoted(), Phase.STABLE, None),
        (standard(None), Phase.STABLE, None),
        (standard(True), Phase.ROLLING, 20),
        (standard(False), Phase.FAILED, 20),
    ],
    ids=[
        "kn-ready",
        "kn-rolling",
        "kn-failed",
        "kn-promoted",
        "std-ready",
        "std-rolling",
        "std-failed",
    ],
)
def test_interpret_reads_phase_and_split(isvc: dict[str, Any], phase: Phase, percent: int) -> None:
    state = interpret(isvc)
    assert state.phase is phase
    assert state.canary_percent == percent
    assert sum(s.percent for s in state.splits) == 100


def test_rolling_status_prints_revisions_and_split() -> None:
    text = format_state("heart", interpret(knative_rolling()))
    assert "canary rolling" in text
    assert " 10%  heart-predictor-00002 [latest] (latest)" in text
    assert " 90%  heart-predictor-00001 [prev]" in text
    assert "latestRolledoutRevision" in text


def test_failed_status_explains_the_failure() -> None:
    state = interpret(knative_failed())
    assert "RevisionFailed" in state.reason
    assert "failed" in format_state("heart", state)


def test_start_patches_uri_percent_and_remembers_stable() -> None:
    [patch] = plan_start(knative_stable(), V2, 10)
    assert patch["spec"]["predictor"] == {"canaryTrafficPercent": 10, "model": {"storageUri": V2}}
    assert patch["metadata"]["annotations"][STABLE_URI_ANNOTATION] == V1


def test_start_again_with_the_same_model_reweights() -> None:
    [patch] = plan_start(knative_rolling(10), V2, 50)
    assert patch["spec"]["predictor"]["canaryTrafficPercent"] == 50
    assert patch["metadata"]["annotations"][STABLE_URI_ANNOTATION] == V1


@pytest.mark.parametrize(
    ("isvc", "uri", "percent", "why"),
    [
        (knative_rolling(), "s3://models/heart/v3", 10, "already running"),
        (knative_failed(), "s3://models/heart/v3", 10, "already running"),
        (knative_stable(), V2, 101, "outside 0..100"),
        (knative_stable(), V2, -1, "outside 0..100"),
        (knative_stable(), V1, 10, "already the stable model"),
        (broken_stable(), V2, 10, "not Ready"),
        (standard(None, transformer=True), V2, 10, "skipping the transformer"),
    ],
)
def test_start_refuses_unsafe_transitions(
    isvc: dict[str, Any], uri: str, percent: int, why: str
) -> None:
    with pytest.raises(UnsafeTransitionError, match=why):
        plan_start(isvc, uri, percent)


def test_standard_start_copies_the_predictor_with_the_new_uri() -> None:
    [patch] = plan_start(standard(None), V2, 20)
    [canary] = patch["spec"]["canary"]
    assert canary["trafficPercent"] == 20
    assert canary["predictor"]["model"]["storageUri"] == V2
    assert canary["predictor"]["model"]["runtime"] == "heart-sklearn"
    assert canary["predictor"]["name"] == "canary"


def test_standard_with_transformer_only_with_explicit_bypass() -> None:
    [patch] = plan_start(standard(None, transformer=True), V2, 5, bypass_transformer=True)
    assert patch["spec"]["canary"][0]["trafficPercent"] == 5


def test_promote_drops_the_canary_percent() -> None:
    [patch] = plan_promote(knative_rolling())
    assert patch["spec"]["predictor"] == {"canaryTrafficPercent": None}
    assert patch["metadata"]["annotations"][STABLE_URI_ANNOTATION] is None


def test_standard_promote_moves_the_canary_into_the_predictor() -> None:
    [patch] = plan_promote(standard(True))
    assert patch["spec"]["canary"] == []
    assert patch["spec"]["predictor"]["model"]["storageUri"] == V2
    assert patch["spec"]["predictor"]["name"] == "v2"


@pytest.mark.parametrize(
    ("isvc", "why"),
    [
        (knative_failed(), "not ready"),
        (standard(False), "not ready"),
        (knative_stable(), "nothing to promote"),
        (knative_promoted(), "nothing to promote"),
    ],
)
def test_promote_refuses(isvc: dict[str, Any], why: str) -> None:
    with pytest.raises(UnsafeTransitionError, match=why):
        plan_promote(isvc)


def test_knative_rollback_restores_stable_without_traffic_first() -> None:
    first, second = plan_rollback(knative_failed())
    assert first["spec"]["predictor"] == {"canaryTrafficPercent": 0, "model": {"storageUri": V1}}
    assert second["spec"]["predictor"] == {"canaryTrafficPercent": None}


def test_standard_rollback_removes_the_canary() -> None:
    [patch] = plan_rollback(standard(True))
    assert patch["spec"]["canary"] == []


def test_rollback_refuses_without_canary_or_stable_uri() -> None:
    with pytest.raises(UnsafeTransitionError, match="nothing to roll back"):
        plan_rollback(knative_stable())
    lost = knative_rolling()
    del lost["metadata"]["annotations"][STABLE_URI_ANNOTATION]
    lost["spec"]["predictor"]["model"].pop("storageUri")
    with pytest.raises(UnsafeTransitionError, match="stable model URI is unknown"):
        plan_rollback(lost)


class RecordingApi:
    """A CustomObjectsApi stand-in: returns scripted states, records patches."""

    def __init__(self, states: list[dict[str, Any]]) -> None:
        self.states, self.patches = states, []  # type: list[dict[str, Any]]

    def get_namespaced_custom_object(self, *_args: Any) -> dict[str, Any]:
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]

    def patch_namespaced_custom_object(self, *args: Any) -> dict[str, Any]:
        self.patches.append(args[-1])
        return {}


def _run(argv: list[str], states: list[dict[str, Any]]) -> tuple[int, RecordingApi]:
    api = RecordingApi(states)
    client = IsvcClient("heart", "heart", api, sleep=lambda _s: None, poll_seconds=0)
    args = build_parser().parse_args(argv)
    return run(args, Settings("heart", "heart", 0.05, None), client), api


def test_cli_start_waits_until_the_canary_takes_traffic(capsys: pytest.CaptureFixture[str]) -> None:
    pending = knative_rolling()
    pending["status"]["observedGeneration"] = 1
    code, api = _run(
        ["start", "--model-uri", V2, "--percent", "10"],
        [knative_stable(), pending, knative_rolling()],
    )
    assert code == EXIT_OK
    assert api.patches[0]["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert "10%  heart-predictor-00002" in capsys.readouterr().out


def test_cli_wait_stops_on_a_failed_canary() -> None:
    with pytest.raises(RolloutFailedError, match="RevisionFailed"):
        _run(["start", "--model-uri", V2, "--percent", "10"], [knative_stable(), knative_failed()])


def test_cli_wait_times_out_while_pending() -> None:
    pending = knative_rolling()
    pending["status"]["observedGeneration"] = 1
    with pytest.raises(WaitTimeoutError, match="not Ready after"):
        _run(["promote"], [knative_rolling(), pending])


def test_exit_codes_are_distinct() -> None:
    assert len({EXIT_OK, EXIT_REFUSED, EXIT_TIMEOUT, EXIT_FAILED}) == 4

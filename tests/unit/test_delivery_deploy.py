"""make deploy's guard: applies that KServe would refuse or that would hurt
the live service are refused with the reason (delivery/deploy.py). The live
objects here are shaped as KServe reports them; tests/controlplane runs the
same checks against KServe's own controller."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from delivery.deploy import check
from delivery.patches import UnsafeTransitionError
from tests.unit.test_delivery_canary import V1, V2, knative_promoted, knative_stable, standard

pytestmark = pytest.mark.unit


def desired(uri: str = V1, percent: int | None = None, mode: str = "Knative") -> dict[str, Any]:
    isvc = copy.deepcopy(knative_stable())
    del isvc["status"]
    isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] = mode
    isvc["spec"]["predictor"]["model"]["storageUri"] = uri
    if percent is not None:
        isvc["spec"]["predictor"]["canaryTrafficPercent"] = percent
    return isvc


def test_a_new_service_and_a_reapply_are_fine() -> None:
    check(desired(), None)
    check(desired(), knative_stable())


def test_a_canary_overlay_needs_a_rolled_out_service() -> None:
    with pytest.raises(UnsafeTransitionError, match="does not exist"):
        check(desired(V2, 10), None)
    fresh = knative_stable()
    del fresh["status"]["components"]["predictor"]["latestRolledoutRevision"]
    with pytest.raises(UnsafeTransitionError, match="no rolled-out revision"):
        check(desired(V2, 10), fresh)
    check(desired(V2, 10), knative_stable())


def test_the_deployment_mode_cannot_change() -> None:
    with pytest.raises(UnsafeTransitionError, match="runs in Standard mode"):
        check(desired(), standard(None))


def test_a_reapply_does_not_undo_a_promotion_unless_forced() -> None:
    with pytest.raises(UnsafeTransitionError, match=f"serves {V2}.*back to {V1}"):
        check(desired(V1), knative_promoted())
    check(desired(V1), knative_promoted(), force=True)
    check(desired(V2), knative_promoted())

"""``python -m delivery.deploy OVERLAY``: refuse an apply that would hurt the live service.

``make deploy`` runs it before ``kubectl apply -k OVERLAY``. It renders the
overlay, reads the live InferenceService and refuses (exit 3, with the reason)
when applying would:

- change ``serving.kserve.io/deploymentMode`` of an existing service, which
  KServe's validating webhook denies (inference_service_validation.go
  ``validateDeploymentMode``): delete the service first or use an overlay of
  the same mode;
- set a Knative ``canaryTrafficPercent`` on a service that has no rolled-out
  revision yet (or does not exist): KServe then gives the new model all traffic
  (ksvc_reconciler.go splits only against ``latestRolledoutRevision``); apply
  the base overlay first and wait for Ready;
- put back a stable ``storageUri`` other than the one the live service serves,
  e.g. v1 after ``make promote`` made v2 stable: re-running ``make deploy``
  would silently undo the promotion. ``--force`` (``FORCE=1``) applies anyway.

Exit codes: 0 safe to apply, 3 refused, 6 the cluster cannot be reached,
7 the API server denied the read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from delivery.canary import EXIT_DENIED, EXIT_OK, EXIT_REFUSED, EXIT_UNREACHABLE
from delivery.isvc import MODE_ANNOTATION, deployment_mode, predictor_status, storage_uri
from delivery.kube import DeniedError, IsvcClient, KubeError
from delivery.patches import UnsafeTransitionError
from delivery.render import render
from delivery.state import interpret


def rendered_isvc(overlay: Path) -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all(render(overlay)) if d]
    found = [d for d in docs if d.get("kind") == "InferenceService"]
    if len(found) != 1:
        raise UnsafeTransitionError(f"{overlay} renders {len(found)} InferenceServices, not 1")
    return dict(found[0])


def check(desired: dict[str, Any], live: dict[str, Any] | None, *, force: bool = False) -> None:
    """Raise :class:`UnsafeTransitionError` when applying ``desired`` over ``live`` is unsafe."""
    name = f"{desired['metadata'].get('namespace', 'default')}/{desired['metadata']['name']}"
    percent = desired["spec"].get("predictor", {}).get("canaryTrafficPercent")
    canary = percent is not None and percent < 100 and deployment_mode(desired) == "Knative"
    if live is None:
        if canary:
            raise UnsafeTransitionError(
                f"{name} does not exist: a canary overlay on a new service gives its model all "
                "traffic (KServe splits only against a rolled-out revision). Apply the base "
                "overlay first, wait for Ready, then the canary overlay (or use make canary)"
            )
        return
    _check_mode(name, desired, live)
    if canary:
        if not predictor_status(live).get("latestRolledoutRevision"):
            raise UnsafeTransitionError(
                f"{name} has no rolled-out revision yet: the canary's model would take all "
                "traffic. Wait until the stable version is Ready, then apply the canary overlay"
            )
        return
    _check_promoted(name, desired, live, force)


def _check_mode(name: str, desired: dict[str, Any], live: dict[str, Any]) -> None:
    want, have = deployment_mode(desired), deployment_mode(live)
    if want != have:
        raise UnsafeTransitionError(
            f"{name} runs in {have} mode and the overlay sets {MODE_ANNOTATION}={want}: KServe "
            "refuses to change the deployment mode of an existing InferenceService. Delete it "
            f"first (kubectl delete isvc {desired['metadata']['name']}) or use an overlay in "
            f"{have} mode"
        )


def _check_promoted(name: str, desired: dict[str, Any], live: dict[str, Any], force: bool) -> None:
    want = storage_uri(desired["spec"].get("predictor", {}))
    have = storage_uri(live.get("spec", {}).get("predictor", {}))
    state = interpret(live)
    if force or not want or want == have or state.canary_percent not in (None, 100):
        return
    raise UnsafeTransitionError(
        f"{name} serves {have} (promoted since the overlay was written) and the overlay would "
        f"roll it back to {want}. Put {have} in the overlay's storageUri, or pass --force "
        "(make deploy FORCE=1) to deploy the overlay's model"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m delivery.deploy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("overlay", type=Path, help="the kustomization make deploy applies")
    parser.add_argument("--context", default=None, help="kubeconfig context (default: current)")
    parser.add_argument("--namespace", "-n", default=None, help="default: the overlay's")
    parser.add_argument("--force", action="store_true", help="apply another stable storageUri")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        desired = rendered_isvc(args.overlay)
        meta = desired["metadata"]
        meta["namespace"] = args.namespace or meta.get("namespace", "default")
        client = IsvcClient.connect(meta["name"], meta["namespace"], args.context)
        check(desired, client.get_or_none(), force=args.force)
    except UnsafeTransitionError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except DeniedError as exc:
        print(f"denied: {exc}", file=sys.stderr)
        return EXIT_DENIED
    except KubeError as exc:
        print(f"cluster: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

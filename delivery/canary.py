"""``python -m delivery.canary``: canary rollouts of the heart InferenceService.

    start --model-uri s3://models/heart/v2 --percent 10   new model, 10 % of traffic
    status                                                revisions and traffic split
    promote                                               all traffic to the canary
    rollback                                              all traffic back to stable

Each step patches the InferenceService, waits (``--timeout``) until the
predictor's status shows the change (Knative: a ready latest revision and
the requested traffic split; Standard: the named canary ready with its
weight) and prints the revisions and the split. In Knative mode
``--percent 100`` rolls the model out fully (nothing left to promote).
Unsafe steps are refused with the reason. Exit codes, for automation:

    0  done (or status printed)
    2  usage error (bad flags)
    3  refused: unsafe transition (message says why)
    4  timed out waiting for the change to roll out
    5  the rollout failed (the canary cannot become ready, or KServe moved the
       stable share off the version that served before the canary)
    6  the InferenceService or the cluster cannot be reached
    7  the API server denied the change (an admission webhook's message, a
       schema error or missing permission; printed as the server gave it)

Standard mode (``spec.canary[]``) needs KServe >= v0.21.0, the first release
whose HTTPRoute sends the canary its trafficPercent (kserve/kserve#5912); with
v0.20 the canary Deployment runs but gets no traffic. ``start`` reads the
controller's image tag and refuses an older KServe.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from delivery.isvc import CanaryState, Phase, deployment_mode, stable_revision
from delivery.kube import (
    DeniedError,
    IsvcClient,
    KubeError,
    RolloutFailedError,
    WaitTimeoutError,
)
from delivery.patches import (
    Patch,
    UnsafeTransitionError,
    plan_promote,
    plan_rollback,
    plan_start,
    stable_uri_of,
)
from delivery.rollout import target_for
from delivery.state import interpret

EXIT_OK, EXIT_USAGE, EXIT_REFUSED, EXIT_TIMEOUT, EXIT_FAILED, EXIT_UNREACHABLE = 0, 2, 3, 4, 5, 6
EXIT_DENIED = 7
#: The first KServe release whose HTTPRoute gives Standard canaries their share.
STANDARD_CANARY_MIN_KSERVE = (0, 21, 0)


@dataclass(frozen=True)
class Settings:
    """What every subcommand needs; built once in :func:`main`."""

    name: str
    namespace: str
    timeout: float
    context: str | None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m delivery.canary",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--name", default="heart", help="InferenceService name")
    parser.add_argument("--namespace", "-n", default="heart")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for Ready")
    parser.add_argument("--context", default=None, help="kubeconfig context (default: current)")
    parser.add_argument(
        "--kserve-namespace",
        default="kserve",
        help="where KServe's controller runs (its image tag gives the KServe version)",
    )
    parser.add_argument(
        "--skip-kserve-version-check",
        action="store_true",
        help="Standard mode: start a canary although the controller is older than v0.21.0 "
        "(its Deployment then gets no traffic)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="roll out a new model version to a share of traffic")
    start.add_argument("--model-uri", required=True, help="storageUri of the new model/")
    start.add_argument(
        "--percent",
        type=int,
        required=True,
        help="the canary's share, 0..100 (Knative: 100 rolls the model out fully)",
    )
    start.add_argument(
        "--bypass-transformer",
        action="store_true",
        help="Standard mode only: accept that canary requests skip the transformer",
    )
    sub.add_parser("status", help="print revisions and the traffic split")
    sub.add_parser("promote", help="send all traffic to the canary")
    sub.add_parser("rollback", help="send all traffic back to the stable model")
    return parser


def format_state(name: str, state: CanaryState) -> str:
    """A few lines a person reads: phase, revisions, the traffic split."""
    lines = [
        f"{name}: {state.mode} mode, canary {state.phase.value}, "
        f"Ready={'True' if state.ready else 'False'}"
    ]
    lines += [f"  {key:<26} {value}" for key, value in state.revisions.items()]
    lines.append("  traffic:")
    for split in state.splits or []:
        marker = " (latest)" if split.latest else ""
        tag = f" [{split.tag}]" if split.tag else ""
        lines.append(f"    {split.percent:>3}%  {split.revision}{tag}{marker}")
    if not state.splits:
        lines.append("    (not reported yet)")
    if state.reason:
        lines.append(f"  reason: {state.reason}")
    return "\n".join(lines)


def run(args: argparse.Namespace, settings: Settings, client: IsvcClient) -> int:
    isvc = client.get()
    if args.command == "status":
        print(format_state(settings.name, interpret(isvc)))
        return EXIT_OK
    for patch in _plan(args, isvc, client):
        target = target_for(isvc, patch)
        client.patch(patch)
        isvc = client.wait_ready(settings.timeout, args.command, target)
    print(format_state(settings.name, interpret(isvc)))
    return EXIT_OK


def _plan(args: argparse.Namespace, isvc: dict[str, Any], client: IsvcClient) -> list[Patch]:
    if args.command == "start":
        if deployment_mode(isvc) == "Standard" and not args.skip_kserve_version_check:
            image = client.controller_image(args.kserve_namespace, "kserve-controller-manager")
            check_standard_canary_support(image)
        return plan_start(
            isvc, args.model_uri, args.percent, bypass_transformer=args.bypass_transformer
        )
    if args.command == "promote":
        return plan_promote(isvc)
    return plan_rollback(isvc, _stable_uri(isvc, client))


def check_standard_canary_support(image: str | None) -> None:
    """Refuse a Standard canary on a KServe older than v0.21.0 (no HTTPRoute weights)."""
    tag = image.rsplit(":", 1)[-1] if image and ":" in image else ""
    version = _semver(tag)
    if version is None:
        print(
            f"warning: cannot tell KServe's version (controller image {image or 'not readable'}); "
            "Standard canaries need v0.21.0 or later (kserve/kserve#5912)",
            file=sys.stderr,
        )
        return
    if version < STANDARD_CANARY_MIN_KSERVE:
        raise UnsafeTransitionError(
            f"this cluster runs KServe {tag}: Standard-mode canaries get "
            "their trafficPercent from KServe v0.21.0 on (HTTPRoute weights, kserve/kserve#5912); "
            "before that the canary Deployment runs but receives no traffic. Upgrade KServe, or "
            "pass --skip-kserve-version-check to start it anyway"
        )


def _semver(tag: str) -> tuple[int, int, int] | None:
    parts = tag.lstrip("v").split("-", 1)[0].split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


def _stable_uri(isvc: dict[str, Any], client: IsvcClient) -> str | None:
    """Knative, canary running: the model that served all traffic before the canary.

    That is the newest ready revision serving another model than the canary's
    (each CLI step makes a new revision or promotes the newest one). KServe's
    ``prev`` route normally points to it; when KServe moved its record back
    (see :func:`delivery.rollout.moved_stable`) the route points to an older
    revision, and the rollback says so and restores the model from history.
    """
    if interpret(isvc).phase is Phase.STABLE or deployment_mode(isvc) != "Knative":
        return None
    canary_uri = (isvc.get("spec", {}).get("predictor", {}).get("model") or {}).get("storageUri")
    history = [r for r in client.revisions() if _revision_ready(r)]
    history.sort(key=_generation, reverse=True)
    before = next((r for r in history if stable_uri_of(r) not in (None, canary_uri)), None)
    routed = stable_revision(isvc)
    if before is None:
        return stable_uri_of(client.revision(routed)) if routed else None
    name = before["metadata"]["name"]
    if routed and routed != name:
        print(
            f"note: KServe routes the stable share to {routed}, but {name} "
            f"({stable_uri_of(before)}) served all traffic before the canary: restoring that",
            file=sys.stderr,
        )
    return stable_uri_of(before)


def _revision_ready(revision: dict[str, Any]) -> bool:
    conditions = (revision.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _generation(revision: dict[str, Any]) -> int:
    labels = revision.get("metadata", {}).get("labels") or {}
    value = labels.get("serving.knative.dev/configurationGeneration", "0")
    return int(value) if value.isdigit() else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings(args.name, args.namespace, args.timeout, args.context)
    try:
        client = IsvcClient.connect(settings.name, settings.namespace, settings.context)
        return run(args, settings, client)
    except tuple(_FAILURES) as exc:
        prefix, code = next(v for kind, v in _FAILURES.items() if isinstance(exc, kind))
        print(f"{prefix}: {exc}", file=sys.stderr)
        return code


#: Each documented failure: the message prefix and the exit code (README, cluster).
_FAILURES: dict[type[Exception], tuple[str, int]] = {
    UnsafeTransitionError: ("refused", EXIT_REFUSED),
    WaitTimeoutError: ("timeout", EXIT_TIMEOUT),
    RolloutFailedError: ("rollout failed", EXIT_FAILED),
    KubeError: ("cluster", EXIT_UNREACHABLE),
    DeniedError: ("denied", EXIT_DENIED),
}


if __name__ == "__main__":
    sys.exit(main())

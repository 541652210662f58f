"""The InferenceService through the ``kubernetes`` client: get, patch, wait."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from delivery.rollout import Target, failure, settled, workload_failure
from delivery.state import interpret

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
KNATIVE = ("serving.knative.dev", "v1", "revisions")


class KubeError(Exception):
    """The cluster or the object cannot be reached."""


class DeniedError(Exception):
    """The API server refused the request: an admission webhook's denial, a
    validation error or missing permission. The message is the server's."""


class WaitTimeoutError(Exception):
    """The InferenceService did not become Ready in time."""


class RolloutFailedError(Exception):
    """The canary cannot become ready (failed revision, model load failure)."""


@dataclass
class IsvcClient:
    name: str
    namespace: str
    api: Any  # kubernetes.client.CustomObjectsApi
    apps: Any = None  # kubernetes.client.AppsV1Api (Standard mode: the canary Deployment)
    core: Any = None  # kubernetes.client.CoreV1Api (Standard mode: its pods)
    sleep: Callable[[float], None] = time.sleep
    poll_seconds: float = 3.0

    @classmethod
    def connect(cls, name: str, namespace: str, context: str | None = None) -> IsvcClient:
        from kubernetes import client, config

        try:
            config.load_kube_config(context=context)
        except Exception:
            try:
                config.load_incluster_config()
            except Exception as exc:
                raise KubeError(f"no kubeconfig or in-cluster config: {exc}") from exc
        apis = client.CustomObjectsApi(), client.AppsV1Api(), client.CoreV1Api()
        return cls(name, namespace, *apis)

    def get(self) -> dict[str, Any]:
        return self._call(self.api.get_namespaced_custom_object, GROUP, VERSION, PLURAL, self.name)

    def get_or_none(self) -> dict[str, Any] | None:
        """The InferenceService, or None when it does not exist."""
        try:
            return self.get()
        except KubeError as exc:
            if isinstance(exc.__cause__, Exception) and getattr(exc.__cause__, "status", 0) == 404:
                return None
            raise

    def patch(self, body: dict[str, Any]) -> dict[str, Any]:
        """A JSON merge patch (the client picks merge-patch for a dict body)."""
        method = self.api.patch_namespaced_custom_object
        return self._call(method, GROUP, VERSION, PLURAL, self.name, body=body)

    def revision(self, name: str) -> dict[str, Any]:
        """A Knative Revision of the predictor (where KServe records its storageUri)."""
        return self._call(self.api.get_namespaced_custom_object, *KNATIVE, name)

    def revisions(self) -> list[dict[str, Any]]:
        """The predictor's Knative Revisions (Knative labels each with its Service)."""
        group, version, plural = KNATIVE
        selector = f"serving.knative.dev/service={self.name}-predictor"

        def listed() -> Any:
            return self.api.list_namespaced_custom_object(
                group, version, self.namespace, plural, label_selector=selector
            )

        found = _guard(f"revisions of {self.name}-predictor", listed)
        return list(found.get("items") or [])

    def workload(self, deployment: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """Standard mode: a Deployment and its pods, as dicts (None if absent)."""
        from kubernetes.client.exceptions import ApiException

        try:
            found = self.apps.read_namespaced_deployment(deployment, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None, []
            raise _api_error(f"deployments {self.namespace}/{deployment}", exc) from exc
        client = self.apps.api_client
        dep = client.sanitize_for_serialization(found)
        labels = (dep.get("spec", {}).get("selector") or {}).get("matchLabels") or {}
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        pods = _guard(
            f"pods of {deployment}",
            lambda: self.core.list_namespaced_pod(self.namespace, label_selector=selector),
        )
        return dep, [client.sanitize_for_serialization(p) for p in pods.items]

    def controller_image(self, namespace: str, deployment: str) -> str | None:
        """The image of KServe's controller Deployment, or None if it cannot be read."""
        from kubernetes.client.exceptions import ApiException

        try:
            found = self.apps.read_namespaced_deployment(deployment, namespace)
        except (ApiException, OSError):
            return None
        containers = found.spec.template.spec.containers or []
        return next((c.image for c in containers if c.name == "manager"), None) or (
            containers[0].image if containers else None
        )

    def _call(self, method: Callable[..., Any], *where: str, body: Any = None) -> dict[str, Any]:
        """``method(group, version, namespace, plural, name[, body])``."""
        group, version, plural, name = where
        extra = () if body is None else (body,)
        found = _guard(
            f"{plural} {self.namespace}/{name}",
            lambda: method(group, version, self.namespace, plural, name, *extra),
        )
        return dict(found)

    def wait_ready(self, timeout: float, step: str, target: Target) -> dict[str, Any]:
        """Poll until the predictor's status shows ``target`` and the service is
        Ready; stop early when the rollout has failed."""
        deadline = time.monotonic() + timeout
        while True:
            isvc = self.get()
            reason = failure(isvc, target) or self._canary_workload_failure(target)
            if reason:
                raise RolloutFailedError(f"{step}: {reason}")
            if settled(isvc, target):
                return isvc
            if time.monotonic() >= deadline:
                state = interpret(isvc)
                raise WaitTimeoutError(
                    f"{step}: not rolled out after {timeout:.0f}s (phase {state.phase.value}"
                    f"{', ' + state.reason if state.reason else ''})"
                )
            self.sleep(self.poll_seconds)

    def _canary_workload_failure(self, target: Target) -> str | None:
        if target.mode != "Standard" or not target.canary or self.apps is None:
            return None
        deployment, pods = self.workload(_canary_deployment(self.name, target.canary))
        return workload_failure(deployment, pods)


def _canary_deployment(isvc_name: str, canary: str) -> str:
    """KServe's name for a canary's Deployment (constants.PredictorServiceName)."""
    return f"{isvc_name}-{canary}-predictor"


def _guard(what: str, call: Callable[[], Any]) -> Any:
    """Run an API call; map its failures to :class:`DeniedError` / :class:`KubeError`."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        result = call()
    except ApiException as exc:
        raise _api_error(what, exc) from exc
    except (HTTPError, OSError) as exc:  # urllib3's MaxRetryError when nothing answers
        raise KubeError(f"cannot reach the cluster: {_short(exc)}") from exc
    return dict(result) if isinstance(result, dict) else result


#: Statuses with which the API server refuses a request it understood: an
#: admission webhook's denial (400 for a validating webhook's error, 403 for
#: "admission webhook ... denied the request" or RBAC), a conflict, or an
#: object its schema rejects (422 Invalid).
DENIED_STATUSES = {400, 403, 409, 422}


def _api_error(what: str, exc: Any) -> Exception:
    """The server's own message (a metav1.Status body) rather than the reason phrase."""
    message = api_message(exc)
    if exc.status in DENIED_STATUSES:
        return DeniedError(f"{what}: {exc.status} {message}")
    return KubeError(f"{what}: {exc.status} {message}")


def api_message(exc: Any) -> str:
    import json

    try:
        body = json.loads(exc.body or "")
    except (TypeError, ValueError):
        return str(exc.reason or "")
    return str(body.get("message") or exc.reason or "") if isinstance(body, dict) else ""


def _short(exc: BaseException) -> str:
    """urllib3 wraps the cause (connection refused, DNS) in a long message."""
    reason = getattr(exc, "reason", None)
    return f"{reason}" if reason else f"{exc}"

"""The InferenceService through the ``kubernetes`` client: get, patch, wait."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from delivery.rollout import Target, failure, settled
from delivery.state import interpret

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
KNATIVE = ("serving.knative.dev", "v1", "revisions")


class KubeError(Exception):
    """The cluster or the object cannot be reached."""


class WaitTimeoutError(Exception):
    """The InferenceService did not become Ready in time."""


class RolloutFailedError(Exception):
    """The canary cannot become ready (failed revision, model load failure)."""


@dataclass
class IsvcClient:
    name: str
    namespace: str
    api: Any  # kubernetes.client.CustomObjectsApi
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
        return cls(name, namespace, client.CustomObjectsApi())

    def get(self) -> dict[str, Any]:
        return self._call(self.api.get_namespaced_custom_object, GROUP, VERSION, PLURAL, self.name)

    def patch(self, body: dict[str, Any]) -> dict[str, Any]:
        """A JSON merge patch (the client picks merge-patch for a dict body)."""
        method = self.api.patch_namespaced_custom_object
        return self._call(method, GROUP, VERSION, PLURAL, self.name, body=body)

    def revision(self, name: str) -> dict[str, Any]:
        """A Knative Revision of the predictor (where KServe records its storageUri)."""
        return self._call(self.api.get_namespaced_custom_object, *KNATIVE, name)

    def _call(self, method: Callable[..., Any], *where: str, body: Any = None) -> dict[str, Any]:
        """``method(group, version, namespace, plural, name[, body])``."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        group, version, plural, name = where
        extra = () if body is None else (body,)
        try:
            return dict(method(group, version, self.namespace, plural, name, *extra))
        except ApiException as exc:
            raise KubeError(f"{plural} {self.namespace}/{name}: {exc.status} {exc.reason}") from exc
        except (HTTPError, OSError) as exc:  # urllib3's MaxRetryError when nothing answers
            raise KubeError(f"cannot reach the cluster: {_short(exc)}") from exc

    def wait_ready(self, timeout: float, step: str, target: Target) -> dict[str, Any]:
        """Poll until the predictor's status shows ``target`` and the service is
        Ready; stop early when the rollout has failed."""
        deadline = time.monotonic() + timeout
        while True:
            isvc = self.get()
            reason = failure(isvc, target)
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


def _short(exc: BaseException) -> str:
    """urllib3 wraps the cause (connection refused, DNS) in a long message."""
    reason = getattr(exc, "reason", None)
    return f"{reason}" if reason else f"{exc}"

"""The InferenceService through the ``kubernetes`` client: get, patch, wait."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from delivery.isvc import Phase, interpret, is_current

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"


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
        return self._call(self.api.get_namespaced_custom_object)

    def patch(self, body: dict[str, Any]) -> dict[str, Any]:
        """A JSON merge patch (the client picks merge-patch for a dict body)."""
        return self._call(self.api.patch_namespaced_custom_object, body)

    def _call(self, method: Callable[..., Any], *body: Any) -> dict[str, Any]:
        from kubernetes.client.exceptions import ApiException

        try:
            return dict(method(GROUP, VERSION, self.namespace, PLURAL, self.name, *body))
        except ApiException as exc:
            raise KubeError(f"{self.namespace}/{self.name}: {exc.status} {exc.reason}") from exc
        except OSError as exc:
            raise KubeError(f"cannot reach the cluster: {exc}") from exc

    def wait_ready(self, timeout: float, step: str) -> dict[str, Any]:
        """Poll until the controller has seen the patch and the service is
        Ready with the canary settled; stop early on a failed canary."""
        deadline = time.monotonic() + timeout
        while True:
            isvc = self.get()
            state = interpret(isvc)
            if is_current(isvc) and state.phase is Phase.FAILED:
                raise RolloutFailedError(f"{step}: {state.reason or 'canary failed'}")
            if is_current(isvc) and state.ready and state.phase is not Phase.PENDING:
                return isvc
            if time.monotonic() >= deadline:
                raise WaitTimeoutError(
                    f"{step}: not Ready after {timeout:.0f}s (phase {state.phase.value}"
                    f"{', ' + state.reason if state.reason else ''})"
                )
            self.sleep(self.poll_seconds)

"""The one place where a test plays the kubelet (no node runs containers here).

Pods are created for real: by kube-controller-manager's ReplicaSet controller
for KServe's Standard-mode Deployments (through KServe's pod mutating webhook,
which adds the storage initializer with the model URI), and by KubeRay's
operator for Ray clusters. This thread writes what a kubelet would report in
each pod's status, through the ``pods/status`` subresource as the kubelet does
(k8s.io/kubernetes pkg/kubelet/status/status_manager.go), nothing else:

- a pod whose model is fine: phase Running, ``PodScheduled``, ``Initialized``,
  ``ContainersReady`` and ``Ready`` True, every container running and ready
  (k8s.io/api core/v1 types.go PodStatus, ContainerStatus);
- a pod whose model URI is in :attr:`KubeletPlayer.failing` (read from the
  storage initializer's arguments, as KServe's webhook writes them): its
  ``kserve-container`` waiting in ``CrashLoopBackOff`` with the last
  termination's message and a restart count, the pod not Ready (the state
  ``kubectl describe`` shows for a server that exits at start-up).

The controllers then do their own work from it: the ReplicaSet and Deployment
controllers count ready replicas, KServe reads the Deployment.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

STORAGE_INITIALIZER = "storage-initializer"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def model_uri(pod: Any) -> str | None:
    """The URI KServe's storage initializer downloads (its first argument)."""
    for container in pod.spec.init_containers or []:
        if container.name == STORAGE_INITIALIZER and container.args:
            return str(container.args[0])
    return None


class KubeletPlayer:
    def __init__(self, core: Any) -> None:
        self.core = core  # kubernetes.client.CoreV1Api
        #: model URI -> the message its server exits with.
        self.failing: dict[str, str] = {}
        self._done: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kubelet-player", daemon=True)
        self.errors: list[str] = []

    def start(self) -> KubeletPlayer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                for pod in self.core.list_pod_for_all_namespaces().items:
                    self._report(pod)
            except Exception as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self._stop.wait(0.2)

    def _report(self, pod: Any) -> None:
        uid = pod.metadata.uid
        failing = self.failing.get(model_uri(pod) or "")
        state = "failing" if failing else "ready"
        if self._done.get(uid) == state or pod.metadata.deletion_timestamp:
            return
        status = self._failing(pod, failing) if failing else self._ready(pod)
        try:
            self.core.patch_namespaced_pod_status(
                pod.metadata.name, pod.metadata.namespace, {"status": status}
            )
        except Exception as exc:
            if getattr(exc, "status", None) != 404:  # deleted meanwhile
                raise
        self._done[uid] = state

    def _ready(self, pod: Any) -> dict[str, Any]:
        now = _now()
        return {
            "phase": "Running",
            "podIP": "10.244.0.10",
            "hostIP": "10.89.0.2",
            "startTime": now,
            "conditions": [
                {"type": kind, "status": "True", "lastTransitionTime": now}
                for kind in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
            ],
            "initContainerStatuses": [
                _terminated_ok(c) for c in pod.spec.init_containers or []
            ],
            "containerStatuses": [
                {"name": c.name, "image": c.image, "imageID": "", "ready": True,
                 "restartCount": 0, "started": True, "state": {"running": {"startedAt": now}}}
                for c in pod.spec.containers
            ],
        }  # fmt: skip

    def _failing(self, pod: Any, message: str) -> dict[str, Any]:
        now = _now()
        conditions = [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
            {"type": "Initialized", "status": "True", "lastTransitionTime": now},
        ]
        conditions += [
            {"type": kind, "status": "False", "reason": "ContainersNotReady",
             "message": "containers with unready status: [kserve-container]",
             "lastTransitionTime": now}
            for kind in ("ContainersReady", "Ready")
        ]  # fmt: skip
        return {
            "phase": "Running",
            "startTime": now,
            "conditions": conditions,
            "initContainerStatuses": [
                _terminated_ok(c) for c in pod.spec.init_containers or []
            ],
            "containerStatuses": [
                {"name": c.name, "image": c.image, "imageID": "", "ready": False,
                 "restartCount": 3, "started": False,
                 "state": {"waiting": {"reason": "CrashLoopBackOff", "message": _backoff(c.name)}},
                 "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                              "message": message, "startedAt": now,
                                              "finishedAt": now}}}
                for c in pod.spec.containers
            ],
        }  # fmt: skip


def _backoff(container: str) -> str:
    return f"back-off 40s restarting failed container={container}"


def _terminated_ok(container: Any) -> dict[str, Any]:
    now = _now()
    return {
        "name": container.name,
        "image": container.image,
        "imageID": "",
        "ready": True,
        "restartCount": 0,
        "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                                 "startedAt": now, "finishedAt": now}},
    }  # fmt: skip

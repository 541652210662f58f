"""The one place where a test plays a system: Knative Serving's controller.

KServe's real controller creates the Knative Services (``serving.knative.dev/v1``,
CRDs from knative.dev/serving v0.48.1 = knative-v1.21.1); no Knative controller
runs here, so this thread does what Knative's would and nothing more: it
creates the Revisions of each Service and writes the Service's status, from
which KServe's own status propagation fills the InferenceService
(``PropagateStatus``, kserve v0.20.0 pkg/apis/serving/v1beta1/
inference_service_status.go). Nothing here writes an InferenceService.

What it writes, and the Knative source it follows (knative.dev/serving v0.48.1):

- A Revision per change of ``spec.template``, named ``<service>-<5-digit
  configuration generation>``, with the template's labels and annotations plus
  the configuration labels (pkg/reconciler/configuration/resources/revision.go
  ``MakeRevision``, ``updateRevisionLabels``).
- ``latestCreatedRevisionName`` when the Revision is created,
  ``latestReadyRevisionName`` when it becomes ready; ``ConfigurationsReady``
  Unknown while the latest is not ready, False with reason ``RevisionFailed``
  and message ``Revision "<name>" failed with message: <msg>.`` when it fails
  (pkg/apis/serving/v1/configuration_lifecycle.go ``SetLatestCreatedRevisionName``,
  ``SetLatestReadyRevisionName``, ``MarkLatestCreatedFailed``).
- ``status.traffic``: the spec's targets, a ``latestRevision`` target resolved
  to the Configuration's latest *ready* revision, tagged targets with their
  URL (pkg/reconciler/route/traffic/traffic.go ``GetRevisionTrafficTargets``,
  ``targetToStatus``); ``RoutesReady`` once every target has a ready revision.
- The Service's ``ConfigurationsReady`` and ``RoutesReady`` are propagated
  separately: the Configuration's fields only once it has observed the new
  generation (else ``OutOfDate``), the Route's whenever it has reconciled
  (pkg/reconciler/service/service.go ``ReconcileKind`` ~86 and ~122,
  pkg/apis/serving/v1/service_lifecycle.go ``MarkConfigurationNotReconciled``,
  ``PropagateConfigurationStatus``, ``PropagateRouteStatus``). So the Route can
  show the new traffic while the Configuration has not yet created the new
  Revision: :attr:`KnativePlayer.route_first` plays that order.
- ``Ready`` is the conjunction of the two (serviceCondSet), ``url`` is
  ``http://<name>.<namespace>.example.com`` (kind/install.sh config-domain),
  ``address.url`` the cluster-local name.

Whether a Revision becomes ready is the test's choice (the pods that would
decide are not run): by default every revision does; a storageUri listed in
:attr:`KnativePlayer.failing` makes it fail with the given message, as a
revision whose model is refused never becomes ready and Knative fails it at
its progress deadline.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GROUP, VERSION = "serving.knative.dev", "v1"
SOURCE_URI = "internal.serving.kserve.io/storage-initializer-sourceuri"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _condition(kind: str, status: str, reason: str = "", message: str = "") -> dict[str, Any]:
    cond = {"type": kind, "status": status, "lastTransitionTime": _now()}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


@dataclass
class _Revision:
    name: str
    generation: int
    uri: str | None
    state: str = "pending"  # pending | ready | failed
    message: str = ""
    created_at: float = field(default_factory=time.monotonic)


@dataclass
class _Service:
    """What Knative's Configuration and Route keep for one Service."""

    template: dict[str, Any] | None = None
    config_generation: int = 0
    revisions: list[_Revision] = field(default_factory=list)
    config_observed: bool = True
    changed_at: float = 0.0
    latest_ready: str = ""
    written: dict[str, Any] | None = None

    @property
    def latest_created(self) -> str:
        return self.revisions[-1].name if self.revisions else ""


class KnativePlayer:
    """Runs in a thread; :meth:`stop` ends it."""

    def __init__(self, api: Any, step_seconds: float = 0.6) -> None:
        self.api = api  # kubernetes.client.CustomObjectsApi
        self.step_seconds = step_seconds
        #: storageUri -> the message its revisions fail with.
        self.failing: dict[str, str] = {}
        #: Play the Route reconciling a new spec before the Configuration
        #: (service.go ~86/~122): the new traffic, resolved against the old
        #: latest ready revision, for one step before the Revision exists.
        self.route_first = False
        self._services: dict[tuple[str, str], _Service] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="knative-player", daemon=True)
        self.errors: list[str] = []

    def start(self) -> KnativePlayer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception as exc:  # keep playing; tests read .errors
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self._stop.wait(0.1)

    def _tick(self) -> None:
        listed = self.api.list_cluster_custom_object(GROUP, VERSION, "services")
        seen = set()
        for ksvc in listed.get("items", []):
            key = (ksvc["metadata"]["namespace"], ksvc["metadata"]["name"])
            seen.add(key)
            if ksvc["metadata"].get("deletionTimestamp"):
                continue
            try:
                self._reconcile(ksvc, self._services.setdefault(key, _Service()))
            except Exception as exc:
                if not _gone(exc):
                    raise
        for key in set(self._services) - seen:
            del self._services[key]

    # ---- Configuration --------------------------------------------------------
    def _reconcile(self, ksvc: dict[str, Any], svc: _Service) -> None:
        template = ksvc["spec"].get("template") or {}
        now = time.monotonic()
        if template != svc.template:
            svc.template = copy.deepcopy(template)
            svc.config_generation += 1
            svc.config_observed = False
            svc.changed_at = now
        if not svc.config_observed and (
            not self.route_first or now - svc.changed_at >= self.step_seconds
        ):
            svc.revisions.append(self._create_revision(ksvc, svc))
            svc.config_observed = True
        for revision in svc.revisions:
            if revision.state == "pending" and now - revision.created_at >= self.step_seconds:
                failing = self.failing.get(revision.uri or "")
                revision.state = "failed" if failing else "ready"
                revision.message = failing or ""
                self._write_revision_status(ksvc, revision)
        ready = [r.name for r in svc.revisions if r.state == "ready"]
        svc.latest_ready = ready[-1] if ready else ""
        status = self._service_status(ksvc, svc)
        if status != svc.written:
            body = {"status": {**status, "observedGeneration": ksvc["metadata"]["generation"]}}
            ns, name = ksvc["metadata"]["namespace"], ksvc["metadata"]["name"]
            self.api.patch_namespaced_custom_object_status(
                GROUP, VERSION, ns, "services", name, body
            )
            svc.written = status

    def _create_revision(self, ksvc: dict[str, Any], svc: _Service) -> _Revision:
        meta = ksvc["metadata"]
        template = copy.deepcopy(svc.template or {})
        tmeta = template.get("metadata") or {}
        name = f"{meta['name']}-{svc.config_generation:05d}"
        labels = {
            **(tmeta.get("labels") or {}),
            "serving.knative.dev/configuration": meta["name"],
            "serving.knative.dev/service": meta["name"],
            "serving.knative.dev/configurationGeneration": str(svc.config_generation),
        }
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Revision",
            "metadata": {
                "name": name,
                "namespace": meta["namespace"],
                "labels": labels,
                "annotations": tmeta.get("annotations") or {},
                "ownerReferences": [_owner(ksvc)],
            },
            "spec": template.get("spec") or {},
        }
        self.api.create_namespaced_custom_object(
            GROUP, VERSION, meta["namespace"], "revisions", body
        )
        uri = (tmeta.get("annotations") or {}).get(SOURCE_URI)
        return _Revision(name, svc.config_generation, uri)

    def _write_revision_status(self, ksvc: dict[str, Any], revision: _Revision) -> None:
        """pkg/apis/serving/v1/revision_lifecycle.go: Ready True, or False with
        the failure (ProgressDeadlineExceeded for pods that never get ready)."""
        if revision.state == "ready":
            conditions = [_condition("Ready", "True")]
        else:
            conditions = [
                _condition("Ready", "False", "ProgressDeadlineExceeded", revision.message)
            ]
        body = {"status": {"conditions": conditions, "observedGeneration": 1}}
        self.api.patch_namespaced_custom_object_status(
            GROUP, VERSION, ksvc["metadata"]["namespace"], "revisions", revision.name, body
        )

    # ---- Service status ------------------------------------------------------
    def _service_status(self, ksvc: dict[str, Any], svc: _Service) -> dict[str, Any]:
        config_cond = self._configuration_condition(svc)
        traffic, routes_ready = self._route(ksvc, svc)
        routes_cond = (
            _condition("RoutesReady", "True")
            if routes_ready
            else _condition("RoutesReady", "Unknown", "RevisionMissing",
                            "Configuration is waiting for a Revision to become ready.")
        )  # fmt: skip
        statuses = [c["status"] for c in (config_cond, routes_cond)]
        if "False" in statuses:
            failed = config_cond if config_cond["status"] == "False" else routes_cond
            ready = _condition(
                "Ready", "False", failed.get("reason", ""), failed.get("message", "")
            )
        elif "Unknown" in statuses:
            pending = config_cond if config_cond["status"] == "Unknown" else routes_cond
            ready = _condition(
                "Ready", "Unknown", pending.get("reason", ""), pending.get("message", "")
            )
        else:
            ready = _condition("Ready", "True")
        ns, name = ksvc["metadata"]["namespace"], ksvc["metadata"]["name"]
        status: dict[str, Any] = {
            "conditions": [config_cond, ready, routes_cond],
            "latestCreatedRevisionName": svc.latest_created,
            "latestReadyRevisionName": svc.latest_ready,
            "traffic": traffic,
        }
        if routes_ready:
            status["url"] = f"http://{name}.{ns}.example.com"
            status["address"] = {"url": f"http://{name}.{ns}.svc.cluster.local"}
        return {k: v for k, v in status.items() if v not in ("", None)}

    def _configuration_condition(self, svc: _Service) -> dict[str, Any]:
        if not svc.config_observed:
            return _condition(
                "ConfigurationsReady", "Unknown", "OutOfDate",
                "The Configuration is still working to reflect the latest desired specification.",
            )  # fmt: skip
        latest = svc.revisions[-1]
        if latest.state == "failed":
            return _condition(
                "ConfigurationsReady", "False", "RevisionFailed",
                f'Revision "{latest.name}" failed with message: {latest.message}.',
            )  # fmt: skip
        if latest.state == "pending":
            return _condition("ConfigurationsReady", "Unknown")
        return _condition("ConfigurationsReady", "True")

    def _route(self, ksvc: dict[str, Any], svc: _Service) -> tuple[list[dict[str, Any]], bool]:
        ready = {r.name for r in svc.revisions if r.state == "ready"}
        ns, name = ksvc["metadata"]["namespace"], ksvc["metadata"]["name"]
        traffic, ok = [], True
        for target in ksvc["spec"].get("traffic") or []:
            latest = bool(target.get("latestRevision"))
            revision = svc.latest_ready if latest else target.get("revisionName", "")
            ok = ok and revision in ready
            entry: dict[str, Any] = {
                "revisionName": revision,
                "latestRevision": latest,
                "percent": int(target.get("percent", 0)),
            }
            if target.get("tag"):
                entry["tag"] = target["tag"]
                entry["url"] = f"http://{target['tag']}-{name}.{ns}.example.com"
            if revision:
                traffic.append(entry)
        return (traffic, ok and bool(traffic))


def _gone(exc: Exception) -> bool:
    """The Service was deleted meanwhile, or its namespace is being deleted."""
    status, body = getattr(exc, "status", None), str(getattr(exc, "body", ""))
    return status == 404 or (status == 403 and "NamespaceTerminating" in body)


def _owner(ksvc: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Service",
        "name": ksvc["metadata"]["name"],
        "uid": ksvc["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }

"""Model versions: the loaded version is served on the version routes, any other is 404.

A model advertises what it serves in ``metadata_extras()['versions']`` (the
predictor: ``model.json``'s version; the transformer: its predictor's). The
Open Inference Protocol names a version in the REST path
(``/v2/models/{name}/versions/{version}[/ready|/infer]``) and in the gRPC
``version`` / ``model_version`` fields; KServe 0.21 answers all of those 501
(REST) or ignores the version (gRPC). :func:`check` accepts a request for an
advertised version (or none), refuses any other with :class:`UnknownVersionError`
(404 / NOT_FOUND) and a model that cannot say yet with
:class:`serving.errors.NotReadyError` (503 / UNAVAILABLE).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from grpc import StatusCode
from kserve.protocol.dataplane import DataPlane

from serving.errors import NotReadyError, ServingError

#: Longest version string quoted back (it comes from the client).
_SHOWN = 40


class UnknownVersionError(ServingError):
    """A version this server does not serve."""

    status = HTTPStatus.NOT_FOUND
    grpc_code = StatusCode.NOT_FOUND


def served(model: Any) -> list[str]:
    """The versions ``model`` advertises in its metadata."""
    extras = getattr(model, "metadata_extras", None)
    return [str(v) for v in (extras() if extras else {}).get("versions", [])]


def check(dataplane: DataPlane, model_name: str, version: str | None) -> None:
    """Return when ``version`` (None or "" = any) is served by ``model_name``; raise otherwise.

    An unknown model raises KServe's ``ModelNotFound`` (404 / NOT_FOUND).
    """
    model = dataplane.get_model_from_registry(model_name)
    if not version:
        return
    versions = served(model)
    if version in versions:
        return
    if not versions and not getattr(model, "ready", False):
        reason = getattr(model, "not_ready_reason", "") or "it is not loaded"
        raise NotReadyError(f"model {model_name} is not ready: {reason}")
    shown = version if len(version) <= _SHOWN else version[:_SHOWN] + "..."
    raise UnknownVersionError(
        f"model {model_name} has no version {shown!r}: it serves {versions or 'no versions'}"
    )

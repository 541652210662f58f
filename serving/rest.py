"""Our REST answers: readiness with reasons, metadata with parameters, errors as KServe's JSON.

Plain functions over KServe's public data plane; :class:`serving.kserve_adapter.BoundRESTServer`
registers them (ours first, so they take precedence over KServe's routes). They:

- answer bad bodies (malformed JSON, not v2) with 400, not FastAPI's 422;
- say *why* a model is not ready (readiness routes and 503 bodies), without
  logging every probe;
- answer our errors with their status and body (a bad request lists its
  problems) and log counts and field names of bad requests, never a value;
- serve model metadata with ``versions`` and ``parameters`` (contract hash,
  model version, feature order) that KServe's response model would drop;
- aggregate ``/metrics`` across uvicorn workers (``PROMETHEUS_MULTIPROC_DIR``),
  then let the model derive values from the sums (``derive_metrics``: the
  transformer's drift scores are computed from every worker's window).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.exceptions import FastAPIDeprecationWarning, RequestValidationError
from fastapi.responses import JSONResponse
from kserve.errors import InvalidInput, ModelNotFound, ModelNotReady
from kserve.logging import logger
from kserve.protocol.dataplane import DataPlane
from prometheus_client import REGISTRY, CollectorRegistry, exposition, multiprocess
from prometheus_client.metrics_core import Metric
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving import errors, request_id, telemetry
from serving.errors import InvalidRequestError, ServingError

#: Rewrites the collected metric families (sums over workers) before exposition.
Derive = Callable[[list[Metric]], Iterable[Metric]]


def silence_fastapi_deprecations() -> None:
    """KServe builds ORJSONResponse per request; FastAPI >= 0.128 warns each time."""
    warnings.filterwarnings("ignore", category=FastAPIDeprecationWarning)


def loggable(message: str, limit: int = 300) -> str:
    """KServe's own 400 messages, bounded (ours log counts and fields only)."""
    return message if len(message) <= limit else message[:limit] + f"... ({len(message)} chars)"


def not_ready_reason(dataplane: DataPlane, name: str) -> str:
    model = dataplane.model_registry.get_model(name)
    return str(getattr(model, "not_ready_reason", "") or "")


def not_ready(dataplane: DataPlane, name: str) -> JSONResponse:
    """503 with the reason; not logged (probes ask every few seconds; load logged it)."""
    reason = not_ready_reason(dataplane, name)
    message = f"{ModelNotReady(name)}{' ' + reason if reason else ''}"
    return JSONResponse(status_code=503, content={"error": message})


def metrics_response(
    request: Request, metrics_dir: str | None, derive: Derive | None = None
) -> Response:
    """Prometheus exposition, summed over every worker process when ``metrics_dir`` is set.

    ``derive`` (a model's ``derive_metrics``) rewrites the families after the
    sum, so that values computed from several counts are computed once from
    every worker's counts.
    """
    source: Any = REGISTRY
    if metrics_dir:
        source = multiprocess.MultiProcessCollector(None, path=metrics_dir)
    registry: Any = source
    if derive is not None:
        registry = CollectorRegistry()
        registry.register(_Derived(source, derive))
    encoder, content_type = exposition.choose_encoder(request.headers.get("accept", ""))
    return Response(content=encoder(registry), headers={"content-type": content_type})


def model_deriver(dataplane: DataPlane) -> Derive | None:
    """The ``derive_metrics`` of the first model that has one."""
    for name in dataplane.model_registry.get_models():
        derive = getattr(dataplane.model_registry.get_model(name), "derive_metrics", None)
        if derive is not None:
            return derive  # type: ignore[no-any-return]
    return None


class _Derived:
    """A collector yielding ``derive(source's families)``."""

    def __init__(self, source: Any, derive: Derive) -> None:
        self.source = source
        self.derive = derive

    def collect(self) -> Iterable[Metric]:
        return self.derive(list(self.source.collect()))


async def server_ready(dataplane: DataPlane) -> JSONResponse:
    if not dataplane.model_registry.get_models():
        return JSONResponse(status_code=503, content={"error": "no model is loaded"})
    for name in dataplane.model_registry.get_models():
        if not await dataplane.model_registry.is_model_ready(name):
            return not_ready(dataplane, name)
    return JSONResponse({"ready": True})


async def model_ready(dataplane: DataPlane, model_name: str) -> JSONResponse:
    if not await dataplane.model_ready(model_name):
        return not_ready(dataplane, model_name)
    return JSONResponse({"name": model_name, "ready": True})


async def metadata(dataplane: DataPlane, model_name: str) -> JSONResponse:
    """KServe's metadata plus the model's ``metadata_extras()`` (versions, parameters)."""
    body = await dataplane.model_metadata(model_name)
    model = dataplane.model_registry.get_model(model_name)
    extras = getattr(model, "metadata_extras", None)
    return JSONResponse({**body, **(extras() if extras else {})})


def without_nulls(result: Any, sub_response: Response) -> Any:
    """A v2 JSON answer without ``null`` fields (the OpenAPI document has no nullable one).

    KServe returns its pydantic ``InferenceResponse``, which FastAPI writes
    with ``"parameters": null`` on every output and ``"model_version": null``
    when there is none. A binary answer (already a ``Response``) passes as it is.
    """
    if not isinstance(result, BaseModel):
        return result
    body = orjson.dumps(result.model_dump(exclude_none=True))
    response = Response(content=body, media_type="application/json")
    for key, value in sub_response.headers.items():
        if key not in ("content-length", "content-type"):
            response.headers[key] = value
    return response


async def not_v2_handler(_: Request, exc: RequestValidationError) -> JSONResponse:
    # The v2 route also accepts raw bytes; that alternative's complaint is noise.
    errors = [e for e in exc.errors() if tuple(e.get("loc", ()))[-1:] != ("bytes",)]
    problems = [_describe(error, exc.body) for error in errors or exc.errors()]
    message = "the body is not a valid v2 inference request: " + "; ".join(problems)
    telemetry.count_bad_body()
    logger.warning("bad request%s: %s", request_id.log_tag(), loggable(message))
    return JSONResponse(status_code=400, content={"error": message})


def _describe(error: dict[str, Any], body: Any = None) -> str:
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "InferenceRequest")]
    if error.get("type") == "json_invalid":
        detail = (error.get("ctx") or {}).get("error", "")
        return f"malformed JSON at character {loc[-1] if loc else '?'} {detail}".strip()
    where = ".".join(loc) or "body"
    name = _input_name(body, loc)
    return f"{where}{f' (input {name!r})' if name else ''}: {error.get('msg', 'invalid')}"


def _input_name(body: Any, loc: list[str]) -> str:
    """The name of ``inputs[i]`` an error points into, when the body gives it one."""
    if len(loc) < 2 or loc[0] != "inputs" or not loc[1].isdigit() or not isinstance(body, dict):
        return ""
    inputs = body.get("inputs")
    index = int(loc[1])
    if not isinstance(inputs, list) or index >= len(inputs) or not isinstance(inputs[index], dict):
        return ""
    name = inputs[index].get("name")
    return name[:40] if isinstance(name, str) else ""


async def invalid_input_handler(_: Request, exc: InvalidInput) -> JSONResponse:
    telemetry.count_bad_body()
    logger.warning("bad request%s: %s", request_id.log_tag(), loggable(str(exc)))
    return JSONResponse(status_code=400, content={"error": str(exc)})


async def serving_error_handler(_: Request, exc: ServingError) -> JSONResponse:
    if isinstance(exc, InvalidRequestError):
        telemetry.count_problems(exc.problems, exc.known)
    logger.warning("%s%s: %s", type(exc).__name__, request_id.log_tag(), exc.log_text)
    return JSONResponse(status_code=int(exc.status), content=exc.body())


async def http_error_handler(_: Request, exc: StarletteHTTPException) -> Response:
    """Routing and parsing errors (404, 405, ...) as KServe's ``{"error": ...}``."""
    if exc.status_code < 400:
        return Response(status_code=exc.status_code, headers=exc.headers)
    content = {"error": str(exc.detail)}
    return JSONResponse(status_code=exc.status_code, content=content, headers=exc.headers)


async def not_found_handler(_: Request, exc: ModelNotFound) -> JSONResponse:
    return JSONResponse(status_code=404, content={"error": str(exc)})


async def not_implemented_handler(_: Request, exc: NotImplementedError) -> JSONResponse:
    """KServe raises it for routes it declares but does not serve (model versions)."""
    message = f"not available on this server: {exc}" if str(exc) else "not available"
    return JSONResponse(status_code=404, content={"error": message})


async def internal_error_handler(_: Request, exc: Exception) -> JSONResponse:
    """Anything unexpected: a 500 that names nothing internal; one log line that does."""
    logger.error("internal error: %s", errors.internal_summary(exc))
    return JSONResponse(status_code=500, content={"error": errors.INTERNAL_MESSAGE})

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
- aggregate ``/metrics`` across uvicorn workers (``PROMETHEUS_MULTIPROC_DIR``).
"""

from __future__ import annotations

import warnings
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import FastAPIDeprecationWarning, RequestValidationError
from fastapi.responses import JSONResponse
from kserve.errors import InvalidInput, ModelNotReady
from kserve.logging import logger
from kserve.protocol.dataplane import DataPlane
from prometheus_client import REGISTRY, CollectorRegistry, exposition, multiprocess

from serving.errors import ServingError


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


def metrics_response(request: Request, metrics_dir: str | None) -> Response:
    """Prometheus exposition, summed over every worker process when ``metrics_dir`` is set."""
    registry = REGISTRY
    if metrics_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=metrics_dir)
    encoder, content_type = exposition.choose_encoder(request.headers.get("accept", ""))
    return Response(content=encoder(registry), headers={"content-type": content_type})


async def server_ready(dataplane: DataPlane) -> JSONResponse:
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


async def not_v2_handler(_: Request, exc: RequestValidationError) -> JSONResponse:
    # The v2 route also accepts raw bytes; that alternative's complaint is noise.
    errors = [e for e in exc.errors() if tuple(e.get("loc", ()))[-1:] != ("bytes",)]
    problems = [_describe(error) for error in errors or exc.errors()]
    message = "the body is not a valid v2 inference request: " + "; ".join(problems)
    logger.warning("bad request: %s", loggable(message))
    return JSONResponse(status_code=400, content={"error": message})


def _describe(error: dict[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "InferenceRequest")]
    if error.get("type") == "json_invalid":
        detail = (error.get("ctx") or {}).get("error", "")
        return f"malformed JSON at character {loc[-1] if loc else '?'} {detail}".strip()
    return f"{'.'.join(loc) or 'body'}: {error.get('msg', 'invalid')}"


async def invalid_input_handler(_: Request, exc: InvalidInput) -> JSONResponse:
    logger.warning("bad request: %s", loggable(str(exc)))
    return JSONResponse(status_code=400, content={"error": str(exc)})


async def serving_error_handler(_: Request, exc: ServingError) -> JSONResponse:
    logger.warning("%s: %s", type(exc).__name__, exc.log_text)
    return JSONResponse(status_code=int(exc.status), content=exc.body())

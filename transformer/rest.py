"""KServe's REST server, bound to a chosen address, with clearer answers.

Shared by the transformer and the predictor. On top of
:class:`kserve.protocol.rest.server.RESTServer` it:

- listens on ``bind_address`` instead of KServe's fixed ``0.0.0.0``;
- answers bad bodies (malformed JSON, not v2) with 400, not FastAPI's 422;
- says *why* a model is not ready (readiness routes and 503 bodies), without
  logging every probe;
- answers our errors with their status and body (a bad request lists its
  problems) and logs counts and field names of bad requests, never a value;
- serves model metadata with ``versions`` and ``parameters`` (contract hash,
  model version, feature order) that KServe's response model would drop;
- aggregates ``/metrics`` across uvicorn workers (``PROMETHEUS_MULTIPROC_DIR``);
- silences FastAPI's per-request ``ORJSONResponse`` deprecation warning.
"""

from __future__ import annotations

import warnings
from socket import socket
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import FastAPIDeprecationWarning, RequestValidationError
from fastapi.responses import JSONResponse
from kserve.errors import InvalidInput, ModelNotReady
from kserve.logging import logger
from kserve.protocol.dataplane import DataPlane
from kserve.protocol.rest.server import RESTServer
from prometheus_client import REGISTRY, CollectorRegistry, exposition, multiprocess

from transformer.errors import ServingError


def silence_fastapi_deprecations() -> None:
    """KServe builds ORJSONResponse per request; FastAPI >= 0.128 warns each time."""
    warnings.filterwarnings("ignore", category=FastAPIDeprecationWarning)


def not_ready_reason(dataplane: DataPlane, name: str) -> str:
    model = dataplane.model_registry.get_model(name)
    return str(getattr(model, "not_ready_reason", "") or "")


def loggable(message: str, limit: int = 300) -> str:
    """KServe's own 400 messages, bounded (ours log counts and fields only)."""
    return message if len(message) <= limit else message[:limit] + f"... ({len(message)} chars)"


class BoundRESTServer(RESTServer):
    """See the module docstring. ``metrics_dir`` is the multiprocess directory."""

    def __init__(
        self, *args: Any, bind_address: str, metrics_dir: str | None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.config.host = bind_address
        self.metrics_dir = metrics_dir

    async def start(self) -> None:
        silence_fastapi_deprecations()
        await super().start()

    def run(self, sockets: list[socket] | None = None) -> None:
        """Entry point of each worker process when ``--workers`` > 1."""
        silence_fastapi_deprecations()
        super().run(sockets=sockets)

    def _register_endpoints(self, app: FastAPI) -> None:
        # Registered first, so they take precedence over KServe's routes.
        app.add_api_route("/metrics", self._metrics, methods=["GET"])
        app.add_api_route("/v2/health/ready", self._server_ready, methods=["GET"])
        app.add_api_route("/v2/models/{model_name}", self._metadata, methods=["GET"])
        app.add_api_route("/v2/models/{model_name}/ready", self._model_ready, methods=["GET"])
        app.add_api_route("/v1/models/{model_name}", self._model_ready, methods=["GET"])
        super()._register_endpoints(app)

    def _add_exception_handlers(self, app: FastAPI) -> None:
        super()._add_exception_handlers(app)
        app.add_exception_handler(RequestValidationError, _not_v2_handler)  # type: ignore[arg-type]
        app.add_exception_handler(InvalidInput, _invalid_input_handler)
        app.add_exception_handler(ServingError, _serving_error_handler)  # type: ignore[arg-type]
        app.add_exception_handler(ModelNotReady, self._not_ready_handler)

    async def _metrics(self, request: Request) -> Response:
        registry = REGISTRY
        if self.metrics_dir:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=self.metrics_dir)
        encoder, content_type = exposition.choose_encoder(request.headers.get("accept", ""))
        return Response(content=encoder(registry), headers={"content-type": content_type})

    async def _server_ready(self) -> JSONResponse:
        for name in self.dataplane.model_registry.get_models():
            if not await self.dataplane.model_registry.is_model_ready(name):
                return self._not_ready(name)
        return JSONResponse({"ready": True})

    async def _model_ready(self, model_name: str) -> JSONResponse:
        if not await self.dataplane.model_ready(model_name):
            return self._not_ready(model_name)
        return JSONResponse({"name": model_name, "ready": True})

    def _not_ready(self, name: str) -> JSONResponse:
        """503 with the reason; not logged (probes ask every few seconds; load logged it)."""
        reason = not_ready_reason(self.dataplane, name)
        message = f"{ModelNotReady(name)}{' ' + reason if reason else ''}"
        return JSONResponse(status_code=503, content={"error": message})

    async def _metadata(self, model_name: str) -> JSONResponse:
        metadata = await self.dataplane.model_metadata(model_name)
        model = self.dataplane.model_registry.get_model(model_name)
        extras = getattr(model, "metadata_extras", None)
        return JSONResponse({**metadata, **(extras() if extras else {})})

    async def _not_ready_handler(self, _: Request, exc: ModelNotReady) -> JSONResponse:
        response = self._not_ready(exc.model_name)
        logger.warning("request refused, model %s is not ready", exc.model_name)
        return response


async def _not_v2_handler(_: Request, exc: RequestValidationError) -> JSONResponse:
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


async def _invalid_input_handler(_: Request, exc: InvalidInput) -> JSONResponse:
    logger.warning("bad request: %s", loggable(str(exc)))
    return JSONResponse(status_code=400, content={"error": str(exc)})


async def _serving_error_handler(_: Request, exc: ServingError) -> JSONResponse:
    logger.warning("%s: %s", type(exc).__name__, exc.log_text)
    return JSONResponse(status_code=int(exc.status), content=exc.body())

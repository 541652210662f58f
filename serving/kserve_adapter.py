"""Every override of a KServe 0.21 internal, in one place, each with its upstream reason.

KServe's ``ModelServer`` listens on ``0.0.0.0`` (REST) and ``[::]`` (gRPC)
with no flag, kills slow-starting workers, exits when a model fails to load,
answers 422 for malformed bodies and drops metadata parameters. The classes
here change that by subclassing KServe's own servers, and nothing else in the
project touches a KServe internal.

:data:`UPSTREAM` lists each KServe (or uvicorn) function an override
replaces or leans on, with a digest of its source as released.
``tests/unit/test_serving_adapter.py`` fails when one of them changes, so that
a KServe bump is a conscious act: re-read the function, adapt the override,
update the digest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent import futures
from socket import socket
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from grpc import StatusCode, aio
from grpc_interceptor.exceptions import GrpcException
from kserve.errors import InvalidInput, ModelNotFound, ModelNotReady
from kserve.logging import logger
from kserve.model import BaseKServeModel
from kserve.model_server import ModelServer
from kserve.model_server import args as kserve_args
from kserve.protocol.dataplane import DataPlane
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc
from kserve.protocol.grpc.interceptors import ExceptionToStatusInterceptor
from kserve.protocol.grpc.server import GRPCServer
from kserve.protocol.grpc.servicer import InferenceServicer
from kserve.protocol.infer_type import InferRequest, InferResponse
from kserve.protocol.rest.multiprocess.server import RESTServerMultiProcess, RESTServerProcess
from kserve.protocol.rest.server import RESTServer
from kserve.protocol.rest.v2_datamodels import InferenceRequest
from kserve.protocol.rest.v2_endpoints import V2Endpoints
from prometheus_client import multiprocess
from starlette.exceptions import HTTPException as StarletteHTTPException
from timing_asgi import TimingMiddleware
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from serving import (
    errors,
    httpguard,
    limits,
    request_id,
    rest,
    runtime,
    telemetry,
    tensorchecks,
    trace,
    v2json,
    versions,
)
from serving.errors import InvalidRequestError, ServingError
from serving.grpcdecode import DecodeInterceptor
from serving.httpguard import HeadTimeoutProtocol
from serving.jsonbody import is_json_v1, parse_json
from serving.limits import Limits
from serving.repository import Repository
from serving.settings import ServerSettings

FASTAPI_APP = "kserve.model_server:app"
INFERENCE_HEADER = "inference-header-content-length"

#: Each upstream function and the sha256 of its ``inspect.getsource`` (first 16
#: hex digits), as released in kserve 0.21.0. See the module docstring.
UPSTREAM: tuple[tuple[Callable[..., Any], str], ...] = (
    (ModelServer.__init__, "1029569ff98894af"),
    (ModelServer.start, "efa96502018b04e9"),
    (RESTServer.__init__, "c85b4ca79cab7f7c"),
    (RESTServer._register_endpoints, "841b714394633cb5"),
    (RESTServer._add_exception_handlers, "ca0a28c1b356a6eb"),
    (RESTServer.start, "5889df83b6d57baa"),
    (RESTServer.run, "aec949cefa2b0162"),
    (RESTServerMultiProcess.__init__, "ff15cd5a0c374e22"),
    (RESTServerMultiProcess.init_processes, "75142004d4ac292e"),
    (RESTServerMultiProcess.keep_subprocess_alive, "22dd987ecf8b4f41"),
    (GRPCServer.__init__, "d2f75891584958f5"),
    (GRPCServer.start, "f4ea7b4eb6f0d9f7"),
    (RESTServer._add_middlewares, "eb71860ac9500c56"),
    (InferenceServicer.ModelMetadata, "5a8a0d47b9ee471f"),
    (InferenceServicer.ModelReady, "97f41a95d064a543"),
    (InferenceServicer.ModelInfer, "49bf48c9159ebe9f"),
    (DataPlane.decode, "d24588584bae5b4c"),
    (DataPlane.encode, "f8e942ffcbc6abc8"),
    (V2Endpoints.infer, "57fdb35815a30a11"),
    (InferResponse.to_rest, "94aecc96b19983f5"),
    (InferResponse.to_grpc, "d6a37d4aa1310040"),
    (ExceptionToStatusInterceptor.handle_exception, "f9a4d0abc9843c24"),
    (DataPlane.decode_inference_request, "d9b169889aa3e564"),
    (DataPlane.ready, "092ec924c2558e83"),
    (InferenceServicer.__init__, "924b8fa08ae3d9f9"),
    (InferenceServicer.RepositoryModelLoad, "67fee58ff64a6edd"),
    (InferenceServicer.RepositoryModelUnload, "d8a895c6fdc3d1cc"),
    (HttpToolsProtocol.connection_made, "6efb565ff3d36b91"),
    (HttpToolsProtocol.connection_lost, "c91a4c9bf2e29c55"),
    (HttpToolsProtocol.on_message_begin, "96d377fdc7c2baef"),
    (HttpToolsProtocol.on_headers_complete, "1ea8589acfad92d8"),
    (HttpToolsProtocol.shutdown, "d7351fa33f00d430"),
    (HttpToolsProtocol.send_400_response, "ae5a4a3782b646fd"),
    # serving.runtime: KServe's loop set-up run on the loop uvicorn picks for --event-loop.
    (ModelServer.setup_event_loop, "7f1f9b173b0b122b"),
    (uvicorn.Config.get_loop_factory, "de5a9cb6dc6b3129"),
    # --enable_latency_logging false drops KServe's TimingMiddleware (two trace lines, getrusage).
    (TimingMiddleware.__call__, "f76cc3fea20b38eb"),
    # --no_access_log: uvicorn's Config empties the access logger, which each
    # connection's protocol then finds without handlers.
    (uvicorn.Config.configure_logging, "2636c3164cd0ddb5"),
    (HttpToolsProtocol.__init__, "4f08999410347141"),
)


def configure_logging(settings: ServerSettings) -> None:
    """KServe's log format from the first line on (the model loads before ModelServer exists)."""
    if settings.configure_logging:
        from kserve import logging as kserve_logging

        kserve_logging.configure_logging(settings.log_config_file)


def listen_address(host: str, port: int) -> str:
    """``host:port`` for gRPC, with IPv6 literals bracketed."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


class ReasonInterceptor(ExceptionToStatusInterceptor):
    """Maps our errors (and KServe's ModelNotReady, which lacks ``reason``) to statuses.

    Upstream: KServe's ``ExceptionToStatusInterceptor.handle_exception`` logs a
    traceback for every bad request and, for anything unforeseen, one with
    the exception's message (which may quote request values). Ours log one
    line without values: the type and where it was raised.
    """

    async def handle_exception(
        self, ex: Exception, request_or_iterator: Any, context: Any, method_name: str
    ) -> None:
        if isinstance(ex, ServingError):
            if isinstance(ex, InvalidRequestError):
                telemetry.count_problems(ex.problems, ex.known)
            tag = request_id.log_tag()
            logger.warning("%s%s: %s (%s)", type(ex).__name__, tag, ex.log_text, method_name)
            await context.abort(ex.grpc_code, ex.reason)
        elif isinstance(ex, InvalidInput):
            telemetry.count_bad_body()
            tag = request_id.log_tag()
            logger.warning("bad request%s: %s (%s)", tag, rest.loggable(ex.reason), method_name)
            await context.abort(StatusCode.INVALID_ARGUMENT, ex.reason)
        elif isinstance(ex, ModelNotReady):
            await context.abort(StatusCode.UNAVAILABLE, str(ex))
        elif isinstance(ex, ModelNotFound):
            await context.abort(StatusCode.NOT_FOUND, str(ex))
        elif isinstance(ex, NotImplementedError):
            await context.abort(StatusCode.UNIMPLEMENTED, f"not available on this server: {ex}")
        elif isinstance(ex, GrpcException):
            await super().handle_exception(ex, request_or_iterator, context, method_name)
        else:
            logger.error("internal error: %s (%s)", errors.internal_summary(ex), method_name)
            await context.abort(StatusCode.INTERNAL, errors.INTERNAL_MESSAGE)


class LenientDataPlane(DataPlane):
    """``DataPlane.decode`` reading v1 ``NaN``, v2 JSON without Content-Type, request ids.

    Upstream: ``kserve/protocol/dataplane.py`` ``DataPlane.decode`` parses v1
    bytes with ``orjson.loads`` (which refuses ``NaN`` literals: "Unrecognized
    request format") and answers a v2 body that came as bytes without the
    ``inference-header-content-length`` header with 400. Here a v1 body is
    parsed first by :func:`serving.jsonbody.parse_json`, so v1 reads ``NaN``
    as the v2 route does and malformed JSON gets a 400 saying where; a v2 body
    without the header is JSON (:mod:`serving.v2json`). A decoded v2 request
    takes the request's id (its own ``id`` wins, :func:`serving.request_id.adopt`),
    and the headers KServe passes on to the model carry it too. ``decode`` and
    ``encode`` (``DataPlane.encode`` turns the response into its REST body)
    are timed as the request's ``decode`` and ``encode`` stages (:mod:`serving.trace`).
    """

    def decode(self, body: Any, headers: Any, *args: Any, **kwargs: Any) -> Any:
        with trace.stage("decode"):
            return self._decode(body, headers, *args, **kwargs)

    def encode(self, *args: Any, **kwargs: Any) -> Any:
        with trace.stage("encode"):
            return super().encode(*args, **kwargs)

    def _decode(self, body: Any, headers: Any, *args: Any, **kwargs: Any) -> Any:
        protocol = kwargs.get("protocol_version", args[0] if args else "v1")
        if isinstance(body, bytes) and is_json_v1(headers, protocol):
            body = parse_json(body)
        elif v2json.is_untyped_json(body, headers, protocol):
            body = v2json.infer_request(body, kwargs.get("model_name"))
        decoded, attributes = super().decode(body, headers, *args, **kwargs)
        if isinstance(decoded, InferRequest):
            current = request_id.adopt(decoded.id)
            decoded.id = decoded.id or current  # a body id is echoed as it came
            if isinstance(headers, dict):
                headers[request_id.HEADER] = current
        return decoded, attributes

    def decode_inference_request(self, body: Any, headers: Any, model_name: str) -> Any:
        """The binary extension's header checked whole before KServe slices the body.

        Upstream: ``decode_inference_request`` calls ``int()`` on the header
        length and ``InferRequest.from_bytes`` indexes the header's fields
        unchecked (a 500 for each lie); :mod:`serving.tensorchecks` names them.
        """
        if isinstance(body, bytes):
            length = headers.get(INFERENCE_HEADER) if headers else None
            if length is None:
                raise InvalidInput(
                    "a body that is not JSON needs the binary extension's"
                    f" {INFERENCE_HEADER} header"
                )
            size = httpguard.header_length(length.encode("latin-1"), len(body))
            header = parse_json(body[:size])
            tensorchecks.check_binary_header(header, len(body) - size)
            tensorchecks.check_binary_data(header, body[size:])
        return super().decode_inference_request(body, headers, model_name)

    async def ready(self) -> bool:
        """Upstream answers True whatever the models (or the predictor's health, when asked).

        Here the server is ready when KServe's check passes, at least one model
        is loaded, and every loaded model is healthy.
        """
        if not await super().ready():
            return False
        models = self._model_registry.get_models()
        return bool(models) and all([await m.healthy() for m in models.values()])


class MetadataServicer(InferenceServicer):
    """Metadata with versions and parameters; checked tensors and versions; a closed repository.

    Upstream: ``InferenceServicer.ModelMetadata`` answers from
    ``DataPlane.model_metadata``; the v2 gRPC ``ModelMetadataResponse`` has no
    parameters field (they go as trailing metadata here; REST clients read
    them from the JSON body, :func:`serving.rest.metadata`) and KServe drops
    ``versions``. ``ModelMetadata``, ``ModelReady`` and ``ModelInfer`` ignore
    the request's version; here a version other than the one served is
    NOT_FOUND (:func:`serving.versions.check`). ``ModelInfer`` decodes tensors
    unchecked (malformed ones end INTERNAL): :func:`serving.tensorchecks.check_grpc`
    runs first. ``RepositoryModelLoad``/``Unload`` index the ``None`` KServe's
    extension returns (INTERNAL) and need no credentials:
    :class:`serving.repository.Repository` answers them (PERMISSION_DENIED unless enabled).
    """

    def __init__(self, data_plane: DataPlane, repository: Repository) -> None:
        super().__init__(data_plane, None)
        self._repository = repository

    async def ModelReady(self, request: pb.ModelReadyRequest, context: Any) -> Any:  # noqa: N802
        versions.check(self._data_plane, request.name, request.version)
        return await super().ModelReady(request, context)

    async def ModelInfer(self, request: pb.ModelInferRequest, context: Any) -> Any:  # noqa: N802
        tensorchecks.check_grpc(request)
        versions.check(self._data_plane, request.model_name, request.model_version)
        return await super().ModelInfer(request, context)

    async def RepositoryModelLoad(  # noqa: N802
        self, request: pb.RepositoryModelLoadRequest, context: Any
    ) -> pb.RepositoryModelLoadResponse:
        await self._repository.load(request.model_name)
        return pb.RepositoryModelLoadResponse(model_name=request.model_name, isLoaded=True)

    async def RepositoryModelUnload(  # noqa: N802
        self, request: pb.RepositoryModelUnloadRequest, context: Any
    ) -> pb.RepositoryModelUnloadResponse:
        await self._repository.unload(request.model_name)
        return pb.RepositoryModelUnloadResponse(model_name=request.model_name, isUnloaded=True)

    async def ModelMetadata(self, request: pb.ModelMetadataRequest, context: Any) -> Any:  # noqa: N802
        versions.check(self._data_plane, request.name, request.version)
        response = await super().ModelMetadata(request, context)
        model = self._data_plane.model_registry.get_model(request.name)
        extras = getattr(model, "metadata_extras", None)
        if extras:
            values = extras()
            response.versions.extend(values.get("versions", []))
            params = values.get("parameters", {})
            context.set_trailing_metadata([(k.lower(), str(v)) for k, v in params.items()])
        return response


class BoundGRPCServer(GRPCServer):
    """KServe's gRPC server on ``bind_address`` with our servicer and interceptor.

    Upstream: ``GRPCServer.start`` listens on ``[::]:port`` with KServe's
    servicer and ``ExceptionToStatusInterceptor``; it is replaced whole (our
    address, :class:`MetadataServicer`, the interceptors
    :class:`serving.grpcdecode.DecodeInterceptor`,
    :class:`serving.request_id.RequestIdInterceptor`,
    :class:`serving.telemetry.TelemetryInterceptor` then :class:`ReasonInterceptor`,
    and grpc's own limits from :func:`serving.limits.grpc_options`).
    """

    def __init__(
        self,
        *args: Any,
        bind_address: str,
        limits: Limits,
        repository: Repository,
        message_lengths: tuple[int, int],
        server_name: str = "server",
        log_requests: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._bind_address = bind_address
        self._limits = limits
        self._repository = repository
        self._message_lengths = message_lengths
        self._telemetry = telemetry.TelemetryInterceptor(server_name, log_requests)

    async def start(self, max_workers: int) -> None:
        servicer = MetadataServicer(self._data_plane, self._repository)
        self._server = aio.server(
            futures.ThreadPoolExecutor(max_workers=max_workers),
            interceptors=(
                DecodeInterceptor(),
                request_id.RequestIdInterceptor(),
                self._telemetry,
                ReasonInterceptor(),
            ),
            options=limits.grpc_options(self._limits, *self._message_lengths),
        )
        grpc_predict_v2_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, self._server)
        address = listen_address(self._bind_address, self._port)
        self._server.add_insecure_port(address)
        logger.info("Starting gRPC server on %s with %d threads", address, max_workers)
        await self._server.start()
        await self._server.wait_for_termination()


class BoundRESTServer(RESTServer):
    """KServe's REST server on ``bind_address`` with our routes and error handlers.

    Upstream: ``RESTServer.__init__`` builds its ``uvicorn.Config`` with
    ``host="0.0.0.0"`` (set to ``bind_address`` here) and uvicorn's protocol
    (ours adds a request-head deadline, :class:`serving.httpguard.HeadTimeoutProtocol`);
    ``_register_endpoints`` and ``_add_exception_handlers`` are extended (ours
    first, so they take precedence; no handler answers with an exception's
    class name); ``_add_middlewares`` adds :class:`serving.request_id.RequestIdMiddleware`
    (outermost), inside it :class:`serving.telemetry.RequestMiddleware`
    (metrics and the request log line), inside that :class:`serving.httpguard.BodyGuard`;
    ``start``/``run`` silence FastAPI's per-request ``ORJSONResponse``
    deprecation warning first. KServe's v2 router answers the version routes
    501 and has no ``/v2/`` (the OpenAPI document's server metadata path): ours
    serve them (:mod:`serving.versions`). Both infer routes run KServe's own
    ``V2Endpoints.infer`` and drop the ``null`` fields its response model
    writes (:func:`serving.rest.without_nulls`). The repository routes answer
    through :class:`serving.repository.Repository`.
    """

    def __init__(
        self,
        *args: Any,
        bind_address: str,
        metrics_dir: str | None,
        limits: Limits,
        repository: Repository,
        server_name: str = "server",
        log_requests: bool = False,
        latency_logging: bool = True,
        access_log: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.config.host = bind_address
        self.config.http = HeadTimeoutProtocol
        self.config.header_timeout_seconds = limits.header_timeout_seconds
        self.config.access_log = access_log
        self.metrics_dir = metrics_dir
        self.limits = limits
        self.repository = repository
        self.server_name = server_name
        self.log_requests = log_requests
        self.latency_logging = latency_logging

    async def start(self) -> None:
        rest.silence_fastapi_deprecations()
        self.config.configure_logging()  # uvicorn's own: access_log False empties its logger
        await super().start()

    def run(self, sockets: list[socket] | None = None) -> None:
        """Entry point of each worker process when ``--workers`` > 1."""
        rest.silence_fastapi_deprecations()
        self.config.configure_logging()  # the worker configured KServe's logging again
        super().run(sockets=sockets)

    def _add_middlewares(self, app: FastAPI) -> None:
        super()._add_middlewares(app)
        if not self.latency_logging:
            app.user_middleware = [m for m in app.user_middleware if m.cls is not TimingMiddleware]
        app.add_middleware(httpguard.BodyGuard, limits=self.limits)
        # The last added runs first: the id is set before the telemetry reads it.
        app.add_middleware(
            telemetry.RequestMiddleware,
            server=self.server_name,
            log_requests=self.log_requests,
        )
        app.add_middleware(request_id.RequestIdMiddleware)

    def _register_endpoints(self, app: FastAPI) -> None:
        dataplane = self.dataplane
        endpoints = V2Endpoints(dataplane, self.model_repository_extension)

        async def metrics(request: Request) -> Response:
            return rest.metrics_response(request, self.metrics_dir, rest.model_deriver(dataplane))

        async def server_ready() -> JSONResponse:
            return await rest.server_ready(dataplane)

        async def model_ready(model_name: str) -> JSONResponse:
            return await rest.model_ready(dataplane, model_name)

        async def metadata(model_name: str) -> JSONResponse:
            return await rest.metadata(dataplane, model_name)

        async def load(model_name: str) -> JSONResponse:
            await self.repository.load(model_name)
            return JSONResponse({"name": model_name, "load": True})

        async def unload(model_name: str) -> JSONResponse:
            await self.repository.unload(model_name)
            return JSONResponse({"name": model_name, "unload": True})

        app.add_api_route("/v2/repository/models/{model_name}/load", load, methods=["POST"])
        app.add_api_route("/v2/repository/models/{model_name}/unload", unload, methods=["POST"])

        async def server_metadata() -> JSONResponse:
            return JSONResponse(dataplane.metadata())

        async def version_metadata(model_name: str, model_version: str) -> JSONResponse:
            versions.check(dataplane, model_name, model_version)
            return await rest.metadata(dataplane, model_name)

        async def version_ready(model_name: str, model_version: str) -> JSONResponse:
            versions.check(dataplane, model_name, model_version)
            return await rest.model_ready(dataplane, model_name)

        async def infer(
            raw_request: Request,
            raw_response: Response,
            model_name: str,
            request_body: InferenceRequest | bytes,
        ) -> Any:
            result = await endpoints.infer(raw_request, raw_response, model_name, request_body)
            return rest.without_nulls(result, raw_response)

        async def version_infer(
            raw_request: Request,
            raw_response: Response,
            model_name: str,
            model_version: str,
            request_body: InferenceRequest | bytes,
        ) -> Any:
            versions.check(dataplane, model_name, model_version)
            return await infer(raw_request, raw_response, model_name, request_body)

        app.add_api_route("/metrics", metrics, methods=["GET"])
        app.add_api_route("/v2/", server_metadata, methods=["GET"])
        version = "/v2/models/{model_name}/versions/{model_version}"
        app.add_api_route(version, version_metadata, methods=["GET"])
        app.add_api_route(f"{version}/ready", version_ready, methods=["GET"])
        app.add_api_route(
            "/v2/models/{model_name}/infer", infer, methods=["POST"], response_model=None
        )
        app.add_api_route(f"{version}/infer", version_infer, methods=["POST"], response_model=None)
        app.add_api_route("/v2/health/ready", server_ready, methods=["GET"])
        app.add_api_route("/v2/models/{model_name}", metadata, methods=["GET"])
        app.add_api_route("/v2/models/{model_name}/ready", model_ready, methods=["GET"])
        app.add_api_route("/v1/models/{model_name}", model_ready, methods=["GET"])
        super()._register_endpoints(app)

    def _add_exception_handlers(self, app: FastAPI) -> None:
        super()._add_exception_handlers(app)
        app.add_exception_handler(Exception, rest.internal_error_handler)
        app.add_exception_handler(StarletteHTTPException, rest.http_error_handler)  # type: ignore[arg-type]
        app.add_exception_handler(ModelNotFound, rest.not_found_handler)
        app.add_exception_handler(NotImplementedError, rest.not_implemented_handler)  # type: ignore[arg-type]
        app.add_exception_handler(RequestValidationError, rest.not_v2_handler)  # type: ignore[arg-type]
        app.add_exception_handler(InvalidInput, rest.invalid_input_handler)
        app.add_exception_handler(ServingError, rest.serving_error_handler)  # type: ignore[arg-type]
        app.add_exception_handler(ModelNotReady, self._not_ready_handler)

    async def _not_ready_handler(self, _: Request, exc: ModelNotReady) -> JSONResponse:
        response = rest.not_ready(self.dataplane, exc.model_name)
        tag = request_id.log_tag()
        logger.warning("request refused%s, model %s is not ready", tag, exc.model_name)
        return response


class PatientMultiProcess(RESTServerMultiProcess):
    """KServe's worker supervisor, with a start-up grace period.

    Upstream: ``RESTServerMultiProcess.keep_subprocess_alive`` kills a worker
    that does not answer a liveness ping within 5 s, including one still
    importing its libraries and loading its model: on a busy machine that
    restarts workers forever. New workers get ``start_grace_seconds`` before
    the ping applies. Its workers run ``_rest_server.run``, which
    :meth:`BoundModelServer.start` points at our :class:`BoundRESTServer`.
    """

    start_grace_seconds = 90.0

    def init_processes(self, sockets: list[socket]) -> None:
        super().init_processes(sockets)
        self._born = {p.pid: time.monotonic() for p in self._processes}

    async def keep_subprocess_alive(self, sockets: list[socket]) -> None:
        if self.should_exit.is_set():
            return
        for idx, process in enumerate(self._processes):
            young = time.monotonic() - self._born.get(process.pid, 0.0) < self.start_grace_seconds
            if young or process.is_alive():
                continue
            process.kill()
            await process.wait_for_termination()
            if self._rest_server.metrics_dir:  # its live* gauges stop counting
                multiprocess.mark_process_dead(process.pid, self._rest_server.metrics_dir)
            if self.should_exit.is_set():
                return
            logger.warning("worker [%s] died or stopped answering: restarting it", process.pid)
            fresh = RESTServerProcess(sockets, self._rest_server.run, self.log_config_file)
            fresh.start()
            self._processes[idx] = fresh
            self._born[fresh.pid] = time.monotonic()


class BoundModelServer(ModelServer):
    """:class:`kserve.ModelServer` listening on ``bind_address`` (REST and gRPC).

    Upstream: ``ModelServer.start`` builds KServe's servers (fixed addresses)
    and exits when a model is not ready after ``load``; it is replaced by one
    that builds ours and keeps a model that failed to load registered and
    *not ready* (with its reason), which is what a readiness probe needs.
    ``ModelServer.__init__`` builds a ``DataPlane``; ours replaces it.
    ``metrics_dir`` is the prometheus multiprocess directory when
    ``workers`` > 1 (see :func:`serving.metrics.prepare`); ``limits`` bound
    requests and connections (:mod:`serving.limits`); the model repository
    extension answers only with ``enable_model_repository``;
    ``server_name`` and
    ``log_requests`` go to the request telemetry (:mod:`serving.telemetry`).
    """

    def __init__(
        self,
        *,
        bind_address: str,
        metrics_dir: str | None = None,
        limits: Limits | None = None,
        enable_model_repository: bool = False,
        grpc_message_lengths: tuple[int, int] = (8 << 20, 8 << 20),
        server_name: str = "server",
        log_requests: bool = False,
        access_log: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bind_address = bind_address
        self.access_log = access_log
        self.metrics_dir = metrics_dir
        self.limits = limits or Limits()
        self.grpc_message_lengths = grpc_message_lengths
        self.repository = Repository(self.registered_models, enable_model_repository)
        self.server_name = server_name
        self.log_requests = log_requests
        self.dataplane = LenientDataPlane(model_registry=self.registered_models)

    def start(self, models: list[BaseKServeModel]) -> None:
        self._register_all(models)
        rest_server = self._rest()
        if self.workers > 1:
            self._rest_multiprocess_server = PatientMultiProcess(
                FASTAPI_APP,
                self.dataplane,
                self.model_repository_extension,
                self.http_port,
                workers=self.workers,
                log_config_file=kserve_args.log_config_file,
            )
            # Its workers run our server's ``run`` (bind address, routes, metrics).
            self._rest_multiprocess_server._rest_server = rest_server
            self.servers.append(self._rest_multiprocess_server.start())
        else:
            self._rest_server = rest_server
            self.servers.append(rest_server.start())
        if self.enable_grpc:
            self._grpc_server = self._grpc()
            self.servers.append(self._grpc_server.start(self.max_threads))
        self.register_signal_handler()
        runtime.run(self._serve, self.event_loop, self.setup_event_loop)

    def setup_event_loop(self) -> None:
        """KServe's exception handler and executor, on the running loop; logs which loop it is."""
        super().setup_event_loop()
        logger.info("Serving on the %s event loop", runtime.current_loop_kind())

    def _rest(self) -> BoundRESTServer:
        return BoundRESTServer(
            FASTAPI_APP,
            self.dataplane,
            self.model_repository_extension,
            self.http_port,
            access_log_format=self.access_log_format,
            workers=self.workers,
            grace_period=self.grace_period,
            event_loop=self.event_loop,
            timeout_keep_alive=self.timeout_keep_alive,
            ssl_certfile=self.ssl_certfile,
            ssl_keyfile=self.ssl_keyfile,
            bind_address=self.bind_address,
            metrics_dir=self.metrics_dir,
            limits=self.limits,
            repository=self.repository,
            server_name=self.server_name,
            log_requests=self.log_requests,
            latency_logging=self.enable_latency_logging,
            access_log=self.access_log,
        )

    def _grpc(self) -> BoundGRPCServer:
        return BoundGRPCServer(
            self.grpc_port,
            self.dataplane,
            self.model_repository_extension,
            kwargs=vars(kserve_args),
            grace_period=self.grace_period,
            bind_address=self.bind_address,
            limits=self.limits,
            repository=self.repository,
            message_lengths=self.grpc_message_lengths,
            server_name=self.server_name,
            log_requests=self.log_requests,
        )

    def _register_all(self, models: list[BaseKServeModel]) -> None:
        """Register every model, ready or not: a not-ready one answers 503 with its reason.

        Nothing is logged here: a model that failed to load said why already.
        """
        for model in models:
            self.register_model(model)
            model.enable_latency_logging = self.enable_latency_logging
            model.start()


def serve(settings: ServerSettings, models: list[BaseKServeModel], **kwargs: Any) -> None:
    """Start :class:`BoundModelServer` with ``settings`` on ``models`` (blocks until stopped)."""
    BoundModelServer(**settings.server_kwargs(), **kwargs).start(models)

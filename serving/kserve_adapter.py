"""Every override of a KServe 0.21 internal, in one place, each with its upstream reason.

KServe's ``ModelServer`` listens on ``0.0.0.0`` (REST) and ``[::]`` (gRPC)
with no flag, kills slow-starting workers, exits when a model fails to load,
answers 422 for malformed bodies and drops metadata parameters. The classes
here change that by subclassing KServe's own servers, and nothing else in the
project touches a KServe internal.

:data:`UPSTREAM` lists each KServe (or grpc-interceptor) function an override
replaces or leans on, with a digest of its source as released.
``tests/unit/test_serving_adapter.py`` fails when one of them changes, so that
a KServe bump is a conscious act: re-read the function, adapt the override,
update the digest.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent import futures
from socket import socket
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from grpc import StatusCode, aio
from kserve.errors import InvalidInput, ModelNotReady
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
from kserve.protocol.rest.multiprocess.server import RESTServerMultiProcess, RESTServerProcess
from kserve.protocol.rest.server import RESTServer

from serving import rest
from serving.errors import ServingError
from serving.jsonbody import is_json_v1, parse_json
from serving.settings import ServerSettings

FASTAPI_APP = "kserve.model_server:app"

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
    (InferenceServicer.ModelMetadata, "5a8a0d47b9ee471f"),
    (DataPlane.decode, "d24588584bae5b4c"),
    (ExceptionToStatusInterceptor.handle_exception, "f9a4d0abc9843c24"),
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
    traceback for every bad request and maps unknown exceptions to INTERNAL;
    ours answer first (logged as one line, never a value), the rest fall
    through to KServe's.
    """

    async def handle_exception(
        self, ex: Exception, request_or_iterator: Any, context: Any, method_name: str
    ) -> None:
        if isinstance(ex, ServingError):
            logger.warning("%s: %s (%s)", type(ex).__name__, ex.log_text, method_name)
            await context.abort(ex.grpc_code, ex.reason)
        elif isinstance(ex, InvalidInput):
            logger.warning("bad request: %s (%s)", rest.loggable(ex.reason), method_name)
            await context.abort(StatusCode.INVALID_ARGUMENT, ex.reason)
        elif isinstance(ex, ModelNotReady):
            await context.abort(StatusCode.UNAVAILABLE, str(ex))
        else:
            await super().handle_exception(ex, request_or_iterator, context, method_name)


class LenientDataPlane(DataPlane):
    """``DataPlane.decode`` parses v1 JSON with orjson alone, refusing ``NaN`` literals.

    Upstream: ``kserve/protocol/dataplane.py`` ``DataPlane.decode`` calls
    ``orjson.loads`` and answers "Unrecognized request format". Here such a body
    is parsed first by :func:`serving.jsonbody.parse_json`, so v1 reads ``NaN``
    as the v2 route does and malformed JSON gets a 400 saying where.
    """

    def decode(self, body: Any, headers: Any, *args: Any, **kwargs: Any) -> Any:
        protocol = kwargs.get("protocol_version", args[0] if args else "v1")
        if isinstance(body, bytes) and is_json_v1(headers, protocol):
            body = parse_json(body)
        return super().decode(body, headers, *args, **kwargs)


class MetadataServicer(InferenceServicer):
    """Sends a model's ``metadata_extras()['parameters']`` as trailing metadata.

    Upstream: ``InferenceServicer.ModelMetadata`` answers from
    ``DataPlane.model_metadata``; the v2 gRPC ``ModelMetadataResponse`` has no
    parameters field and KServe drops ``versions``. REST clients read the same
    values from the JSON body (:func:`serving.rest.metadata`).
    """

    async def ModelMetadata(self, request: pb.ModelMetadataRequest, context: Any) -> Any:  # noqa: N802
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
    servicer and ``ExceptionToStatusInterceptor``; it is replaced whole (same
    options, our address, :class:`MetadataServicer`, :class:`ReasonInterceptor`).
    """

    def __init__(self, *args: Any, bind_address: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._bind_address = bind_address

    async def start(self, max_workers: int) -> None:
        servicer = MetadataServicer(self._data_plane, self._model_repository_extension)
        self._server = aio.server(
            futures.ThreadPoolExecutor(max_workers=max_workers),
            interceptors=(ReasonInterceptor(),),
            options=[
                (f"grpc.{key}", self._kwargs[f"grpc_{key}"])
                for key in ("max_send_message_length", "max_receive_message_length")
            ],
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
    ``host="0.0.0.0"`` (set to ``bind_address`` here); ``_register_endpoints``
    and ``_add_exception_handlers`` are extended (ours first, so they take
    precedence); ``start``/``run`` silence FastAPI's per-request
    ``ORJSONResponse`` deprecation warning first.
    """

    def __init__(
        self, *args: Any, bind_address: str, metrics_dir: str | None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.config.host = bind_address
        self.metrics_dir = metrics_dir

    async def start(self) -> None:
        rest.silence_fastapi_deprecations()
        await super().start()

    def run(self, sockets: list[socket] | None = None) -> None:
        """Entry point of each worker process when ``--workers`` > 1."""
        rest.silence_fastapi_deprecations()
        super().run(sockets=sockets)

    def _register_endpoints(self, app: FastAPI) -> None:
        dataplane = self.dataplane

        async def metrics(request: Request) -> Response:
            return rest.metrics_response(request, self.metrics_dir)

        async def server_ready() -> JSONResponse:
            return await rest.server_ready(dataplane)

        async def model_ready(model_name: str) -> JSONResponse:
            return await rest.model_ready(dataplane, model_name)

        async def metadata(model_name: str) -> JSONResponse:
            return await rest.metadata(dataplane, model_name)

        app.add_api_route("/metrics", metrics, methods=["GET"])
        app.add_api_route("/v2/health/ready", server_ready, methods=["GET"])
        app.add_api_route("/v2/models/{model_name}", metadata, methods=["GET"])
        app.add_api_route("/v2/models/{model_name}/ready", model_ready, methods=["GET"])
        app.add_api_route("/v1/models/{model_name}", model_ready, methods=["GET"])
        super()._register_endpoints(app)

    def _add_exception_handlers(self, app: FastAPI) -> None:
        super()._add_exception_handlers(app)
        app.add_exception_handler(RequestValidationError, rest.not_v2_handler)  # type: ignore[arg-type]
        app.add_exception_handler(InvalidInput, rest.invalid_input_handler)
        app.add_exception_handler(ServingError, rest.serving_error_handler)  # type: ignore[arg-type]
        app.add_exception_handler(ModelNotReady, self._not_ready_handler)

    async def _not_ready_handler(self, _: Request, exc: ModelNotReady) -> JSONResponse:
        response = rest.not_ready(self.dataplane, exc.model_name)
        logger.warning("request refused, model %s is not ready", exc.model_name)
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
    ``workers`` > 1 (see :func:`serving.metrics.prepare`).
    """

    def __init__(self, *, bind_address: str, metrics_dir: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind_address = bind_address
        self.metrics_dir = metrics_dir
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
        self.setup_event_loop()
        self.register_signal_handler()
        asyncio.run(self._serve())

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
        )

    def _grpc(self) -> BoundGRPCServer:
        return BoundGRPCServer(
            self.grpc_port,
            self.dataplane,
            self.model_repository_extension,
            kwargs=vars(kserve_args),
            grace_period=self.grace_period,
            bind_address=self.bind_address,
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

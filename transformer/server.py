"""KServe's ModelServer with a bind address, shared by transformer and predictor.

KServe 0.21 listens on ``0.0.0.0`` (REST) and ``[::]`` (gRPC) with no flag.
:class:`BoundModelServer` starts the same REST server(s) and gRPC server
bound to ``--bind_address`` (default ``0.0.0.0`` so containers keep
listening on all interfaces; local runs and tests pass ``127.0.0.1``). It
also keeps models that failed to load registered and *not ready* (with their
reason) instead of exiting, which is what a Kubernetes readiness probe needs.
"""

from __future__ import annotations

import time
from concurrent import futures
from socket import socket
from typing import Any

from grpc import StatusCode, aio
from kserve.errors import InvalidInput, ModelNotReady
from kserve.logging import logger
from kserve.model import BaseKServeModel
from kserve.model_server import ModelServer
from kserve.model_server import args as kserve_args
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc
from kserve.protocol.grpc.interceptors import ExceptionToStatusInterceptor
from kserve.protocol.grpc.server import GRPCServer
from kserve.protocol.grpc.servicer import InferenceServicer
from kserve.protocol.rest.multiprocess.server import RESTServerMultiProcess, RESTServerProcess

from transformer.dataplane import LenientDataPlane
from transformer.errors import ServingError
from transformer.rest import BoundRESTServer, loggable
from transformer.settings import ServerSettings

FASTAPI_APP = "kserve.model_server:app"


def configure_logging(settings: ServerSettings) -> None:
    """KServe's log format from the first line on (the model loads before ModelServer exists)."""
    if settings.configure_logging:
        from kserve import logging as kserve_logging

        kserve_logging.configure_logging(settings.log_config_file)


def listen_address(host: str, port: int) -> str:
    """``host:port`` for gRPC, with IPv6 literals bracketed."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


class ReasonInterceptor(ExceptionToStatusInterceptor):
    """Maps our errors (and KServe's ModelNotReady, which lacks ``reason``) to statuses."""

    async def handle_exception(
        self, ex: Exception, request_or_iterator: Any, context: Any, method_name: str
    ) -> None:
        if isinstance(ex, ServingError):
            logger.warning("%s: %s (%s)", type(ex).__name__, ex.log_text, method_name)
            await context.abort(ex.grpc_code, ex.reason)
        elif isinstance(ex, InvalidInput):
            logger.warning("bad request: %s (%s)", loggable(ex.reason), method_name)
            await context.abort(StatusCode.INVALID_ARGUMENT, ex.reason)
        elif isinstance(ex, ModelNotReady):
            await context.abort(StatusCode.UNAVAILABLE, str(ex))
        else:
            await super().handle_exception(ex, request_or_iterator, context, method_name)


class MetadataServicer(InferenceServicer):
    """Sends a model's ``metadata_extras()['parameters']`` as trailing metadata.

    The v2 gRPC ModelMetadataResponse has no parameters field; REST clients
    read the same values from the JSON body.
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
    """KServe's gRPC server on ``bind_address`` with our servicer and interceptor."""

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


class PatientMultiProcess(RESTServerMultiProcess):
    """KServe's worker supervisor, with a start-up grace period.

    KServe kills a worker that does not answer a liveness ping within 5 s,
    including one still importing its libraries and loading its model: on a
    busy machine that restarts workers forever. New workers get
    ``start_grace_seconds`` before the ping applies.
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

    ``metrics_dir`` is the prometheus multiprocess directory when
    ``workers`` > 1 (see :func:`transformer.metrics.prepare`).
    """

    def __init__(self, *, bind_address: str, metrics_dir: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind_address = bind_address
        self.metrics_dir = metrics_dir
        # NaN in v1 bodies as on the v2 route (see transformer.dataplane).
        self.dataplane = LenientDataPlane(model_registry=self.registered_models)

    def start(self, models: list[BaseKServeModel]) -> None:
        self._register_all(models)
        rest = self._rest()
        if self.workers > 1:
            self._rest_multiprocess_server = PatientMultiProcess(
                FASTAPI_APP, self.dataplane, self.model_repository_extension, self.http_port,
                workers=self.workers, log_config_file=kserve_args.log_config_file,
            )  # fmt: skip
            # Its workers run our server's ``run`` (bind address, routes, metrics).
            self._rest_multiprocess_server._rest_server = rest
            self.servers.append(self._rest_multiprocess_server.start())
        else:
            self._rest_server = rest
            self.servers.append(rest.start())
        if self.enable_grpc:
            self._grpc_server = self._grpc()
            self.servers.append(self._grpc_server.start(self.max_threads))
        self.setup_event_loop()
        self.register_signal_handler()
        import asyncio

        asyncio.run(self._serve())

    def _rest(self) -> BoundRESTServer:
        return BoundRESTServer(
            FASTAPI_APP, self.dataplane, self.model_repository_extension, self.http_port,
            access_log_format=self.access_log_format, workers=self.workers,
            grace_period=self.grace_period, event_loop=self.event_loop,
            timeout_keep_alive=self.timeout_keep_alive, ssl_certfile=self.ssl_certfile,
            ssl_keyfile=self.ssl_keyfile, bind_address=self.bind_address,
            metrics_dir=self.metrics_dir,
        )  # fmt: skip

    def _grpc(self) -> BoundGRPCServer:
        return BoundGRPCServer(
            self.grpc_port, self.dataplane, self.model_repository_extension,
            kwargs=vars(kserve_args), grace_period=self.grace_period,
            bind_address=self.bind_address,
        )  # fmt: skip

    def _register_all(self, models: list[BaseKServeModel]) -> None:
        """Register every model, ready or not: a not-ready one answers 503 with its reason.

        Nothing is logged here: a model that failed to load said why already.
        """
        for model in models:
            self.register_model(model)
            model.enable_latency_logging = self.enable_latency_logging
            model.start()

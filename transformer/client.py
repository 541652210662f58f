"""The transformer's calls to the predictor over REST v2 or gRPC v2.

Every failure becomes a :mod:`transformer.errors` error with a clear reason
and a bounded wait: a predictor 4xx is passed back as a 4xx, a predictor
that is down, refuses or times out is :class:`PredictorUnavailableError` (503 /
UNAVAILABLE). Clients are created lazily inside the serving event loop (and
in each worker process), never at import or pickling time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from grpc import aio
from kserve.inference_client import InferenceRESTClient, RESTConfig
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from kserve.protocol.infer_type import InferRequest, InferResponse

from transformer.errors import (
    GRPC_TO_ERROR,
    PredictorFailedError,
    PredictorRejectedError,
    PredictorUnavailableError,
    ServingError,
)

#: Reconnect quickly after the predictor comes back (gRPC's default backs off to 120 s).
_CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2000),
]


@dataclass(frozen=True)
class PredictorMetadata:
    """What the predictor says about its model (v2 metadata + our parameters)."""

    name: str
    versions: list[str]
    inputs: list[dict[str, Any]]
    parameters: dict[str, str] = field(default_factory=dict)


class PredictorClient(Protocol):
    async def infer(self, request: InferRequest) -> InferResponse: ...
    async def metadata(self, model_name: str, timeout: float) -> PredictorMetadata: ...


class RestPredictor:
    """REST v2 at ``http://host:port``."""

    def __init__(self, host: str, timeout: float) -> None:
        self.base_url = f"http://{host}"
        self.timeout = timeout
        self._client: InferenceRESTClient | None = None

    @property
    def client(self) -> InferenceRESTClient:
        if self._client is None:
            config = RESTConfig(protocol="v2", timeout=self.timeout, retries=0)
            self._client = InferenceRESTClient(config)
        return self._client

    async def infer(self, request: InferRequest) -> InferResponse:
        try:
            response = await self.client.infer(
                self.base_url, data=request, model_name=str(request.model_name)
            )
        except httpx.HTTPStatusError as exc:
            raise _from_http(exc.response) from None
        except httpx.TransportError as exc:
            raise _unreachable(self.base_url, exc) from None
        assert isinstance(response, InferResponse)
        return response

    async def metadata(self, model_name: str, timeout: float) -> PredictorMetadata:
        url = f"{self.base_url}/v2/models/{model_name}"
        try:
            async with httpx.AsyncClient(timeout=timeout) as http:
                response = await http.get(url)
        except httpx.TransportError as exc:
            raise _unreachable(self.base_url, exc) from None
        if not response.is_success:
            raise _from_http(response)
        body = response.json()
        params = {str(k): str(v) for k, v in (body.get("parameters") or {}).items()}
        return PredictorMetadata(body["name"], body.get("versions") or [], body["inputs"], params)


class GrpcPredictor:
    """gRPC v2 at ``host:port``."""

    def __init__(self, host: str, timeout: float) -> None:
        self.host = host
        self.timeout = timeout
        self._stub: GRPCInferenceServiceStub | None = None

    @property
    def stub(self) -> GRPCInferenceServiceStub:
        if self._stub is None:
            channel = aio.insecure_channel(self.host, options=_CHANNEL_OPTIONS)
            self._stub = GRPCInferenceServiceStub(channel)
        return self._stub

    async def infer(self, request: InferRequest) -> InferResponse:
        try:
            response = await self.stub.ModelInfer(request.to_grpc(), timeout=self.timeout)
        except aio.AioRpcError as exc:
            raise _from_grpc(self.host, exc) from None
        return InferResponse.from_grpc(response)

    async def metadata(self, model_name: str, timeout: float) -> PredictorMetadata:
        try:
            request = pb.ModelMetadataRequest(name=model_name)
            call = self.stub.ModelMetadata(request, timeout=timeout)
            response = await call
            trailing = await call.trailing_metadata()
        except aio.AioRpcError as exc:
            raise _from_grpc(self.host, exc) from None
        inputs = [
            {"name": t.name, "datatype": t.datatype, "shape": list(t.shape)}
            for t in response.inputs
        ]
        params = {str(k): str(v) for k, v in (trailing or ())}
        return PredictorMetadata(response.name, list(response.versions), inputs, params)


def make_client(protocol: str, host: str, timeout: float) -> RestPredictor | GrpcPredictor:
    return GrpcPredictor(host, timeout) if protocol == "grpc-v2" else RestPredictor(host, timeout)


def _unreachable(where: str, exc: Exception) -> PredictorUnavailableError:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "is unreachable"
    return PredictorUnavailableError(f"the predictor at {where} {kind} ({type(exc).__name__})")


def _from_http(response: httpx.Response) -> ServingError:
    try:
        message = str(response.json().get("error", response.text))
    except ValueError:
        message = response.text[:300]
    text = f"predictor answered {response.status_code}: {message}"
    if response.status_code in (502, 503, 504):
        return PredictorUnavailableError(text)
    if 400 <= response.status_code < 500:
        return PredictorRejectedError(text, response.status_code)
    return PredictorFailedError(text)


def _from_grpc(host: str, exc: aio.AioRpcError) -> ServingError:
    code = exc.code()
    text = f"predictor at {host} answered {code.name}: {exc.details()}"
    if code in GRPC_TO_ERROR:
        return GRPC_TO_ERROR[code](text)
    if code.name in ("INVALID_ARGUMENT", "NOT_FOUND", "FAILED_PRECONDITION", "OUT_OF_RANGE"):
        return PredictorRejectedError(text, 404 if code.name == "NOT_FOUND" else 400)
    return PredictorFailedError(text)

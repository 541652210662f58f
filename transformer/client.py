"""The transformer's calls to the predictor over REST v2 or gRPC v2.

Every failure becomes a :mod:`transformer.client_errors` error with a clear reason
and a bounded wait: a predictor 4xx is passed back as a 4xx, a predictor
that is down, refuses or times out is :class:`PredictorUnavailableError` (503 /
UNAVAILABLE). Reasons say "the predictor", never its internal address.

One client per process, reused by requests and metadata checks alike. It is
created lazily inside the serving event loop (and in each worker process),
never at import or pickling time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import grpc
import orjson
from grpc import aio
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from kserve.protocol.infer_type import InferRequest, InferResponse

from serving import request_id
from transformer.client_errors import from_grpc, from_http, unreachable
from transformer.settings import predictor_address

#: Reconnect quickly after the predictor comes back (gRPC's default backs off to 120 s).
_CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2000),
]
#: gRPC refuses a retry policy with more attempts than this.
_GRPC_MAX_ATTEMPTS = 5
_INFERENCE_HEADER = "inference-header-content-length"


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
    async def close(self) -> None: ...


@dataclass(frozen=True)
class HttpAnswer:
    """A predictor's HTTP answer, read whole."""

    status: int
    headers: Mapping[str, str]
    content: bytes


class RestPredictor:
    """REST v2 at ``http(s)://host:port``; ``retries`` re-dials failed connections.

    One aiohttp session (a keep-alive connection pool) per process: per
    request it costs a quarter of the CPU httpx did (docs/performance.md).
    A connection the predictor closed while idle is re-dialled once whatever
    ``retries`` says: inference and metadata change nothing on the predictor.
    """

    def __init__(self, host: str, timeout: float, retries: int = 0, use_ssl: bool = False):
        self.base_url = f"{'https' if use_ssl else 'http'}://{predictor_address(host, use_ssl)}"
        self.timeout = timeout
        self.retries = retries
        self._http: aiohttp.ClientSession | None = None

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                base_url=self.base_url,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        return self._http

    async def infer(self, request: InferRequest) -> InferResponse:
        body, json_length = request.to_rest()
        headers = {"content-type": "application/json"}
        if json_length:
            headers = {
                "content-type": "application/octet-stream",
                _INFERENCE_HEADER: str(json_length),
            }
        if request.id:
            headers[request_id.HEADER] = request.id
        content = body if isinstance(body, bytes) else orjson.dumps(body)
        url = f"/v2/models/{request.model_name}/infer"
        answer = await self._send("POST", url, data=content, headers=headers)
        length = answer.headers.get(_INFERENCE_HEADER)
        if length:
            return InferResponse.from_bytes(answer.content, int(length))
        return InferResponse.from_rest(orjson.loads(answer.content))

    async def metadata(self, model_name: str, timeout: float) -> PredictorMetadata:
        limit = aiohttp.ClientTimeout(total=timeout)
        answer = await self._send("GET", f"/v2/models/{model_name}", timeout=limit)
        body = orjson.loads(answer.content)
        params = {str(k): str(v) for k, v in (body.get("parameters") or {}).items()}
        return PredictorMetadata(body["name"], body.get("versions") or [], body["inputs"], params)

    async def _send(self, method: str, url: str, **kwargs: Any) -> HttpAnswer:
        dials, redialled = self.retries, False
        while True:
            try:
                answer = await self._exchange(method, url, **kwargs)
            except aiohttp.ClientConnectorError as exc:
                if dials <= 0:
                    raise unreachable(exc) from None
                dials -= 1
            except aiohttp.ServerDisconnectedError as exc:
                if redialled:
                    raise unreachable(exc) from None
                redialled = True
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise unreachable(exc) from None
            else:
                if not 200 <= answer.status < 300:
                    raise from_http(answer.status, answer.content)
                return answer

    async def _exchange(self, method: str, url: str, **kwargs: Any) -> HttpAnswer:
        async with self.http.request(method, url, **kwargs) as response:
            content = await response.read()
            return HttpAnswer(response.status, response.headers, content)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


class GrpcPredictor:
    """gRPC v2 at ``host:port``; ``retries`` retries calls that fail UNAVAILABLE."""

    def __init__(self, host: str, timeout: float, retries: int = 0, use_ssl: bool = False):
        self.target = predictor_address(host, use_ssl)
        self.timeout = timeout
        self.retries = retries
        self.use_ssl = use_ssl
        self._channel: aio.Channel | None = None
        self._stub: GRPCInferenceServiceStub | None = None

    def channel_options(self) -> list[tuple[str, Any]]:
        if self.retries <= 0:
            return [*_CHANNEL_OPTIONS, ("grpc.enable_retries", 0)]
        policy = {
            "maxAttempts": min(self.retries + 1, _GRPC_MAX_ATTEMPTS),
            "initialBackoff": "0.1s",
            "maxBackoff": "1s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        }
        config = {"methodConfig": [{"name": [{}], "retryPolicy": policy}]}
        return [
            *_CHANNEL_OPTIONS,
            ("grpc.enable_retries", 1),
            ("grpc.service_config", json.dumps(config)),
        ]

    @property
    def stub(self) -> GRPCInferenceServiceStub:
        if self._stub is None:
            options = self.channel_options()
            if self.use_ssl:
                credentials = grpc.ssl_channel_credentials()
                self._channel = aio.secure_channel(self.target, credentials, options=options)
            else:
                self._channel = aio.insecure_channel(self.target, options=options)
            self._stub = GRPCInferenceServiceStub(self._channel)
        return self._stub

    async def infer(self, request: InferRequest) -> InferResponse:
        try:
            metadata = ((request_id.HEADER, request.id),) if request.id else None
            call = self.stub.ModelInfer(request.to_grpc(), timeout=self.timeout, metadata=metadata)
            response = await call
        except aio.AioRpcError as exc:
            raise from_grpc(exc, self.target) from None
        return InferResponse.from_grpc(response)

    async def metadata(self, model_name: str, timeout: float) -> PredictorMetadata:
        try:
            request = pb.ModelMetadataRequest(name=model_name)
            call = self.stub.ModelMetadata(request, timeout=timeout)
            response = await call
            trailing = await call.trailing_metadata()
        except aio.AioRpcError as exc:
            raise from_grpc(exc, self.target) from None
        inputs = [
            {"name": t.name, "datatype": t.datatype, "shape": list(t.shape)}
            for t in response.inputs
        ]
        params = {str(k): str(v) for k, v in (trailing or ())}
        return PredictorMetadata(response.name, list(response.versions), inputs, params)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
        self._channel = self._stub = None


def make_client(
    protocol: str, host: str, timeout: float, retries: int = 0, use_ssl: bool = False
) -> RestPredictor | GrpcPredictor:
    kind = GrpcPredictor if protocol == "grpc-v2" else RestPredictor
    return kind(host, timeout, retries, use_ssl)

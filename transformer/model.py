"""The transformer: validate patient records, call the predictor, explain the result.

``preprocess`` turns a v2 or v1 request into the contract's FP32 matrix (a
400 / INVALID_ARGUMENT listing every problem otherwise), ``predict`` sends it
to the predictor, ``postprocess`` returns ``risk``, ``label`` and the model
version. Readiness includes a cached, single-flight check of the
predictor's metadata against the contract (:mod:`transformer.handshake`,
:mod:`transformer.readiness`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from kserve import Model
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import InferRequest

from serving.errors import InvalidRequestError, NotReadyError
from serving.problems import ValidationError
from transformer import decode, handshake
from transformer.client import GrpcPredictor, RestPredictor, make_client
from transformer.contract import CONTRACT_HASH, FEATURE_NAMES, FEATURES
from transformer.readiness import CachedCheck
from transformer.settings import TransformerSettings

#: The metadata check never waits longer than this, whatever the request timeout.
HANDSHAKE_TIMEOUT_SECONDS = 3.0


class HeartTransformer(Model):
    def __init__(self, settings: TransformerSettings) -> None:
        super().__init__(settings.server.model_name)
        self.settings = settings
        self._client: RestPredictor | GrpcPredictor | None = None
        self.timeout = min(settings.timeout_seconds, HANDSHAKE_TIMEOUT_SECONDS)
        self.checks = CachedCheck(
            self._check_predictor,
            settings.contract_check_interval_seconds,
            deadline=self.timeout + 1.0,
            first=handshake.Handshake("the predictor has not been checked yet"),
        )
        self.ready = True

    def __getstate__(self) -> dict[str, Any]:
        """Worker processes get a fresh client (gRPC channels do not cross processes)."""
        return {**self.__dict__, "_client": None}

    @property
    def client(self) -> RestPredictor | GrpcPredictor:
        if self._client is None:
            s = self.settings
            self._client = make_client(
                s.predictor_protocol, s.predictor_host, s.timeout_seconds, s.retries, s.use_ssl
            )
        return self._client

    def start(self) -> None:
        """Keep readiness to :meth:`healthy` (KServe's default would force it True)."""

    @property
    def not_ready_reason(self) -> str:
        return self.checks.last.reason

    async def healthy(self) -> bool:
        """From the last predictor check, never waiting for the predictor (see readiness)."""
        return self.ready and self.checks.current().ok

    def check_at_startup(self) -> handshake.Handshake:
        """One check before serving, in its own event loop (its client is then closed)."""
        loop = asyncio.new_event_loop()  # not asyncio.run: KServe's start needs a current loop
        try:
            return loop.run_until_complete(self._startup_check())
        finally:
            loop.close()

    async def _startup_check(self) -> handshake.Handshake:
        try:
            return await self.checks.refresh()
        finally:
            await self.client.close()
            self._client = None

    async def _check_predictor(self) -> handshake.Handshake:
        return await handshake.check(self.client, self.name, self.timeout)

    async def preprocess(self, payload: Any, headers: Any = None) -> InferRequest:
        max_rows = self.settings.max_batch_size
        try:
            if isinstance(payload, InferRequest):
                _check_outputs(payload)
                matrix = decode.v2_matrix(payload, max_rows)
            else:
                matrix = decode.v1_matrix(payload, max_rows)
        except ValidationError as exc:
            raise InvalidRequestError(exc.problems, FEATURE_NAMES) from None
        request_id = payload.id if isinstance(payload, InferRequest) else None
        return decode.features_request(matrix, self.name, request_id)

    async def predict(self, payload: Any, headers: Any = None, response_headers: Any = None) -> Any:
        if not await self.healthy():
            raise NotReadyError(f"model {self.name} is not ready: {self.not_ready_reason}")
        return await self.client.infer(payload)

    async def __call__(self, body: Any, headers: Any = None, verb: Any = None) -> Any:
        response, response_headers = await super().__call__(body, headers=headers)
        risk, labels = decode.risk_and_labels(response)
        version = response.model_version or self.checks.last.model_version
        if isinstance(body, InferRequest):
            return decode.v2_response(risk, labels, version, body), response_headers
        return decode.v1_response(risk, labels, version), response_headers

    def get_input_types(self) -> list[dict[str, Any]]:
        return [
            {"name": f.name, "datatype": "BYTES" if f.codes else "FP32", "shape": [-1]}
            for f in FEATURES
        ]

    def get_output_types(self) -> list[dict[str, Any]]:
        return [
            {"name": "risk", "datatype": "FP32", "shape": [-1]},
            {"name": "label", "datatype": "BYTES", "shape": [-1]},
        ]

    def metadata_extras(self) -> dict[str, Any]:
        version = self.checks.last.model_version
        return {
            "versions": [version] if version else [],
            "parameters": {
                "contract_hash": CONTRACT_HASH,
                "predictor_model_version": version,
                "predictor_protocol": self.settings.predictor_protocol,
            },
        }


def _check_outputs(request: InferRequest) -> None:
    unknown = [o.name for o in request.request_outputs or [] if o.name not in decode.OUTPUTS]
    if unknown:
        raise InvalidInput(f"unknown outputs {unknown}: this model returns {list(decode.OUTPUTS)}")

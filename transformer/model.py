"""The transformer: validate patient records, call the predictor, explain the result.

``preprocess`` turns a v2 or v1 request into the contract's FP32 matrix (a
400 / INVALID_ARGUMENT listing every problem otherwise), ``predict`` sends it
to the predictor, ``postprocess`` returns ``risk``, ``label`` and the model
version. Readiness includes a cached, single-flight check of the
predictor's metadata against the contract (:mod:`transformer.handshake`,
:mod:`transformer.readiness`). The rows of each answered request feed the
drift window of the model version that answered (:mod:`transformer.drift`).
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

import numpy as np
from kserve import Model
from kserve.protocol.infer_type import InferRequest
from prometheus_client.metrics_core import Metric

from serving import outputs, request_id, telemetry, trace
from serving.errors import InvalidRequestError, NotReadyError
from serving.problems import ValidationError
from transformer import decode, drift, handshake, hop
from transformer.client import GrpcPredictor, RestPredictor, make_client
from transformer.contract import CONTRACT_HASH, FEATURE_NAMES, FEATURES
from transformer.readiness import CachedCheck
from transformer.settings import TransformerSettings

#: The metadata check never waits longer than this, whatever the request timeout.
HANDSHAKE_TIMEOUT_SECONDS = 3.0
#: The contract matrix of the request being served (for the drift window).
_MATRIX: ContextVar[np.ndarray | None] = ContextVar("heart_matrix", default=None)


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
        self.drift: drift.DriftTracker | None = None
        if settings.drift_window_rows > 0:
            self.drift = drift.DriftTracker(
                settings.drift_window_rows, settings.drift_update_seconds, settings.server.workers
            )
        self._publishing: asyncio.TimerHandle | None = None
        self.ready = True

    def __getstate__(self) -> dict[str, Any]:
        """Worker processes get a fresh client (gRPC channels do not cross processes)."""
        return {**self.__dict__, "_client": None, "_publishing": None}

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
        result = await handshake.check(self.client, self.name, self.timeout)
        telemetry.readiness(result.ok)
        if self.drift is not None and result.ok:
            self.drift.learn(result.model_version, result.profile)
        return result

    async def preprocess(self, payload: Any, headers: Any = None) -> InferRequest:
        max_rows = self.settings.max_batch_size
        try:
            with trace.stage("validate"):
                if isinstance(payload, InferRequest):
                    outputs.wanted(payload, decode.OUTPUTS)
                    matrix = decode.v2_matrix(payload, max_rows)
                else:
                    matrix = decode.v1_matrix(payload, max_rows)
        except ValidationError as exc:
            raise InvalidRequestError(exc.problems, FEATURE_NAMES) from None
        trace.note(rows=len(matrix))
        _MATRIX.set(matrix)
        return decode.features_request(matrix, self.name, request_id.current() or None)

    async def predict(self, payload: Any, headers: Any = None, response_headers: Any = None) -> Any:
        if not await self.healthy():
            raise NotReadyError(f"model {self.name} is not ready: {self.not_ready_reason}")
        return await hop.infer(self.client, payload, self.settings.predictor_protocol)

    async def __call__(self, body: Any, headers: Any = None, verb: Any = None) -> Any:
        response, response_headers = await super().__call__(body, headers=headers)
        risk, labels = decode.risk_and_labels(response)
        version = response.model_version or self.checks.last.model_version
        trace.note(model_version=version)
        self._observe_drift(version)
        with trace.stage("encode"):
            if isinstance(body, InferRequest):
                return decode.v2_response(risk, labels, version, body), response_headers
            return decode.v1_response(risk, labels, version), response_headers

    def _observe_drift(self, version: str) -> None:
        matrix = _MATRIX.get()
        if self.drift is None or matrix is None:
            return
        self.drift.observe(matrix, version)
        if self.drift.due and self._publishing is None:  # publish a quiet tail too
            loop = asyncio.get_running_loop()
            self._publishing = loop.call_later(self.drift.update_seconds, self._publish_drift)

    def _publish_drift(self) -> None:
        self._publishing = None
        if self.drift is not None and self.drift.due:
            self.drift.publish()

    def derive_metrics(self, families: list[Metric]) -> Any:
        """/metrics: drift scores from the summed windows (:func:`transformer.drift.derive`)."""
        return drift.derive(families, self.settings.drift_min_rows)

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

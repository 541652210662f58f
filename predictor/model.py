"""The predictor: a ``kserve.Model`` serving a model directory over v2 (and v1).

``load`` fetches the directory, checks ``model.json`` and the digest of the
file the engine loads (``model.onnx`` by default, never unpickled), and only
then loads it; on any failure the model stays registered but not ready, with
the reason in one log line and in every 503. ``predict`` calls
:func:`predictor.inference.predict`, the same function the batch scorer uses,
and counts what it answers (:mod:`predictor.metrics`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kserve import Model
from kserve.logging import logger
from kserve.protocol.infer_type import InferRequest, InferResponse

from predictor import inference, metrics, storage, tensors
from predictor.manifest import ManifestError
from predictor.settings import PredictorSettings
from serving import outputs, profile, telemetry, trace
from serving.errors import NotReadyError

#: How long a request waits for a worker's model copy before a 503.
WARM_UP_TIMEOUT_SECONDS = 60.0


class HeartPredictor(Model):
    def __init__(self, settings: PredictorSettings) -> None:
        super().__init__(settings.server.model_name)
        self.settings = settings
        self.loaded: inference.LoadedModel | None = None
        self.not_ready_reason = "the model is not loaded yet"
        self._local_dir: Path | None = None
        self._warming: threading.Thread | None = None

    def __getstate__(self) -> dict[str, Any]:
        """What a ``--workers`` > 1 process receives: no loaded model, no thread."""
        return {**self.__dict__, "loaded": None, "_warming": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """In a worker: re-load from the parent's local copy in the background.

        KServe kills a worker that does not answer its liveness ping within
        5 s, and a fast engine may take longer than that to build.
        """
        self.__dict__.update(state)
        if state.get("ready") and self._local_dir is not None:
            self.ready = False
            self.not_ready_reason = "warming up in this worker"
            self._warming = threading.Thread(target=self._load_local, args=(self._local_dir,))
            self._warming.start()

    async def healthy(self) -> bool:
        """Requests reaching a warming worker wait for it rather than fail."""
        if self._warming is not None and self._warming.is_alive():
            await asyncio.to_thread(self._warming.join, WARM_UP_TIMEOUT_SECONDS)
        return self.ready

    def start(self) -> None:
        """Readiness is set by :meth:`load` alone (KServe's default would force it True)."""

    def load(self) -> bool:
        if self._warming is not None:  # a worker still building its copy: wait for it
            self._warming.join(timeout=WARM_UP_TIMEOUT_SECONDS)
            return self.ready
        s = self.settings
        if storage.is_remote(s.model_dir):
            logger.info("fetching %s (at most %g s)", s.model_dir, s.storage_timeout_seconds)
        try:
            self._local_dir = storage.fetch(
                s.model_dir, timeout=s.storage_timeout_seconds, pvc_mount_path=s.pvc_mount_path
            )
        except Exception as exc:  # any storage failure: not ready, never a crash
            return self._refuse(exc)
        return self._load_local(self._local_dir)

    def _load_local(self, local: Path) -> bool:
        try:
            s = self.settings
            self.loaded = inference.load(local, s.engine, pinned_sha256=s.model_sha256)
        except Exception as exc:  # a bad manifest, a file that does not unpickle...
            return self._refuse(exc)
        manifest = self.loaded.manifest
        logger.info(
            "loaded %s version %s (%s, threshold %.3f, engine %s)",
            manifest.model_name,
            manifest.model_version or "-",
            manifest.model_family,
            manifest.threshold,
            self.loaded.serving,
        )
        metrics.loaded(self.loaded, self.name)
        telemetry.readiness(True)
        self.not_ready_reason = ""
        self.ready = True
        return True

    def _refuse(self, exc: Exception) -> bool:
        """Not ready: the reason in every 503, and once in the log with where the files are.

        The 503 names files (``model.onnx``), never a local path or storage
        address: those are for the operator's log.
        """
        known = isinstance(exc, ManifestError | storage.StorageError)
        reason = str(exc) if known else "its file would not load (the server log says why)"
        self.not_ready_reason = f"the model could not be loaded: {reason}"
        where = self.settings.model_dir
        if self._local_dir is not None and str(self._local_dir) != where:
            where += f" (files at {self._local_dir})"
        detail = getattr(exc, "detail", "") or ("" if known else storage.one_line(exc))
        logger.error("refusing to load %s: %s%s", where, reason, f": {detail}" if detail else "")
        telemetry.readiness(False)
        self.ready = False
        return False

    def _model(self) -> inference.LoadedModel:
        if self.loaded is None:
            raise NotReadyError(f"model {self.name} is not ready: {self.not_ready_reason}")
        return self.loaded

    def predict(self, payload: Any, headers: Any = None, response_headers: Any = None) -> Any:
        model = self._model()
        if isinstance(payload, InferRequest):
            return self._predict_v2(model, payload)
        return self._predict_v1(model, payload)

    def _predict_v2(self, model: inference.LoadedModel, request: InferRequest) -> InferResponse:
        with trace.stage("decode"):
            outputs.wanted(request, tensors.OUTPUTS)
            order = model.manifest.feature_order
            matrix = tensors.to_matrix(request, order, self.settings.max_batch_size)
        prediction = self._score(model, matrix)
        version = model.manifest.model_version
        with trace.stage("encode"):
            return outputs.response(
                request,
                tensors.to_outputs(prediction),
                model_name=self.name,
                model_version=version,
                parameters={
                    "model_version": version,
                    "contract_hash": model.manifest.contract_hash,
                },
            )

    def _score(self, model: inference.LoadedModel, matrix: Any) -> inference.Prediction:
        trace.note(rows=len(matrix), model_version=model.manifest.model_version)
        with trace.stage("model"):
            prediction = inference.predict(model, matrix)
        metrics.scored(model, prediction)
        return prediction

    def _predict_v1(self, model: inference.LoadedModel, body: Any) -> dict[str, Any]:
        instances = body.get("instances") if isinstance(body, Mapping) else None
        if not isinstance(instances, list) or not instances:
            raise tensors.bad_request('expected {"instances": [[13 numbers], ...]} or v2')
        order = model.manifest.feature_order
        with trace.stage("decode"):
            matrix = tensors.v1_matrix(instances, order, self.settings.max_batch_size)
        prediction = self._score(model, matrix)
        rows = zip(prediction.probability.tolist(), prediction.label.tolist(), strict=True)
        return {
            "predictions": [{"probability": p, "label": int(label)} for p, label in rows],
            "model_version": model.manifest.model_version,
        }

    def get_input_types(self) -> list[dict[str, Any]]:
        width = len(self.loaded.manifest.feature_order) if self.loaded else -1
        return [{"name": "features", "datatype": "FP32", "shape": [-1, width]}]

    def get_output_types(self) -> list[dict[str, Any]]:
        return [
            {"name": "probability", "datatype": "FP32", "shape": [-1]},
            {"name": "label", "datatype": "INT32", "shape": [-1]},
        ]

    def metadata_extras(self) -> dict[str, Any]:
        """Model version and contract hash for clients and the transformer's check."""
        if self.loaded is None:
            return {"parameters": {"ready": "false", "reason": self.not_ready_reason}}
        m = self.loaded.manifest
        params = {
            "contract_hash": m.contract_hash,
            "feature_order": ",".join(m.feature_order),
            "model_version": m.model_version,
            "model_family": m.model_family,
            "threshold": str(m.threshold),
            "sklearn_version": m.sklearn_version,
            "engine": self.loaded.serving,
        }
        if m.reference_profile:  # the transformer's drift baseline
            params["reference_profile"] = profile.compact(m.reference_profile)
        return {"versions": [m.model_version] if m.model_version else [], "parameters": params}

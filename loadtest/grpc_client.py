"""The v2 gRPC call of :class:`loadtest.locustfile.PredictorGrpcUser`, reported to Locust.

grpc's blocking stubs are made gevent-friendly with ``init_gevent`` (the
Locust way for gRPC), so many users share one process. The request is the
predictor's FP32 [N, 13] tensor; the answer must carry N probabilities in
[0, 1] (from typed contents or raw bytes, whichever the server sends).
"""

from __future__ import annotations

import time
from typing import Any

import grpc
import grpc.experimental.gevent as grpc_gevent
import numpy as np
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc as pb_grpc

from loadtest.checks import check_risks

grpc_gevent.init_gevent()
OUTPUT = "probability"


def _probabilities(response: Any) -> list[float] | None:
    for i, output in enumerate(response.outputs):
        if output.name == OUTPUT:
            if len(response.raw_output_contents) > i:
                raw = response.raw_output_contents[i]
                return [float(v) for v in np.frombuffer(raw, dtype=np.float32)]
            return list(output.contents.fp32_contents)
    return None


class GrpcInfer:
    """One channel to ``target`` (host:port); :meth:`call` fires Locust's request event."""

    def __init__(self, target: str, model: str) -> None:
        self.channel = grpc.insecure_channel(target)
        self.stub = pb_grpc.GRPCInferenceServiceStub(self.channel)
        self.model = model

    def close(self) -> None:
        self.channel.close()

    def request(self, matrix: np.ndarray) -> Any:
        contents = pb.InferTensorContents(fp32_contents=matrix.ravel().tolist())
        tensor = pb.ModelInferRequest().InferInputTensor(
            name="features", datatype="FP32", shape=list(matrix.shape), contents=contents
        )
        return pb.ModelInferRequest(model_name=self.model, inputs=[tensor])

    def call(self, environment: Any, matrix: np.ndarray, name: str) -> None:
        start = time.perf_counter()
        exception: Exception | None = None
        size = 0
        try:
            response = self.stub.ModelInfer(self.request(matrix), timeout=10)
            size = response.ByteSize()
            values = _probabilities(response)
            problem = check_risks(values, len(matrix)) if values else "no probability output"
            if problem:
                exception = AssertionError(problem)
        except grpc.RpcError as exc:
            exception = exc
        environment.events.request.fire(
            request_type="gRPC",
            name=name,
            response_time=(time.perf_counter() - start) * 1000,
            response_length=size,
            exception=exception,
            context={},
        )

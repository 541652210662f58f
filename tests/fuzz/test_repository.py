"""The v2 model repository extension: off by default on both servers, usable when turned on.

The issue's finding: ``POST /v2/repository/models/heart/unload`` answered 200
to anyone, after which inference answered 404, ``/v2/health/ready`` still 200,
``load`` 503 and gRPC ``RepositoryModelUnload`` INTERNAL. The routes are the
Open Inference Protocol's model repository extension as KServe registers them
(kserve/protocol/rest/v2_endpoints.py ``register_v2_endpoints``; the gRPC
methods of grpc_predict_v2.proto).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb

from tests.fuzz.conftest import Pair
from tests.integration.serving_fixtures import Server, predictor_server

pytestmark = pytest.mark.fuzz

SERVICE = "/inference.GRPCInferenceService/"
FEATURES = {"name": "features", "datatype": "FP32", "shape": [1, 13], "data": [1.0] * 13}


def grpc_call(server: Server, method: str, request: object, response: type) -> object:
    with grpc.insecure_channel(server.grpc) as channel:
        call = channel.unary_unary(
            SERVICE + method,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response.FromString,  # type: ignore[attr-defined]
        )
        return call(request, timeout=20)


def grpc_code(server: Server, method: str, request: object, response: type) -> grpc.StatusCode:
    try:
        grpc_call(server, method, request, response)
    except grpc.RpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize("which", ["predictor", "transformer"])
def test_repository_routes_are_off_by_default(fuzz_pair: Pair, which: str) -> None:
    server = getattr(fuzz_pair, which)
    for action in ("unload", "load"):
        response = server.post(f"/v2/repository/models/heart/{action}")
        assert response.status_code == 403
        assert "--enable_model_repository" in response.json()["error"]
    unload = pb.RepositoryModelUnloadRequest(model_name="heart")
    code = grpc_code(server, "RepositoryModelUnload", unload, pb.RepositoryModelUnloadResponse)
    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert server.get("/v2/health/ready").status_code == 200
    assert server.get("/v2/models/heart/ready").status_code == 200


@pytest.fixture
def open_repository(synthetic_model_dir: Path, tmp_path: Path) -> Iterator[Server]:
    extra = ["--enable_model_repository", "true"]
    server = predictor_server(synthetic_model_dir, tmp_path, extra).start()
    try:
        yield server.wait_ready()
    finally:
        server.stop()


def server_ready_over_grpc(server: Server) -> bool:
    answer = grpc_call(server, "ServerReady", pb.ServerReadyRequest(), pb.ServerReadyResponse)
    return bool(answer.ready)  # type: ignore[attr-defined]


def test_turned_on_unload_and_load_work_and_readiness_follows(open_repository: Server) -> None:
    server = open_repository
    assert server.post("/v2/repository/models/heart/unload").json() == {
        "name": "heart",
        "unload": True,
    }
    ready = server.get("/v2/health/ready")
    assert ready.status_code == 503 and ready.json() == {"error": "no model is loaded"}
    assert not server_ready_over_grpc(server)
    assert server.post("/v2/models/heart/infer", json={"inputs": [FEATURES]}).status_code == 404
    assert server.post("/v2/repository/models/heart/unload").status_code == 404

    assert server.post("/v2/repository/models/heart/load").json() == {"name": "heart", "load": True}
    assert server.get("/v2/health/ready").status_code == 200
    assert server.post("/v2/models/heart/infer", json={"inputs": [FEATURES]}).status_code == 200

    unload = pb.RepositoryModelUnloadRequest(model_name="heart")
    answer = grpc_call(server, "RepositoryModelUnload", unload, pb.RepositoryModelUnloadResponse)
    assert answer.isUnloaded  # type: ignore[attr-defined]
    assert not server_ready_over_grpc(server)
    load = pb.RepositoryModelLoadRequest(model_name="heart")
    answer = grpc_call(server, "RepositoryModelLoad", load, pb.RepositoryModelLoadResponse)
    assert answer.isLoaded  # type: ignore[attr-defined]
    assert server_ready_over_grpc(server)
    assert server.get("/v2/models/heart/ready").status_code == 200
    assert server.post("/v2/repository/models/other/load").status_code == 404

"""/metrics counts every request, also with --workers 2; servers listen on loopback only."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import psutil
import pytest
from kserve import InferenceGRPCClient, InferInput, InferRequest

from tests.integration.serving_fixtures import (
    Server,
    pinned_sklearn,
    predictor_server,
    transformer_server,
)
from transformer.synthetic import generate, to_records

pytestmark = pytest.mark.integration

ONE = {"instances": to_records(generate(1, seed=9))}


def count(server: Server, metric: str) -> float:
    """``metric``'s ``_count`` for model ``heart``, summed over label sets."""
    text = server.get("/metrics").text
    pattern = rf'^{metric}_count\{{[^}}]*model_name="heart"[^}}]*\}} ([0-9.e+]+)$'
    return sum(float(v) for v in re.findall(pattern, text, flags=re.MULTILINE))


@pytest.fixture(scope="module")
def two_workers(synthetic_model_dir, serving_logs) -> Iterator[tuple[Server, Server]]:
    """A predictor and a transformer, each with --workers 2."""
    pred = predictor_server(synthetic_model_dir, serving_logs, ["--workers", "2"]).start()
    trans = None
    try:
        pred.wait_ready()
        trans = transformer_server(
            f"127.0.0.1:{pred.http_port}", "v2", serving_logs, ["--workers", "2"]
        ).start()
        yield pred, trans.wait_ready()
    finally:
        for server in (trans, pred):
            if server:
                server.stop()


def test_histograms_count_requests_single_worker(predictor: Server, transformer_rest: Server):
    before = [count(s, "request_predict_seconds") for s in (predictor, transformer_rest)]
    pre_before = count(transformer_rest, "request_preprocess_seconds")
    for _ in range(7):
        assert transformer_rest.post("/v1/models/heart:predict", json=ONE).status_code == 200
    after = [count(s, "request_predict_seconds") for s in (predictor, transformer_rest)]
    assert [a - b for a, b in zip(after, before, strict=True)] == [7, 7]
    assert count(transformer_rest, "request_preprocess_seconds") - pre_before == 7
    assert "request_predict_seconds_bucket" in predictor.get("/metrics").text


def test_histograms_count_all_workers(two_workers: tuple[Server, Server]) -> None:
    pred, trans = two_workers
    for _ in range(12):
        assert trans.post("/v1/models/heart:predict", json=ONE).status_code == 200
    for _ in range(5):  # gRPC is served by the parent process, REST by the workers
        direct_grpc(pred)
    # Each scrape lands on one worker: every one must see all the requests.
    for _ in range(4):
        assert count(trans, "request_predict_seconds") == 12
        assert count(pred, "request_predict_seconds") == 12 + 5


def direct_grpc(server: Server) -> None:
    tensor = InferInput("features", [1, 13], "FP32")
    tensor.set_data_from_numpy(generate(1, seed=2), binary_data=False)

    async def call() -> None:
        client = InferenceGRPCClient(server.grpc, timeout=10, retries=0)
        try:
            await client.infer(InferRequest(model_name="heart", infer_inputs=[tensor]))
        finally:
            await client.close()

    asyncio.run(call())


def listening(server: Server) -> set[str]:
    assert server.process is not None
    root = psutil.Process(server.process.pid)
    addresses = set()
    for proc in [root, *root.children(recursive=True)]:
        connections = getattr(proc, "net_connections", None) or proc.connections
        for conn in connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN:
                addresses.add(conn.laddr.ip)
    return addresses


def test_only_loopback_listens(predictor: Server, transformer_rest: Server, two_workers) -> None:
    for server in (predictor, transformer_rest, *two_workers):
        addresses = listening(server)
        assert addresses, f"{server.module} listens nowhere?"
        assert addresses <= {"127.0.0.1", "::ffff:127.0.0.1"}, addresses


def test_operator_metrics_dir_starts_from_zero(synthetic_model_dir, serving_logs, tmp_path):
    """A PROMETHEUS_MULTIPROC_DIR kept across restarts does not add the old counts."""
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    tensor = {"name": "features", "datatype": "FP32", "shape": [1, 13], "data": [1] * 13}
    for requests in (3, 2):  # a run, then a restart on the same directory
        extra = pinned_sklearn(synthetic_model_dir)
        pred = predictor_server(synthetic_model_dir, serving_logs, extra, **env)
        try:
            pred.start().wait_ready()
            for _ in range(requests):
                assert pred.post("/v2/models/heart/infer", json={"inputs": [tensor]}).is_success
            assert count(pred, "request_predict_seconds") == requests
        finally:
            pred.stop()
    assert list(tmp_path.glob("*.db"))  # multiprocess mode was on

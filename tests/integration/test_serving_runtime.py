"""What the servers run on and write per request, as their flags say (serving/runtime.py).

- KServe's ``--event-loop``: ``auto`` (the default) and ``uvloop`` serve on
  uvloop, ``asyncio`` on the standard library's loop, in both servers and
  with both hops.
- Per-request log lines: uvicorn's access line unless ``--no_access_log``;
  KServe's ``kserve.trace`` timing lines only with ``--enable_latency_logging``
  (KServe's default, true). ``--log_requests``'s JSON line stays either way.
- The REST hop imports nothing per request (httpcore's ``import sniffio``
  searched ``sys.path`` on every call while sniffio was missing).
"""

from __future__ import annotations

import asyncio
import importlib.abc
import json
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from kserve.protocol.infer_type import InferInput, InferRequest

from tests.integration.serving_fixtures import (
    Server,
    predictor_server,
    transformer_server,
    v2_columns,
    wait_for,
)
from transformer.client import RestPredictor

pytestmark = pytest.mark.integration

LOOP_LINE = re.compile(r"Serving on the (\w+) event loop")
ACCESS_LINE = re.compile(r'"POST /v2/models/heart/infer HTTP/1\.1" 200')
TRACE_LINE = re.compile(r"kserve\.trace kserve\.io\.\S+\.infer: [0-9.e-]+ \['http_status:200'")
RECORD = {
    "age": 61,
    "sex": 1,
    "cp": 4,
    "trestbps": 140,
    "chol": 250,
    "fbs": 0,
    "restecg": 2,
    "thalach": 138,
    "exang": 1,
    "oldpeak": 1.9,
    "slope": 2,
    "ca": 1,
    "thal": 7,
}
REQUESTS = 5


def loop_of(server: Server) -> str:
    found = LOOP_LINE.findall(server.log.read_text())
    assert len(found) == 1, f"expected one event-loop line in {server.log}"
    return str(found[0])


def infer_records(server: Server, count: int = REQUESTS) -> None:
    for _ in range(count):
        response = server.post("/v2/models/heart/infer", json=v2_columns([RECORD]))
        assert response.status_code == 200, response.text


def started(servers: Sequence[Server]) -> None:
    for server in servers:
        server.start()
    for server in servers:
        server.wait_ready()


@pytest.fixture(scope="module")
def asyncio_chain(synthetic_model_dir: Path, tmp_path_factory) -> Iterator[dict[str, Server]]:
    """A predictor and a gRPC-hop transformer on asyncio, quiet but for the JSON line."""
    logs = tmp_path_factory.mktemp("runtime-logs")
    quiet = ["--event-loop", "asyncio", "--no_access_log"]
    quiet += ["--enable_latency_logging", "false", "--log_requests"]
    pred = predictor_server(synthetic_model_dir, logs, quiet)
    servers = {"predictor": pred}
    try:
        started([pred])
        servers["transformer"] = transformer_server(pred.grpc, "grpc-v2", logs, quiet)
        started([servers["transformer"]])
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def test_auto_event_loop_is_uvloop_in_both_servers_and_hops(
    predictor: Server, transformer_rest: Server, transformer_grpc: Server
) -> None:
    infer_records(transformer_rest, 1)
    infer_records(transformer_grpc, 1)
    assert [loop_of(s) for s in (predictor, transformer_rest, transformer_grpc)] == ["uvloop"] * 3


def test_asyncio_event_loop_when_asked(asyncio_chain: dict[str, Server]) -> None:
    infer_records(asyncio_chain["transformer"], 1)
    assert [loop_of(s) for s in asyncio_chain.values()] == ["asyncio", "asyncio"]


def test_uvloop_event_loop_when_asked(synthetic_model_dir: Path, tmp_path: Path) -> None:
    server = predictor_server(synthetic_model_dir, tmp_path, ["--event-loop", "uvloop"])
    try:
        started([server])
        assert loop_of(server) == "uvloop"
    finally:
        server.stop()


def test_default_servers_write_the_access_and_kserve_timing_lines(predictor: Server) -> None:
    before = predictor.log.read_text()
    tensor = {"name": "input-0", "shape": [1, 13], "datatype": "FP32", "data": [0.0] * 13}
    for _ in range(REQUESTS):
        assert predictor.post("/v2/models/heart/infer", json={"inputs": [tensor]}).is_success

    def new() -> str:
        return predictor.log.read_text()[len(before) :]

    assert wait_for(lambda: len(TRACE_LINE.findall(new())) >= 2 * REQUESTS, 10)
    assert len(ACCESS_LINE.findall(new())) == REQUESTS
    assert len(TRACE_LINE.findall(new())) == 2 * REQUESTS  # wall and CPU time


def test_flags_turn_both_lines_off_and_keep_the_json_request_line(
    asyncio_chain: dict[str, Server],
) -> None:
    transformer, pred = asyncio_chain["transformer"], asyncio_chain["predictor"]
    infer_records(transformer)
    for server in (transformer, pred):
        text = server.log.read_text()
        assert wait_for(lambda s=server: _json_lines(s) >= REQUESTS, 10)
        assert not ACCESS_LINE.findall(text)
        assert not TRACE_LINE.findall(text)


def _json_lines(server: Server) -> int:
    count = 0
    for line in server.log.read_text().splitlines():
        if line.startswith("{") and json.loads(line).get("route", "").lower().endswith("infer"):
            count += 1
    return count


class _ImportRecorder(importlib.abc.MetaPathFinder):
    """Records every module name the import system searches for."""

    def __init__(self) -> None:
        self.searched: list[str] = []

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        self.searched.append(fullname)


def test_rest_hop_imports_nothing_per_request(predictor: Server) -> None:
    async def calls() -> list[str]:
        client = RestPredictor(f"127.0.0.1:{predictor.http_port}", timeout=10)
        request = _tensor_request()
        recorder = _ImportRecorder()
        try:
            await client.infer(request)  # the first call may import lazily
            sys.meta_path.insert(0, recorder)
            for _ in range(REQUESTS):
                response = await client.infer(request)
                assert response.outputs
        finally:
            if recorder in sys.meta_path:
                sys.meta_path.remove(recorder)
            await client.close()
        return recorder.searched

    assert asyncio.run(calls()) == []


def _tensor_request() -> InferRequest:
    tensor = InferInput("input-0", [1, 13], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 13), dtype=np.float32))
    return InferRequest(model_name="heart", infer_inputs=[tensor])

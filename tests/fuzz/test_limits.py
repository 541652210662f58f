"""Slow and oversize clients against a real predictor with short, documented limits.

The figures from the issue: 200 connections sending one byte every 2 s were
all still open after 30 s; a request declaring ``Content-Length: 1 GiB`` was
never refused; eight 50 MB bodies at once took a server to 702 MiB RSS.
Here each is bounded by the flags of :mod:`serving.limits` (uvicorn's
``--timeout-keep-alive`` and grpc's own channel arguments where they exist).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import psutil
import pytest
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb

from tests.integration.serving_fixtures import Server, predictor_server

pytestmark = pytest.mark.fuzz

HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 3.0
KEEP_ALIVE = 3
#: Scheduling slack on a loaded 2-core machine.
MARGIN = 4.0
FLAGS = [
    "--header_timeout_seconds",
    str(HEADER_TIMEOUT),
    "--body_timeout_seconds",
    str(BODY_TIMEOUT),
    "--timeout-keep-alive",
    str(KEEP_ALIVE),
]


@pytest.fixture(scope="module")
def limited(
    synthetic_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    server = predictor_server(synthetic_model_dir, tmp_path_factory.mktemp("limits"), FLAGS)
    server.start()
    try:
        yield server.wait_ready()
    finally:
        server.stop()


async def _dribbler(port: int, seconds: float, every: float) -> tuple[float, bytes]:
    """Send a request head one byte at a time; (time the server closed, what it sent)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = b"POST /v2/models/heart/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
    began = time.monotonic()
    received = b""
    for i in range(int(seconds / every)):
        try:
            writer.write(head[i % len(head) : i % len(head) + 1])
            await writer.drain()
            chunk = await asyncio.wait_for(reader.read(4096), every)
        except (TimeoutError, ConnectionError):
            continue
        received += chunk
        if not chunk:  # closed by the server
            break
    writer.close()
    return time.monotonic() - began, received


def test_200_slow_header_clients_are_cut_at_the_header_timeout(limited: Server) -> None:
    async def all_of_them() -> list[tuple[float, bytes]]:
        return await asyncio.gather(*[_dribbler(limited.http_port, 30, 0.5) for _ in range(200)])

    results = asyncio.run(all_of_them())
    took = sorted(t for t, _ in results)
    print(f"\n200 slow clients: closed after {took[0]:.1f}-{took[-1]:.1f} s")
    assert took[-1] < HEADER_TIMEOUT + MARGIN, took[-10:]
    assert all(b"408" in got and b'{"error"' in got for _, got in results)
    assert limited.get("/v2/models/heart/ready").status_code == 200


def test_a_silent_connection_is_closed(limited: Server) -> None:
    with socket.create_connection(("127.0.0.1", limited.http_port)) as conn:
        conn.settimeout(HEADER_TIMEOUT + MARGIN)
        began = time.monotonic()
        got = conn.recv(4096)
        assert b"408" in got
        assert time.monotonic() - began < HEADER_TIMEOUT + MARGIN


def test_a_slow_body_gets_408_at_the_body_timeout(limited: Server) -> None:
    with socket.create_connection(("127.0.0.1", limited.http_port)) as conn:
        conn.sendall(
            b"POST /v2/models/heart/infer HTTP/1.1\r\nhost: x\r\n"
            b"content-type: application/json\r\ncontent-length: 1000\r\n\r\n{"
        )
        began = time.monotonic()
        conn.settimeout(0.5)
        got = b""
        while time.monotonic() - began < BODY_TIMEOUT + MARGIN and b"408" not in got:
            try:
                conn.sendall(b" ")
                got += conn.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
        conn.settimeout(MARGIN)
        while b"408" in got and (chunk := conn.recv(4096)):  # the body may follow the head
            got += chunk
        assert b"408" in got and b"did not arrive within" in got
        assert b"connection: close" in got.lower()


def test_a_declared_1_gib_body_is_refused_before_it_is_sent(limited: Server) -> None:
    with socket.create_connection(("127.0.0.1", limited.http_port)) as conn:
        conn.settimeout(5)
        began = time.monotonic()
        conn.sendall(
            b"POST /v2/models/heart/infer HTTP/1.1\r\nhost: x\r\n"
            b"content-type: application/json\r\ncontent-length: 1073741824\r\n\r\n"
        )
        got = b""
        while chunk := conn.recv(4096):  # the answer, then the server closes
            got += chunk
        assert got.startswith(b"HTTP/1.1 413")
        assert b"the limit is 2097152" in got
        assert time.monotonic() - began < 2


def _streams(url: str, megabytes: int, results: list[int]) -> None:
    def body() -> Iterator[bytes]:
        chunk = b" " * (1 << 20)
        for _ in range(megabytes):
            yield chunk

    try:
        response = httpx.post(url, content=body(), headers={"content-type": "application/json"})
        results.append(response.status_code)
    except httpx.HTTPError:
        results.append(-1)  # the server closed the upload once it had answered


def test_eight_50_mb_uploads_at_once_are_cut_at_the_limit(limited: Server) -> None:
    """No Content-Length (chunked): refused while streaming, memory stays bounded."""
    assert limited.process is not None
    process = psutil.Process(limited.process.pid)
    before = process.memory_info().rss
    results: list[int] = []
    threads = [
        threading.Thread(
            target=_streams, args=(limited.url + "/v2/models/heart/infer", 50, results)
        )
        for _ in range(8)
    ]
    peak = before
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        peak = max(peak, process.memory_info().rss)
        time.sleep(0.05)
    growth = (peak - before) / 2**20
    print(f"\n8 x 50 MB uploads: {results}, RSS growth {growth:.0f} MiB")
    assert all(code in (413, -1) for code in results), results
    assert 413 in results
    assert growth < 100
    assert limited.get("/v2/models/heart/ready").status_code == 200


def test_an_idle_keep_alive_connection_is_closed(limited: Server) -> None:
    """uvicorn's own --timeout-keep-alive, passed through."""
    with socket.create_connection(("127.0.0.1", limited.http_port)) as conn:
        conn.sendall(b"GET /v2/health/live HTTP/1.1\r\nhost: x\r\n\r\n")
        conn.settimeout(KEEP_ALIVE + MARGIN)
        answer = b""
        while not answer.endswith(b'{"live":true}'):
            answer += conn.recv(4096)
        assert b" 200 " in answer
        began = time.monotonic()
        assert conn.recv(4096) == b""  # closed by the server
        assert KEEP_ALIVE - 1 < time.monotonic() - began < KEEP_ALIVE + MARGIN


def test_grpc_message_over_the_limit_and_a_silent_grpc_connection(limited: Server) -> None:
    request = pb.ModelInferRequest(model_name="heart")
    tensor = request.inputs.add(name="features", datatype="FP32", shape=[1, 13])
    tensor.contents.fp32_contents.extend([1.0] * 13)
    request.raw_input_contents.append(b"\0" * (3 << 20))  # over the 2 MiB receive bound
    with grpc.insecure_channel(limited.grpc) as channel:
        infer = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")
        with pytest.raises(grpc.RpcError) as info:
            infer(request.SerializeToString(), timeout=10)
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # grpc's server_handshake_timeout_ms: a connection that never speaks HTTP/2 is closed.
    with socket.create_connection(("127.0.0.1", limited.grpc_port)) as conn:
        conn.settimeout(HEADER_TIMEOUT + MARGIN + 5)
        began = time.monotonic()
        try:
            while conn.recv(4096):
                pass
        except ConnectionResetError:
            pass
        assert time.monotonic() - began < HEADER_TIMEOUT + MARGIN + 5

"""Real predictor/transformer processes on free 127.0.0.1 ports, for serving tests.

Import the fixtures into a test module (``from tests.integration.serving_fixtures
import predictor, transformer_rest, ...``). Every process is started with
``python -m predictor|transformer --bind_address 127.0.0.1``, waited for with
a bounded timeout and always killed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO, free_port

START_TIMEOUT = 60.0


@dataclass
class Server:
    """One server process: its ports, log file and process handle."""

    module: str
    args: list[str]
    log: Path
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    #: Variables added to (or, with None, removed from) the inherited environment.
    env: dict[str, str | None] = field(default_factory=dict)
    #: Run this script (and its arguments) instead of ``-m module``, from ``cwd``.
    launcher: list[str] = field(default_factory=list)
    cwd: Path = REPO

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def command(self) -> list[str]:
        ports = ["--http_port", str(self.http_port), "--grpc_port", str(self.grpc_port)]
        return [
            sys.executable,
            *(self.launcher or ["-m", self.module]),
            *self.args,
            *ports,
            "--bind_address",
            "127.0.0.1",
        ]

    def start(self) -> Server:
        env = {**os.environ, **self.env}
        clean = {k: v for k, v in env.items() if v is not None}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command(), cwd=self.cwd, stdout=out, stderr=out, env=clean
            )
        return self

    def wait_live(self, timeout: float = START_TIMEOUT) -> Server:
        """Until ``/v2/health/live`` answers (the process serves, ready or not)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.module} exited early:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/v2/health/live", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise TimeoutError(
            f"{self.module} not live after {timeout} s:\n{self.log.read_text()[-3000:]}"
        )

    def wait_ready(self, timeout: float = START_TIMEOUT) -> Server:
        self.wait_live(timeout)
        if not wait_for(lambda: self.get("/v2/models/heart/ready").status_code == 200, timeout):
            raise TimeoutError(f"{self.module} not ready:\n{self.log.read_text()[-3000:]}")
        return self

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10)

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.post(self.url + path, timeout=20, **kwargs)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def wait_for(condition: object, timeout: float, every: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():  # type: ignore[operator]
                return True
        except httpx.TransportError:
            pass
        time.sleep(every)
    return False


def predictor_server(
    model_dir: Path | str, log_dir: Path, extra: Sequence[str] = (), **env: str | None
) -> Server:
    args = ["--model_dir", str(model_dir), "--model_name", "heart", *extra]
    return Server("predictor", args, log_dir / f"predictor-{free_port()}.log", env=env)


def transformer_server(
    predictor_address: str, protocol: str, log_dir: Path, extra: Sequence[str] = ()
) -> Server:
    args = ["--predictor_host", predictor_address, "--predictor_protocol", protocol, *extra]
    return Server("transformer", args, log_dir / f"transformer-{free_port()}.log")


@pytest.fixture(scope="session")
def serving_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serving-logs")


@pytest.fixture(scope="session")
def predictor(synthetic_model_dir: Path, serving_logs: Path) -> Iterator[Server]:
    """The predictor on the synthetic model, shared by the whole session."""
    server = predictor_server(synthetic_model_dir, serving_logs).start()
    try:
        yield server.wait_ready()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def transformer_rest(predictor: Server, serving_logs: Path) -> Iterator[Server]:
    """The transformer calling the shared predictor over REST v2."""
    server = transformer_server(f"127.0.0.1:{predictor.http_port}", "v2", serving_logs).start()
    try:
        yield server.wait_ready()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def transformer_grpc(predictor: Server, serving_logs: Path) -> Iterator[Server]:
    """The transformer calling the shared predictor over gRPC v2."""
    server = transformer_server(predictor.grpc, "grpc-v2", serving_logs).start()
    try:
        yield server.wait_ready()
    finally:
        server.stop()


def v2_columns(records: Sequence[Mapping[str, object]]) -> dict[str, Any]:
    """A v2 request body with one FP64 input per contract field (None = missing)."""
    from transformer.contract import FEATURE_NAMES

    inputs = [
        {
            "name": name,
            "datatype": "FP64",
            "shape": [len(records)],
            "data": [r.get(name) for r in records],
        }
        for name in FEATURE_NAMES
    ]
    return {"inputs": inputs}


@dataclass
class GrpcResult:
    """A gRPC call's status, details and (when OK) response."""

    code: object
    details: str = ""
    response: object = None


def grpc_infer(address: str, request: object, timeout: float = 10) -> GrpcResult:
    """One ModelInfer call with KServe's InferenceGRPCClient (no retries)."""
    import asyncio

    import grpc
    from kserve import InferenceGRPCClient

    async def call() -> GrpcResult:
        client = InferenceGRPCClient(address, timeout=timeout, retries=0)
        try:
            return GrpcResult(grpc.StatusCode.OK, "", await client.infer(request))
        except grpc.aio.AioRpcError as exc:
            return GrpcResult(exc.code(), exc.details() or "")
        finally:
            await client.close()

    return asyncio.run(call())


def grpc_model_ready(address: str, model: str = "heart") -> bool:
    import asyncio

    from kserve import InferenceGRPCClient

    async def call() -> bool:
        client = InferenceGRPCClient(address, timeout=5, retries=0)
        try:
            return bool(await client.is_model_ready(model))
        finally:
            await client.close()

    return asyncio.run(call())

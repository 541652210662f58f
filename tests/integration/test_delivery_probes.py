"""The probes of the rendered manifests, made the way the kubelet and Knative's
queue-proxy make them, against real predictor and transformer processes on
127.0.0.1: a good model passes them all; a refused (tampered) model passes
startup and liveness (the process is up and is not restarted in a loop) but
never readiness, so its revision never becomes Ready and takes no traffic."""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from delivery import render
from tests.integration.serving_fixtures import Server, predictor_server, transformer_server

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
#: The overlay `make deploy` applies (Knative mode, transformer over gRPC).
OVERLAY = REPO / "manifests/overlays/kind"
#: Knative's queue-proxy adds this header to the readiness probes it makes.
QUEUE_PROXY_HEADERS = {"K-Kubelet-Probe": "queue"}

Container = dict[str, Any]


def _as_kserve_fills(container: Container, isvc_name: str) -> Container:
    """The runtime container with {{.Name}} filled, as KServe's
    ReplacePlaceholders does over the whole container (probes included)."""
    text = json.dumps(container).replace("{{.Name}}", isvc_name)
    assert "{{" not in text, "a placeholder this test does not fill"
    return json.loads(text)


@pytest.fixture(scope="module")
def containers() -> dict[str, Container]:
    objects = list(render.documents(render.render(OVERLAY)))
    isvc = next(o for o in objects if o["kind"] == "InferenceService")
    runtime = next(o for o in objects if o["kind"] == "ServingRuntime")
    transformer = isvc["spec"]["transformer"]["containers"][0]
    assert "--predictor_protocol=grpc-v2" in transformer["args"]  # as the fixtures run it
    return {
        "predictor": _as_kserve_fills(runtime["spec"]["containers"][0], isvc["metadata"]["name"]),
        "transformer": transformer,
    }


def _flag_value(container: Container, name: str) -> str:
    return dict(a[2:].split("=", 1) for a in container["args"] if "=" in a)[name]


def _ports(container: Container, server: Server) -> dict[int, int]:
    """Container port (from its --http_port/--grpc_port flags) -> the test server's port."""
    http, grpc = (int(_flag_value(container, f)) for f in ("http_port", "grpc_port"))
    return {http: server.http_port, grpc: server.grpc_port}


def _port(ports: dict[int, int], port: int) -> int:
    assert port in ports, f"probe port {port}: the container serves nothing there"
    return ports[port]


def probe(spec: dict[str, Any], ports: dict[int, int]) -> bool:
    """One attempt of a Kubernetes probe: an HTTP status in [200, 400), or a
    TCP connect, within timeoutSeconds (default 1)."""
    timeout = spec.get("timeoutSeconds", 1)
    if "httpGet" in spec:
        get = spec["httpGet"]
        port = _port(ports, get["port"])
        url = f"{get.get('scheme', 'HTTP').lower()}://127.0.0.1:{port}{get.get('path', '/')}"
        headers = QUEUE_PROXY_HEADERS | {h["name"]: h["value"] for h in get.get("httpHeaders", [])}
        try:
            return 200 <= httpx.get(url, headers=headers, timeout=timeout).status_code < 400
        except httpx.TransportError:
            return False
    if "tcpSocket" in spec:
        address = ("127.0.0.1", _port(ports, spec["tcpSocket"]["port"]))
        try:
            socket.create_connection(address, timeout=timeout).close()
        except OSError:
            return False
        return True
    raise AssertionError(f"a probe this test cannot make: {sorted(spec)}")


def never_ready(spec: dict[str, Any], ports: dict[int, int]) -> bool:
    """failureThreshold failed attempts in a row (0.5 s apart, not periodSeconds)."""
    for _ in range(spec.get("failureThreshold", 3)):
        if probe(spec, ports):
            return False
        time.sleep(0.5)
    return True


@pytest.fixture(scope="module")
def refused(
    synthetic_model_dir: Path, tmp_path_factory: pytest.TempPathFactory, serving_logs: Path
) -> Iterator[dict[str, Server]]:
    """A predictor on a model whose model.onnx (the file its default engine
    loads) gained a byte (sha256 mismatch), and a transformer in front of it
    over gRPC."""
    model = tmp_path_factory.mktemp("tampered") / "model"
    shutil.copytree(synthetic_model_dir, model)
    with (model / "model.onnx").open("ab") as handle:
        handle.write(b"\0")
    servers: dict[str, Server] = {}
    try:
        servers["predictor"] = predictor_server(model, serving_logs).start().wait_live()
        address = servers["predictor"].grpc
        servers["transformer"] = transformer_server(address, "grpc-v2", serving_logs).start()
        servers["transformer"].wait_live()
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def test_a_good_model_passes_every_probe(
    containers: dict[str, Container], predictor: Server, transformer_grpc: Server
) -> None:
    for part, server in (("predictor", predictor), ("transformer", transformer_grpc)):
        container = containers[part]
        ports = _ports(container, server)
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            if kind in container:
                assert probe(container[kind], ports), f"{part}: {kind} fails on a good model"


def test_a_refused_model_is_up_but_never_ready(
    containers: dict[str, Container], refused: dict[str, Server]
) -> None:
    for part, server in refused.items():
        container = containers[part]
        ports = _ports(container, server)
        assert never_ready(container["readinessProbe"], ports), f"{part} became ready"
        assert probe(container["livenessProbe"], ports), f"{part}: liveness would restart it"
        if "startupProbe" in container:
            assert probe(container["startupProbe"], ports), f"{part}: restarted every 300 s"
    # What the former TCP readiness probe on the gRPC port saw: a refused model, Ready.
    grpc_port = int(_flag_value(containers["predictor"], "grpc_port"))
    ports = _ports(containers["predictor"], refused["predictor"])
    assert probe({"tcpSocket": {"port": grpc_port}}, ports)


def test_the_refusal_is_one_log_line(refused: dict[str, Server]) -> None:
    """The line docs/troubleshooting.md points to."""
    lines = refused["predictor"].log.read_text().splitlines()
    refusals = [line for line in lines if "refusing to load" in line]
    assert len(refusals) == 1 and "sha256" in refusals[0], refusals

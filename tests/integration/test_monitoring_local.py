"""``make monitor``'s command: both servers and Prometheus on loopback, its URL printed, every
target up with the shipped rules loaded, everything stopped at the end."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="no prometheus binary"),
]


def test_monitor_serves_scrapes_and_stops(synthetic_model_dir: Path, tmp_path: Path) -> None:
    ports = [free_port() for _ in range(5)]
    command = [
        sys.executable,
        "-m",
        "monitoring.local",
        "--model_dir",
        str(synthetic_model_dir),
        "--predictor_http_port",
        str(ports[0]),
        "--predictor_grpc_port",
        str(ports[1]),
        "--transformer_http_port",
        str(ports[2]),
        "--transformer_grpc_port",
        str(ports[3]),
        "--prometheus_port",
        str(ports[4]),
        "--workdir",
        str(tmp_path),
        "--seconds",
        "150",
    ]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{ports[4]}"
    try:
        assert process.stdout is not None
        printed = []
        for line in process.stdout:
            printed.append(line)
            if line.startswith("Prometheus: "):
                break
        assert printed and printed[-1].startswith(f"Prometheus: {url}"), "".join(printed)
        deadline = time.monotonic() + 60
        health: dict[str, str] = {}
        while time.monotonic() < deadline:
            targets = httpx.get(f"{url}/api/v1/targets", timeout=5).json()["data"]
            health = {t["labels"]["component"]: t["health"] for t in targets["activeTargets"]}
            if health == {"predictor": "up", "transformer": "up"}:
                break
            time.sleep(1)
        assert health == {"predictor": "up", "transformer": "up"}
        groups = httpx.get(f"{url}/api/v1/rules", timeout=5).json()["data"]["groups"]
        assert {g["name"] for g in groups} == {"heart-kserve.recording", "heart-kserve.alerts"}
    finally:
        process.send_signal(2)  # Ctrl-C
        process.wait(timeout=60)
    for port in (ports[0], ports[2], ports[4]):
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)

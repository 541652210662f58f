"""Tampered and code-running model directories: refused with one reason, never executed.

Anyone who can write the bucket writes ``model.json`` too, so its digest
proves integrity, not authenticity. The malicious ``model.joblib`` below is
built here; were it ever unpickled it would create a marker file, and the
control test shows that it does exactly that when unpickled.
"""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from predictor.manifest import sha256_bytes
from tests.integration.serving_fixtures import Server, predictor_server

pytestmark = pytest.mark.fuzz


class _Payload:
    """Unpickling this calls ``open(marker, "w")``: code chosen by the file's author."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def malicious_dir(source: Path, target: Path, marker: Path, keep_onnx: bool) -> Path:
    """``source`` with model.joblib replaced by the payload and model.json agreeing with it."""
    shutil.copytree(source, target)
    payload = pickle.dumps(_Payload(marker))
    (target / "model.joblib").write_bytes(payload)
    manifest = json.loads((target / "model.json").read_text())
    manifest["sha256"] = sha256_bytes(payload)
    if not keep_onnx:
        (target / "model.onnx").unlink()
        manifest["onnx_sha256"] = ""
    (target / "model.json").write_text(json.dumps(manifest))
    return target


@pytest.fixture
def started() -> Iterator[list[Server]]:
    servers: list[Server] = []
    yield servers
    for server in servers:
        server.stop()


def refusal(server: Server) -> str:
    server.wait_live()
    ready = server.get("/v2/models/heart/ready")
    assert ready.status_code == 503, ready.text
    assert server.get("/v2/health/ready").status_code == 503
    assert server.log.read_text().count("refusing to load") == 1
    return str(ready.json()["error"])


def test_the_payload_runs_when_unpickled(tmp_path: Path) -> None:
    """The control: the marker proves execution (in a child process)."""
    marker = tmp_path / "ran"
    model = tmp_path / "payload.joblib"
    model.write_bytes(pickle.dumps(_Payload(marker)))
    code = f"import joblib; joblib.load({str(model)!r})"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert marker.exists()


def test_code_running_model_directories_never_run(
    synthetic_model_dir: Path, tmp_path: Path, started: list[Server]
) -> None:
    marker = tmp_path / "ran"
    no_onnx = malicious_dir(synthetic_model_dir, tmp_path / "no-onnx", marker, keep_onnx=False)
    with_onnx = malicious_dir(synthetic_model_dir, tmp_path / "with-onnx", marker, keep_onnx=True)
    genuine = json.loads((synthetic_model_dir / "model.json").read_text())["sha256"]
    attempts = {
        "default engine, no model.onnx": (no_onnx, []),
        "--engine sklearn, nothing pinned": (with_onnx, ["--engine", "sklearn"]),
        "--engine sklearn, the genuine digest pinned": (
            with_onnx,
            ["--engine", "sklearn", "--model_sha256", genuine],
        ),
    }
    servers = {
        name: predictor_server(folder, tmp_path, extra).start()
        for name, (folder, extra) in attempts.items()
    }
    started.extend(servers.values())
    reasons = {name: refusal(server) for name, server in servers.items()}
    assert "--model_sha256" in reasons["default engine, no model.onnx"]
    assert "--model_sha256" in reasons["--engine sklearn, nothing pinned"]
    assert "not the model pinned" in reasons["--engine sklearn, the genuine digest pinned"]
    assert not marker.exists()
    served = predictor_server(with_onnx, tmp_path).start()  # model.onnx is still served
    started.append(served)
    served.wait_ready()
    assert not marker.exists()


def _edited(source: Path, target: Path, **changes: object) -> Path:
    shutil.copytree(source, target)
    manifest = json.loads((target / "model.json").read_text()) | changes
    (target / "model.json").write_text(json.dumps(manifest))
    return target


def test_tampered_directories_are_not_ready_with_one_reason(
    synthetic_model_dir: Path, tmp_path: Path, started: list[Server]
) -> None:
    garbage = b"not an onnx model at all"
    onnx = _edited(synthetic_model_dir, tmp_path / "onnx", onnx_sha256=sha256_bytes(garbage))
    (onnx / "model.onnx").write_bytes(garbage)
    cases = {
        "threshold out of range": (
            _edited(synthetic_model_dir, tmp_path / "t", threshold=1.5),
            "threshold must be in [0, 1]",
        ),
        "threshold of the wrong type": (
            _edited(synthetic_model_dir, tmp_path / "s", threshold="0.5"),
            "threshold must be a number",
        ),
        "unknown field": (
            _edited(synthetic_model_dir, tmp_path / "u", engine="pickle"),
            "unknown fields ['engine']",
        ),
        "model.onnx that is not a model": (onnx, "would not load"),
    }
    servers = {name: predictor_server(d, tmp_path).start() for name, (d, _) in cases.items()}
    started.extend(servers.values())
    manifest = json.loads((synthetic_model_dir / "model.json").read_text())
    for name, server in servers.items():
        reason = refusal(server)
        assert cases[name][1] in reason, (name, reason)
        assert str(tmp_path) not in reason and manifest["sha256"] not in reason
        assert "Error" not in reason and "Traceback" not in reason  # no exception class names

"""The predictor loads model/ through kserve-storage, or stays not ready with one line.

Real servers only: moto's S3 server on 127.0.0.1 for s3://, a silent local
socket standing in for a Google Cloud Storage endpoint that never answers,
and a directory laid out as KServe mounts a pvc:// claim.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator

import boto3
import pytest

from tests.conftest import free_port
from tests.integration.serving_fixtures import Server, predictor_server
from tests.integration.training_fixtures import S3_KEY, S3_SECRET, moto_s3

pytestmark = pytest.mark.integration

ROW = [61, 1, 4, 140, 260, 0, 2, 120, 1, 2.5, 2, 2, 7]
FAST = ["--engine", "sklearn"]  # storage is under test here, not the ONNX fast path


@pytest.fixture
def started() -> Iterator[list[Server]]:
    servers: list[Server] = []
    yield servers
    for server in servers:
        server.stop()


def s3_env(endpoint: str) -> dict[str, str | None]:
    """kserve-storage's S3 variables; nothing inherited from the caller's AWS setup."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": S3_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_PROFILE": None,
        "AWS_SESSION_TOKEN": None,
    }


def scores(server: Server) -> int:
    body = {"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 13], "data": ROW}]}
    return server.post("/v2/models/heart/infer", json=body).status_code


def refusal(server: Server) -> str:
    """The 503 reason of a predictor that refused to load, checked to be logged once."""
    server.wait_live()
    ready = server.get("/v2/models/heart/ready")
    assert ready.status_code == 503, ready.text
    log = server.log.read_text()
    assert log.count("refusing to load") == 1 and "Traceback" not in log
    assert server.process is not None and server.process.poll() is None  # alive, not ready
    return str(ready.json()["error"])


def test_s3_model_dir_loads(synthetic_model_dir, tmp_path, serving_logs, started) -> None:
    with moto_s3(tmp_path) as endpoint:
        s3 = boto3.client(
            "s3",
            **{
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "aws_access_key_id": S3_KEY,
                "aws_secret_access_key": S3_SECRET,
            },
        )
        s3.create_bucket(Bucket="models")
        for path in synthetic_model_dir.iterdir():
            s3.upload_file(str(path), "models", f"heart/v1/{path.name}")
        pred = predictor_server("s3://models/heart/v1", serving_logs, FAST, **s3_env(endpoint))
        started.append(pred.start())
        pred.wait_ready()
        assert scores(pred) == 200
        assert pred.get("/v2/models/heart").json()["versions"] == ["1"]


def test_unreachable_s3_endpoint_is_not_ready(serving_logs, started) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    env = s3_env(closed) | {"S3_MAX_ATTEMPTS": "2"}
    pred = predictor_server("s3://models/heart/v1", serving_logs, FAST, **env).start()
    started.append(pred)
    reason = refusal(pred)
    assert "the download failed (EndpointConnectionError)" in reason
    assert closed not in reason and "s3://" not in reason, "addresses stay in the log"
    log = pred.log.read_text()
    assert "refusing to load s3://models/heart/v1" in log and "Could not connect" in log
    assert scores(pred) == 503


def test_hanging_storage_is_bounded(serving_logs, started) -> None:
    """gs:// whose endpoint never answers: not ready after --storage_timeout_seconds."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", free_port()))
    silent.listen(16)
    try:
        env = {
            "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{silent.getsockname()[1]}",
            "NO_GCE_CHECK": "True",
            "GOOGLE_APPLICATION_CREDENTIALS": None,
        }
        extra = [*FAST, "--storage_timeout_seconds", "3"]
        pred = predictor_server("gs://models/heart/v1", serving_logs, extra, **env).start()
        started.append(pred)
        reason = refusal(pred)
        assert "did not finish within 3 s" in reason and "gs://" not in reason
        log = pred.log.read_text()
        assert "fetching gs://models/heart/v1 (at most 3 s)" in log
        assert "refusing to load gs://models/heart/v1" in log
    finally:
        silent.close()


def test_pvc_uri_reads_the_mounted_claim(synthetic_model_dir, tmp_path, serving_logs, started):
    mount = tmp_path / "mnt-pvc"  # what KServe mounts at /mnt/pvc
    shutil.copytree(synthetic_model_dir, mount / "models" / "heart")
    extra = [*FAST, "--pvc_mount_path", str(mount)]
    pred = predictor_server("pvc://heart-models/models/heart", serving_logs, extra).start()
    started.append(pred)
    pred.wait_ready()
    assert scores(pred) == 200
    missing = predictor_server("pvc://heart-models/nothing", serving_logs, extra).start()
    started.append(missing)
    reason = refusal(missing)
    assert "model.json is missing" in reason and str(mount) not in reason, "no local path"
    assert f"pvc://heart-models/nothing (files at {mount / 'nothing'})" in missing.log.read_text()

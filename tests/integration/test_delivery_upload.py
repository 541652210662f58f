"""`python -m delivery.upload` against a real S3-speaking server (moto)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_listening(port)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_listening(port: int, timeout: float = 20) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"moto_server did not listen on {port}")


def _upload(model_dir: Path, uri: str, endpoint: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return subprocess.run(
        [sys.executable, "-m", "delivery.upload", "--model-dir", str(model_dir), "--uri", uri],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_upload_puts_both_files_and_prints_the_storage_uri(
    synthetic_model_dir: Path, s3_endpoint: str
) -> None:
    import boto3

    result = _upload(synthetic_model_dir, "s3://models/heart/v1", s3_endpoint)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "s3://models/heart/v1"
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="models")["Contents"]}
    assert keys == {"heart/v1/model.joblib", "heart/v1/model.onnx", "heart/v1/model.json"}


def test_upload_refuses_a_tampered_model(
    synthetic_model_dir: Path, s3_endpoint: str, tmp_path: Path
) -> None:
    tampered = tmp_path / "model"
    shutil.copytree(synthetic_model_dir, tampered)
    with (tampered / "model.onnx").open("ab") as handle:
        handle.write(b"x")
    result = _upload(tampered, "s3://models/heart/bad", s3_endpoint)
    assert result.returncode == 2
    assert "sha256" in result.stderr


def test_upload_rejects_a_non_s3_uri(synthetic_model_dir: Path, s3_endpoint: str) -> None:
    result = _upload(synthetic_model_dir, "gs://models/heart", s3_endpoint)
    assert result.returncode == 2
    assert "expected s3://BUCKET/PREFIX" in result.stderr

"""Training against a real MLflow tracking server whose artifacts live in S3.

moto's standalone S3 server plays MinIO's part: the training process gets
only MLFLOW_TRACKING_URI, MLFLOW_S3_ENDPOINT_URL and the AWS variables, and
``model/`` is read back through the S3 API (boto3) and checked by sha256.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlparse

import boto3
import pytest
from mlflow.tracking import MlflowClient

from predictor.manifest import read
from tests.integration.training_fixtures import (
    SMALL_TRAIN,
    clean_env,
    mlflow_server,
    moto_s3,
    run_training,
    s3_env,
)

pytestmark = pytest.mark.integration

BUCKET = "mlflow"


@pytest.fixture(scope="module")
def s3_training(data_source: str, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("s3")
    with moto_s3(folder) as endpoint:
        env = s3_env(endpoint)
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )
        s3.create_bucket(Bucket=BUCKET)
        with mlflow_server(folder, f"s3://{BUCKET}/artifacts", env) as uri:
            train_env = clean_env(HEART_DATA_SOURCE=data_source, MLFLOW_TRACKING_URI=uri, **env)
            args = ["train", "--cache-dir", str(folder / "cache"), *SMALL_TRAIN]
            args += ["--model-dir", str(folder / "model"), "--report-dir", str(folder / "report")]
            out = run_training(args, train_env).stdout
            yield folder, s3, MlflowClient(tracking_uri=uri, registry_uri=uri), out


def _key(uri: str, *parts: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    return parsed.netloc, "/".join([parsed.path.strip("/"), *parts])


def test_model_dir_in_s3_matches_the_local_export(s3_training) -> None:
    folder, s3, client, _ = s3_training
    manifest = read(folder / "model")
    artifact_uri = client.get_run(manifest.mlflow_run_id).info.artifact_uri
    assert artifact_uri.startswith(f"s3://{BUCKET}/artifacts/")
    bucket, key = _key(artifact_uri, "model", "model.joblib")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == manifest.sha256
    assert body == (folder / "model" / "model.joblib").read_bytes()
    bucket, key = _key(artifact_uri, "model", "model.json")
    remote = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert remote["sha256"] == manifest.sha256
    assert remote["mlflow_run_id"] == manifest.mlflow_run_id


def test_plots_and_registered_model_are_in_s3(s3_training) -> None:
    folder, s3, client, _ = s3_training
    manifest = read(folder / "model")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    for plot in ("roc.png", "calibration.png", "confusion.png", "importance.png"):
        assert any(k.endswith(f"{manifest.mlflow_run_id}/artifacts/plots/{plot}") for k in keys)
    version = client.get_model_version_by_alias("heart", "champion")
    assert str(version.version) == manifest.model_version
    assert version.source.startswith(("models:/", "s3://"))
    assert any(k.endswith("MLmodel") for k in keys)  # the logged sklearn model went to S3 too

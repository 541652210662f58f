"""Training against a real MLflow tracking server whose artifacts live in S3.

moto's standalone S3 server plays MinIO's part: the training process gets
only MLFLOW_TRACKING_URI, MLFLOW_S3_ENDPOINT_URL and the AWS variables, and
``model/`` is read back through the S3 API (boto3) and checked by sha256.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlparse

import pytest
from mlflow.tracking import MlflowClient

from predictor.manifest import read
from tests.integration.training_fixtures import BUCKET, S3Training

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def s3_trained(s3_training: S3Training):
    """The session's S3 training as (folder, s3 client, MLflow client, stdout)."""
    client = MlflowClient(tracking_uri=s3_training.uri, registry_uri=s3_training.uri)
    return s3_training.folder, s3_training.s3, client, s3_training.output


def _key(uri: str, *parts: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    return parsed.netloc, "/".join([parsed.path.strip("/"), *parts])


def test_model_dir_in_s3_matches_the_local_export(s3_trained) -> None:
    folder, s3, client, _ = s3_trained
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


def test_plots_and_registered_model_are_in_s3(s3_trained) -> None:
    folder, s3, client, _ = s3_trained
    manifest = read(folder / "model")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    for plot in ("roc.png", "calibration.png", "confusion.png", "importance.png"):
        assert any(k.endswith(f"{manifest.mlflow_run_id}/artifacts/plots/{plot}") for k in keys)
    version = client.get_model_version_by_alias("heart", "champion")
    assert str(version.version) == manifest.model_version
    assert version.source.startswith(("models:/", "s3://"))
    assert any(k.endswith("MLmodel") for k in keys)  # the logged sklearn model went to S3 too

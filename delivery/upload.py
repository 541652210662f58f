"""Upload a model directory to S3 (MinIO on kind) and print its storageUri.

    python -m delivery.upload --model-dir artifacts/model --uri s3://models/heart/v1

The directory is verified first (``model.json`` valid, the sha256 of
``model.joblib`` and ``model.onnx`` match it), so a broken model never
reaches the cluster.
Credentials and endpoint come from the AWS variables (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL or MLFLOW_S3_ENDPOINT_URL).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from predictor.manifest import ManifestError, model_files, verify_files


@dataclass(frozen=True)
class Target:
    bucket: str
    prefix: str

    @classmethod
    def parse(cls, uri: str) -> Target:
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
            raise ValueError(f"{uri!r}: expected s3://BUCKET/PREFIX")
        return cls(parsed.netloc, parsed.path.strip("/"))

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def upload(model_dir: Path, target: Target, s3: object) -> list[str]:
    """Create the bucket if needed and put the model files, ``model.json`` last."""
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}  # type: ignore[attr-defined]
    if target.bucket not in existing:
        s3.create_bucket(Bucket=target.bucket)  # type: ignore[attr-defined]
    keys = []
    for name in model_files(verify_files(model_dir)):
        key = f"{target.prefix}/{name}"
        s3.upload_file(str(model_dir / name), target.bucket, key)  # type: ignore[attr-defined]
        keys.append(key)
    return keys


def s3_client(endpoint: str | None) -> object:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint or None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m delivery.upload", description=__doc__)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--uri", required=True, help="s3://BUCKET/PREFIX")
    args = parser.parse_args(argv)
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("MLFLOW_S3_ENDPOINT_URL")
    try:
        target = Target.parse(args.uri)
        verify_files(args.model_dir)
        upload(args.model_dir, target, s3_client(endpoint))
    except (ValueError, ManifestError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(target.uri)
    return 0


if __name__ == "__main__":
    sys.exit(main())

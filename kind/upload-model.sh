#!/usr/bin/env bash
# Upload a model directory (model.joblib + model.json) into the kind MinIO
# through a port-forward and print its storageUri.
#   kind/upload-model.sh artifacts/model s3://models/heart/v1
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=kind/lib.sh
source kind/lib.sh
require kubectl "install kubectl: https://kubernetes.io/docs/tasks/tools/"
require_credentials
MODEL_DIR="${1:?usage: upload-model.sh MODEL_DIR S3_URI}"
URI="${2:?usage: upload-model.sh MODEL_DIR S3_URI}"
PY="${PY:-.venv/bin/python}"
PORT="${MINIO_LOCAL_PORT:-19000}"

kubectl port-forward -n minio service/minio "$PORT:9000" > /dev/null &
forward=$!
trap 'kill "$forward" 2> /dev/null || true' EXIT
for _ in $(seq 1 30); do
  (exec 3<> "/dev/tcp/127.0.0.1/$PORT") 2> /dev/null && break
  sleep 0.5
done
AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" "$PY" -m delivery.upload --model-dir "$MODEL_DIR" --uri "$URI"

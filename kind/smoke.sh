#!/usr/bin/env bash
# v2 REST (transformer) and v2 gRPC (predictor) requests through the kind
# ingress (localhost:8080) with each component's Host header; every row must
# come back with a risk in [0, 1] and a known label (delivery/smoke_checks.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
exec "$PY" -m delivery.smoke --namespace "${NAMESPACE:-heart}" --name "${ISVC:-heart}" \
  --ingress "${INGRESS:-127.0.0.1:8080}" "$@"

#!/usr/bin/env bash
# Dump what explains a failed deployment: objects, events, pod logs.
set -uo pipefail
NAMESPACE="${NAMESPACE:-heart}"
for ns in "$NAMESPACE" kserve knative-serving kourier-system minio; do
  echo "::group::namespace $ns"
  kubectl get all,isvc,servingruntime,ksvc,revision -n "$ns" -o wide 2> /dev/null
  kubectl get events -n "$ns" --sort-by=.lastTimestamp 2> /dev/null | tail -40
  for pod in $(kubectl get pods -n "$ns" -o name 2> /dev/null); do
    echo "--- $pod"
    kubectl logs -n "$ns" "$pod" --all-containers --tail=200 2> /dev/null
  done
  echo "::endgroup::"
done
kubectl describe isvc -n "$NAMESPACE" 2> /dev/null

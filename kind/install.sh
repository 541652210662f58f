#!/usr/bin/env bash
# Create the kind cluster (if missing) and install, idempotently, the pinned
# versions in kind/versions.env: cert-manager, Knative Serving with Kourier,
# KServe (Knative mode) and the in-cluster MinIO. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=kind/lib.sh
source kind/lib.sh

require docker "install Docker: https://docs.docker.com/get-docker/"
require kind "install kind ${KIND_VERSION}: https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
require kubectl "install kubectl: https://kubernetes.io/docs/tasks/tools/"
docker info > /dev/null 2>&1 || die "docker is installed but its daemon is not reachable"
require_credentials

create_cluster() {
  if kind get clusters 2> /dev/null | grep -qx "$KIND_CLUSTER"; then
    log "kind cluster $KIND_CLUSTER exists"
  else
    log "creating kind cluster $KIND_CLUSTER ($KIND_NODE_IMAGE)"
    kind create cluster --name "$KIND_CLUSTER" --image "$KIND_NODE_IMAGE" \
      --config kind/cluster.yaml --wait 120s
  fi
  kubectl config use-context "kind-$KIND_CLUSTER" > /dev/null
}

install_cert_manager() {
  log "cert-manager $CERT_MANAGER_VERSION"
  kubectl apply -f "https://github.com/cert-manager/cert-manager/releases/download/$CERT_MANAGER_VERSION/cert-manager.yaml"
  wait_available cert-manager
}

install_knative() {
  local serving="https://github.com/knative/serving/releases/download/$KNATIVE_SERVING_VERSION"
  local kourier="https://github.com/knative/net-kourier/releases/download/$KNATIVE_KOURIER_VERSION"
  log "Knative Serving $KNATIVE_SERVING_VERSION with Kourier $KNATIVE_KOURIER_VERSION"
  kubectl apply -f "$serving/serving-crds.yaml"
  kubectl wait --for=condition=Established crd/services.serving.knative.dev --timeout="$WAIT_TIMEOUT"
  kubectl apply -f "$serving/serving-core.yaml"
  kubectl apply -f "$kourier/kourier.yaml"
  kubectl patch configmap/config-network -n knative-serving --type merge \
    -p '{"data":{"ingress-class":"kourier.ingress.networking.knative.dev"}}'
  kubectl patch configmap/config-domain -n knative-serving --type merge -p '{"data":{"example.com":""}}'
  # Publish Kourier on the NodePort that kind/cluster.yaml maps to localhost:8080.
  kubectl patch service/kourier -n kourier-system --type merge -p \
    '{"spec":{"type":"NodePort","ports":[{"name":"http2","port":80,"protocol":"TCP","targetPort":8080,"nodePort":31080}]}}'
  wait_available knative-serving
  wait_available kourier-system
}

install_kserve() {
  local release="https://github.com/kserve/kserve/releases/download/$KSERVE_VERSION"
  log "KServe $KSERVE_VERSION (Knative mode)"
  kubectl apply --server-side --force-conflicts -f "$release/kserve.yaml"
  wait_available kserve
  kubectl apply --server-side --force-conflicts -f "$release/kserve-cluster-resources.yaml"
  configure_kserve
}

# Knative as the default mode; Kourier instead of Istio, so KServe must not
# create Istio VirtualServices; ingress domain as in config-domain.
configure_kserve() {
  local ingress deploy
  ingress=$(kubectl get configmap inferenceservice-config -n kserve -o jsonpath='{.data.ingress}')
  ingress=$(python3 -c 'import json,sys; c=json.loads(sys.argv[1]); c.update(disableIstioVirtualHost=True, ingressDomain="example.com"); print(json.dumps(c))' "$ingress")
  deploy='{"defaultDeploymentMode": "Knative"}'
  kubectl patch configmap inferenceservice-config -n kserve --type merge -p \
    "$(python3 -c 'import json,sys; print(json.dumps({"data": {"ingress": sys.argv[1], "deploy": sys.argv[2]}}))' "$ingress" "$deploy")"
  kubectl rollout restart deployment/kserve-controller-manager -n kserve
  kubectl rollout status deployment/kserve-controller-manager -n kserve --timeout="$WAIT_TIMEOUT"
}

install_minio() {
  log "MinIO ($MINIO_IMAGE)"
  kubectl apply -k manifests/overlays/kind/minio
  wait_available minio
}

create_cluster
install_cert_manager
install_knative
install_kserve
install_minio
log "ready: make images kind-load upload-model deploy smoke"

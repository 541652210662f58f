#!/usr/bin/env bash
# Create the kind cluster (if missing) and install, idempotently, the pinned
# versions in kind/versions.env: cert-manager, Knative Serving with Kourier,
# KServe (Knative mode) and the in-cluster MinIO. Safe to re-run.
# The steps follow KServe's own Kourier setup (v0.20.0
# hack/setup/infra/knative/templates/knative-serving-kourier.yaml and
# hack/setup/quick-install/kserve-knative-mode-dependency-install.sh) and its
# "Alternative Networking Layer" guide, with plain release YAML instead of the
# Knative Operator.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=kind/lib.sh
source kind/lib.sh

require docker "install Docker: https://docs.docker.com/get-docker/"
require kind "install kind ${KIND_VERSION}: https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
require kubectl "install kubectl: https://kubernetes.io/docs/tasks/tools/"
docker info > /dev/null 2>&1 || die "docker is installed but its daemon is not reachable"
[[ "$(kind version)" == "kind $KIND_VERSION "* ]] \
  || log "warning: $(kind version) is not the pinned kind $KIND_VERSION (its node image may not start)"
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
  local kourier="https://github.com/knative-extensions/net-kourier/releases/download/$KNATIVE_KOURIER_VERSION"
  log "Knative Serving $KNATIVE_SERVING_VERSION with Kourier $KNATIVE_KOURIER_VERSION"
  kubectl apply -f "$serving/serving-crds.yaml"
  kubectl wait --for=condition=Established crd/services.serving.knative.dev --timeout="$WAIT_TIMEOUT"
  kubectl apply -f "$serving/serving-core.yaml"
  wait_available knative-serving
  kubectl apply -f "$kourier/kourier.yaml"
  wait_available kourier-system
  configure_knative
}

# The config maps go through Knative's validating webhook: retried until it
# serves. Locally built images (heart-*:dev, loaded with `kind load`) exist in
# no registry, so Knative must not resolve their tags to digests: the default
# skip list (kind.local, ko.local, dev.local) plus Docker Hub, as KServe's CI.
configure_knative() {
  retry kubectl patch configmap/config-network -n knative-serving --type merge \
    -p '{"data":{"ingress-class":"kourier.ingress.networking.knative.dev"}}'
  retry kubectl patch configmap/config-domain -n knative-serving --type merge \
    -p '{"data":{"example.com":""}}'
  retry kubectl patch configmap/config-deployment -n knative-serving --type merge \
    -p '{"data":{"registries-skipping-tag-resolving":"kind.local,ko.local,dev.local,index.docker.io"}}'
  # Publish Kourier on the NodePort that kind/cluster.yaml maps to localhost:8080.
  kubectl patch service/kourier -n kourier-system --type merge -p \
    '{"spec":{"type":"NodePort","ports":[{"name":"http2","port":80,"protocol":"TCP","targetPort":8080,"nodePort":31080}]}}'
}

# KServe's release script (hack/release/generate-install.sh) puts the CRDs in
# kserve-crds.yaml and strips the Namespace from kserve.yaml (seen on v0.20;
# applying kserve.yaml alone fails with "no matches for kind" and "namespaces
# kserve not found"). So: CRDs, namespace, controllers, then the cluster
# resources. Those go through webhooks of more than one controller
# (ClusterServingRuntimes: kserve-controller-manager; LLMInferenceServiceConfigs:
# llmisvc-controller-manager, failurePolicy Fail), so every Deployment in the
# namespace must be Available first, not only kserve-controller-manager.
install_kserve() {
  local release="https://github.com/kserve/kserve/releases/download/$KSERVE_VERSION"
  log "KServe $KSERVE_VERSION (Knative mode)"
  kubectl apply --server-side --force-conflicts -f "$release/kserve-crds.yaml"
  kubectl wait --for=condition=Established crd/inferenceservices.serving.kserve.io --timeout="$WAIT_TIMEOUT"
  kubectl create namespace kserve --dry-run=client -o yaml | kubectl apply -f -
  kubectl apply --server-side --force-conflicts -f "$release/kserve.yaml"
  wait_available kserve
  retry kubectl apply --server-side --force-conflicts -f "$release/kserve-cluster-resources.yaml"
  configure_kserve
}

# inferenceservice-config (keys as in KServe's config/configmap/inferenceservice.yaml):
# Knative as the default mode ("Knative"; the older name "Serverless" is still
# accepted as LegacyServerless); Kourier instead of Istio, so KServe must not create the
# top-level Istio VirtualService (disableIstioVirtualHost). ingressDomain only
# matters in Standard mode; Knative takes the domain from config-domain.
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

# The CRDs of the monitoring component's PodMonitors and PrometheusRule.
install_monitoring_crds() {
  log "Prometheus Operator CRDs ($PROMETHEUS_OPERATOR_VERSION)"
  local crds="https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/$PROMETHEUS_OPERATOR_VERSION/example/prometheus-operator-crd"
  kubectl apply --server-side -f "$crds/monitoring.coreos.com_podmonitors.yaml" \
    -f "$crds/monitoring.coreos.com_prometheusrules.yaml"
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
install_monitoring_crds
install_minio
log "ready: make images kind-load upload-model deploy smoke"

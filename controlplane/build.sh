#!/usr/bin/env bash
# Build the control plane the control-plane tests run, from Go modules, into
# ${HEART_CONTROLPLANE_CACHE:-${XDG_CACHE_HOME:-~/.cache}/heart-kserve/controlplane}/<component>-<version>/.
# Idempotent: a component whose folder is complete is skipped. Prints the
# cache folder on its last line. Needs Go (>= the modules' go lines) and
# the Go module proxy; nothing here is committed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=controlplane/versions.env
source "$here/versions.env"
cache="${HEART_CONTROLPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/heart-kserve/controlplane}"
export GOFLAGS="${GOFLAGS:--buildvcs=false} -trimpath"
mkdir -p "$cache"

log() { printf '[controlplane] %s\n' "$*" >&2; }
moddir() { go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'; }

# build_once DIR STEP...: run the steps into DIR.tmp, then rename (atomic).
build_once() {
  local dir="$1"; shift
  if [[ -f "$dir/.complete" ]]; then log "cached: $dir"; return; fi
  local start=$SECONDS
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  "$@" "$dir.tmp"
  touch "$dir.tmp/.complete" && rm -rf "$dir" && mv "$dir.tmp" "$dir"
  log "built $(basename "$dir") in $((SECONDS - start)) s"
}

etcd() {
  log "etcd $ETCD_VERSION (go.etcd.io/etcd/server/v3, wrapper module)"
  (cd "$here/build/etcd" && go build -o "$1/etcd" .)
}

kubernetes() {
  log "kube-apiserver, kube-controller-manager, kubectl $KUBERNETES_VERSION (k8s.io/kubernetes, wrapper module; ~20 min cold on 2 cores)"
  local cmd
  for cmd in kube-apiserver kube-controller-manager kubectl; do
    (cd "$here/build/kube" && go build -o "$1/$cmd" \
      -ldflags "-X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION" \
      "k8s.io/kubernetes/cmd/$cmd")
  done
}

kserve() {
  log "kserve manager $KSERVE_VERSION (github.com/kserve/kserve ./cmd/manager)"
  local src; src="$(moddir "github.com/kserve/kserve@$KSERVE_VERSION")"
  (cd "$src" && go build -o "$1/manager" ./cmd/manager)
  cp -r "$src/config/crd/full" "$1/crd"
  cp "$src/install/$KSERVE_VERSION/kserve.yaml" "$1/kserve.yaml"
  chmod -R u+w "$1"
}

knative() {
  log "knative serving CRDs and config maps $KNATIVE_SERVING_MODULE_VERSION (knative.dev/serving config/core)"
  local src; src="$(moddir "knative.dev/serving@$KNATIVE_SERVING_MODULE_VERSION")"
  cp -r "$src/config/core/300-resources" "$1/crd"
  cp -r "$src/config/core/configmaps" "$1/configmaps"
  chmod -R u+w "$1"
}

kuberay() {
  log "kuberay operator $KUBERAY_VERSION (github.com/ray-project/kuberay/ray-operator)"
  local src; src="$(moddir "github.com/ray-project/kuberay/ray-operator@$KUBERAY_VERSION")"
  (cd "$src" && go build -o "$1/ray-operator" .)
  cp -r "$src/config/crd/bases" "$1/crd"
  chmod -R u+w "$1"
}

prometheus_operator() {
  log "prometheus-operator CRDs $PROMETHEUS_OPERATOR_VERSION (controller-gen on pkg/apis/monitoring/v1)"
  (cd "$here/build/prometheus-operator" && go tool controller-gen crd:crdVersions=v1 \
    "paths=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1" \
    "output:crd:dir=$1/crd")
}

command -v go >/dev/null || { log "go not found (install Go >= 1.25 or add /usr/local/go/bin to PATH)"; exit 2; }
build_once "$cache/etcd-$ETCD_VERSION" etcd
build_once "$cache/kubernetes-$KUBERNETES_VERSION" kubernetes
build_once "$cache/kserve-$KSERVE_VERSION" kserve
build_once "$cache/knative-serving-$KNATIVE_SERVING_MODULE_VERSION" knative
build_once "$cache/kuberay-$KUBERAY_VERSION" kuberay
build_once "$cache/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION" prometheus_operator
echo "$cache"

#!/usr/bin/env bash
# Helpers shared by the kind scripts (sourced, not run).
# shellcheck source=kind/versions.env
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"

KIND_CLUSTER="${KIND_CLUSTER:-heart}"
WAIT_TIMEOUT="${WAIT_TIMEOUT:-300s}"

log() { printf '\033[36m==> %s\033[0m\n' "$*"; }
die() { printf '\033[31merror: %s\033[0m\n' "$*" >&2; exit 1; }

# require TOOL HINT: stop with an explanation when TOOL is not installed.
require() {
  command -v "$1" > /dev/null 2>&1 || die "$1 is not installed: $2"
}

require_credentials() {
  [[ -n "${AWS_ACCESS_KEY_ID:-}" && -n "${AWS_SECRET_ACCESS_KEY:-}" ]] || die \
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (MinIO's root credentials and the
       storage initializer's S3 keys), e.g.
       export AWS_ACCESS_KEY_ID=heart-minio AWS_SECRET_ACCESS_KEY=\$(openssl rand -hex 20)"
  export MINIO_ROOT_USER="$AWS_ACCESS_KEY_ID" MINIO_ROOT_PASSWORD="$AWS_SECRET_ACCESS_KEY"
}

# wait_available NAMESPACE: every Deployment there reports Available.
wait_available() {
  kubectl wait deployment --all -n "$1" --for=condition=Available --timeout="$WAIT_TIMEOUT"
}

# retry COMMAND...: up to 10 tries RETRY_SLEEP (6) s apart, for calls that a
# webhook which has just started (certificate not yet injected) rejects.
retry() {
  local try pause="${RETRY_SLEEP:-6}"
  for try in 1 2 3 4 5 6 7 8 9 10; do
    "$@" && return 0
    log "retrying in $pause s ($try/10): $*"
    sleep "$pause"
  done
  die "failed after 10 tries: $*"
}

#!/usr/bin/env bash
# Install Debian's prometheus package (prometheus + promtool) for the
# monitoring tests and `make monitor`, without starting its system service:
# the project runs the binaries itself, on loopback.
set -euo pipefail

if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "prometheus/promtool missing: run 'sudo apt-get install prometheus' (Debian)" >&2
  exit 1
fi
# A policy-rc.d that refuses keeps the package's service from starting.
policy=/usr/sbin/policy-rc.d
ours=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  ours=1
fi
trap 'if [ -n "$ours" ]; then rm -f "$policy"; fi' EXIT
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
prometheus --version 2>&1 | head -n 1

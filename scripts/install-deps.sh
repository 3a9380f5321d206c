#!/usr/bin/env bash
# Installs the Debian 12 packages Keel needs to build, test and benchmark.
# Idempotent: does nothing when everything is present. Uses sudo when not root.
set -euo pipefail

PACKAGES=(
  # toolchain
  cmake ninja-build g++ ccache pkg-config python3 curl
  clang libclang-rt-14-dev          # libFuzzer targets
  # libraries
  libboost1.74-dev libyaml-cpp-dev nlohmann-json3-dev libsimdjson-dev libcli11-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc   # api/ (Envoy RLS v3)
  # test and benchmark peers
  libhiredis-dev                    # core/redis (RESP reader; issue 11)
  libpq-dev libnats-dev             # core/pg, core/nats (issue 12)
  prometheus nginx-light wrk redis-server redis-tools
  postgresql-15 nats-server         # servers the core/pg, core/nats and orders tests start
  chromium                          # opens `keel report`'s page in tests (tests/js)
)

missing=()
for p in "${PACKAGES[@]}"; do
  [[ "$p" == \#* ]] && continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

echo "install-deps: installing ${missing[*]}" >&2
# Packages such as nginx and prometheus start a system service on install;
# tests start their own instances on random ports, so keep the system ones off.
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod +x "$POLICY"
  CREATED_POLICY=1
fi
cleanup() { if [ "$CREATED_POLICY" = 1 ]; then $SUDO rm -f "$POLICY"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Installs the npm packages of Keel's JavaScript compatibility tests
# (tests/js: hdr-histogram-js, pinned by tests/js/package-lock.json).
# Idempotent: does nothing while tests/js/node_modules is newer than the lock
# file. Installs Debian's nodejs and npm (sudo when not root) only when no
# `node` is on PATH, so a node from nvm or NodeSource is left alone.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JS_DIR="$ROOT/tests/js"
LOCK="$JS_DIR/package-lock.json"
MODULES="$JS_DIR/node_modules"

if [ -d "$MODULES" ] && [ ! "$LOCK" -nt "$MODULES" ]; then
  exit 0
fi

if ! command -v node >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "install-npm: installing nodejs npm" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "install-npm: node is on PATH but npm is not; install npm for that node" >&2
  exit 1
fi

echo "install-npm: npm ci in tests/js" >&2
(cd "$JS_DIR" && npm ci --no-audit --no-fund)
# Mark the install fresh by our clock, not by whatever mtimes npm left.
touch "$MODULES"

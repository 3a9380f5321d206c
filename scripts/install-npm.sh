#!/usr/bin/env bash
# Installs the npm packages Keel pins with a package-lock.json: the JavaScript
# tests (tests/js: hdr-histogram-js, playwright-core) and the charting library
# `keel report` inlines into its page (tools/report/web: uPlot).
# Idempotent: does nothing while each node_modules is newer than its lock
# file. Installs Debian's nodejs and npm (sudo when not root) only when no
# `node` is on PATH, so a node from nvm or NodeSource is left alone.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Each directory's node_modules is fresh while it is newer than its lock file.
DIRS=(tests/js tools/report/web)

stale=()
for d in "${DIRS[@]}"; do
  if [ ! -d "$ROOT/$d/node_modules" ] || [ "$ROOT/$d/package-lock.json" -nt "$ROOT/$d/node_modules" ]; then
    stale+=("$d")
  fi
done
if [ ${#stale[@]} -eq 0 ]; then
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

for d in "${stale[@]}"; do
  echo "install-npm: npm ci in $d" >&2
  (cd "$ROOT/$d" && npm ci --no-audit --no-fund)
  # Mark the install fresh by our clock, not by whatever mtimes npm left.
  touch "$ROOT/$d/node_modules"
done

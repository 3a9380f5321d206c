#!/usr/bin/env bash
# `make demo`: runs `keel serve hello` on loopback and prints its URLs.
# Stop it with Ctrl-C (a graceful drain, exit 0).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PORT="${PORT:-8080}"
cat <<MSG
keel serve hello is starting on http://127.0.0.1:${PORT}
  http://127.0.0.1:${PORT}/hello     the service
  http://127.0.0.1:${PORT}/metrics   Prometheus metrics (RED per route, USE for the process)
  http://127.0.0.1:${PORT}/healthz   liveness
  http://127.0.0.1:${PORT}/readyz    readiness
Try: curl -i http://127.0.0.1:${PORT}/hello      (Ctrl-C stops the server)
MSG
exec "$ROOT/build/keel" serve hello --http "127.0.0.1:${PORT}" --access-log true
